package deliver_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/deliver"
	"github.com/sluice-io/sluice/events/deliver/signature"
	"github.com/sluice-io/sluice/events/natstest"
)

// sdkEvent decodes a delivery with the CloudEvents SDK's HTTP binding.
func sdkEvent(d *delivery) (events.Record, string, error) {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(d.body))
	req.Header = d.header.Clone()
	e, err := cehttp.NewEventFromHTTPRequest(req)
	if err != nil {
		return events.Record{}, "", fmt.Errorf("sdk decode: %w", err)
	}
	if err := e.Validate(); err != nil {
		return events.Record{}, "", fmt.Errorf("sdk validate: %w", err)
	}
	var rec events.Record
	if err := json.Unmarshal(e.Data(), &rec); err != nil {
		return events.Record{}, "", fmt.Errorf("data: %w", err)
	}
	if err := rec.Validate(); err != nil {
		return events.Record{}, "", err
	}
	if e.Type() != events.Type(rec.EventName) {
		return rec, "", fmt.Errorf("type %q for eventName %q", e.Type(), rec.EventName)
	}
	if want := events.Source(events.DefaultEventSource, rec.AWSRegion, rec.Bucket()); e.Source() != want {
		return rec, "", fmt.Errorf("source %q, want %q", e.Source(), want)
	}
	key, _ := rec.ObjectKey()
	// The SDK does not undo the binding's percent-encoding of header values.
	if subj, _ := url.PathUnescape(e.Subject()); subj != key {
		return rec, "", fmt.Errorf("subject %q, key %q", e.Subject(), key)
	}
	if seq := e.Extensions()[events.ExtSequencer]; seq != rec.S3.Object.Sequencer {
		return rec, "", fmt.Errorf("sequencer extension %v, record %q", seq, rec.S3.Object.Sequencer)
	}
	if e.ID() != d.id {
		return rec, "", fmt.Errorf("ce id %q, %s %q", e.ID(), deliver.HeaderEventID, d.id)
	}
	return rec, e.ID(), nil
}

var awsTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// checkAWSRecords validates a {"Records":[...]} body against the AWS S3
// event structure (eventVersion 2.x), field by field, as S3 handlers read
// it.
func checkAWSRecords(body []byte, wantConfigID string) error {
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return err
	}
	recs, ok := doc["Records"].([]any)
	if !ok || len(recs) != 1 || len(doc) != 1 {
		return fmt.Errorf("want exactly {\"Records\":[one record]}, got %s", body)
	}
	r, _ := recs[0].(map[string]any)
	str := func(path ...string) (string, error) {
		var cur any = r
		for _, p := range path {
			m, ok := cur.(map[string]any)
			if !ok {
				return "", fmt.Errorf("%s: not an object", strings.Join(path, "."))
			}
			if cur, ok = m[p]; !ok {
				return "", fmt.Errorf("%s missing", strings.Join(path, "."))
			}
		}
		s, ok := cur.(string)
		if !ok {
			return "", fmt.Errorf("%s is %T, want string", strings.Join(path, "."), cur)
		}
		return s, nil
	}
	for _, c := range []struct {
		path  []string
		check func(string) bool
	}{
		{[]string{"eventVersion"}, func(s string) bool { return strings.HasPrefix(s, "2.") }},
		{[]string{"eventSource"}, func(s string) bool { return s == events.DefaultEventSource }},
		{[]string{"awsRegion"}, func(s string) bool { return s == "us-east-1" }},
		{[]string{"eventTime"}, awsTime.MatchString},
		{[]string{"eventName"}, func(s string) bool { return s == "ObjectCreated:Put" }},
		{[]string{"userIdentity", "principalId"}, func(s string) bool { return s != "" }},
		{[]string{"requestParameters", "sourceIPAddress"}, func(s string) bool { return s != "" }},
		{[]string{"responseElements", "x-amz-request-id"}, func(s string) bool { return s != "" }},
		{[]string{"responseElements", "x-amz-id-2"}, func(s string) bool { return s != "" }},
		{[]string{"s3", "s3SchemaVersion"}, func(s string) bool { return s == "1.0" }},
		{[]string{"s3", "configurationId"}, func(s string) bool { return s == wantConfigID }},
		{[]string{"s3", "bucket", "name"}, func(s string) bool { return s != "" }},
		{[]string{"s3", "bucket", "arn"}, func(s string) bool { return strings.HasPrefix(s, "arn:aws:s3:::") }},
		{[]string{"s3", "bucket", "ownerIdentity", "principalId"}, func(s string) bool { return s != "" }},
		{[]string{"s3", "object", "key"}, func(s string) bool { return s != "" }},
		{[]string{"s3", "object", "eTag"}, func(s string) bool { return s != "" }},
		{[]string{"s3", "object", "sequencer"}, func(s string) bool { return s != "" }},
	} {
		v, err := str(c.path...)
		if err != nil {
			return err
		}
		if !c.check(v) {
			return fmt.Errorf("%s = %q is not what AWS writes", strings.Join(c.path, "."), v)
		}
	}
	obj := r["s3"].(map[string]any)["object"].(map[string]any)
	if _, ok := obj["size"].(float64); !ok {
		return fmt.Errorf("s3.object.size is %T, want a number", obj["size"])
	}
	return nil
}

// TestDeliveryFormats sends one event to a target of every kind and body
// format and validates each request as a receiver would: signature,
// bearer token, CloudEvents attributes decoded by the SDK, or the AWS
// record structure.
func TestDeliveryFormats(t *testing.T) {
	e := newEnv(t)
	const secret, token = "hmac-secret", "bearer-token"
	type tcase struct {
		target deliver.TargetConfig
		check  func(d *delivery) error
	}
	verify := func(withToken bool, inner func(d *delivery) error) func(d *delivery) error {
		return func(d *delivery) error {
			if err := signature.Verify(d.body, d.header.Get(signature.Header), []byte(secret)); err != nil {
				return err
			}
			if d.header.Get(signature.TimestampHeader) == "" {
				return fmt.Errorf("no %s", signature.TimestampHeader)
			}
			if got := d.header.Get("Authorization"); withToken && got != "Bearer "+token {
				return fmt.Errorf("Authorization = %q", got)
			}
			return inner(d)
		}
	}
	sdkCheck := func(wantCT string) func(d *delivery) error {
		return func(d *delivery) error {
			if ct := d.header.Get("Content-Type"); ct != wantCT {
				return fmt.Errorf("content type %q, want %q", ct, wantCT)
			}
			rec, _, err := sdkEvent(d)
			if err != nil {
				return err
			}
			if rec.S3.ConfigurationID != "cfg-"+rec.Bucket() {
				return fmt.Errorf("configurationId %q", rec.S3.ConfigurationID)
			}
			return nil
		}
	}
	cases := []tcase{
		{deliver.TargetConfig{Name: "bin", Kind: deliver.KindWebhook, Secret: secret, BearerToken: token},
			verify(true, sdkCheck(events.DataContentType))},
		{deliver.TargetConfig{Name: "structured", Kind: deliver.KindWebhook, Format: deliver.FormatStructured, Secret: secret},
			verify(false, sdkCheck(events.ContentTypeStructured))},
		{deliver.TargetConfig{Name: "records", Kind: deliver.KindFunction, Format: deliver.FormatRecords, Secret: secret, BearerToken: token},
			verify(true, func(d *delivery) error { return checkAWSRecords(d.body, "cfg-b-records") })},
		{deliver.TargetConfig{Name: "fnbin", Kind: deliver.KindFunction, Secret: secret},
			verify(false, func(d *delivery) error {
				// The contract's own decoder, which undoes percent-encoding.
				ce, err := events.EventFromHTTP(d.header, bytes.NewReader(d.body))
				if err != nil {
					return err
				}
				rec, err := events.RecordFromCloudEvent(ce)
				if err != nil {
					return err
				}
				if key, _ := rec.ObjectKey(); key != "dir/a b+é%.png" {
					return fmt.Errorf("key %q", key)
				}
				return nil
			})},
	}
	var cfg deliver.Config
	receivers := map[string]*receiver{}
	for _, c := range cases {
		r := newReceiver(t, c.check)
		receivers[c.target.Name] = r
		c.target.URL = r.url()
		c.target.Backoff = fastBackoff
		cfg.Targets = append(cfg.Targets, c.target)
		bucket := "b-" + c.target.Name
		e.src.Set(bucket, []deliver.Subscription{subscribe(bucket, "cfg-"+bucket, c.target.ARN().String(), []string{"s3:ObjectCreated:*"})})
	}
	d, _ := e.startDeliverer(t, cfg, runOpts{})
	ids := map[string]string{}
	for _, c := range cases {
		key := "photo.png"
		if c.target.Name == "fnbin" {
			key = "dir/a b+é%.png"
		}
		ids[c.target.Name] = e.publish(t, ev{bucket: "b-" + c.target.Name, name: events.ObjectCreatedPut, key: key})
	}
	for name, r := range receivers {
		r.waitAccepted(t, []string{ids[name]}, 20*time.Second)
		waitIdle(t, d, name)
		r.checkExactlyOnce(t, []string{ids[name]})
		if got := metric(t, e.reg, deliver.MetricDelivered, name); got != 1 {
			t.Errorf("%s: delivered metric %v, want 1", name, got)
		}
		if got := metric(t, e.reg, deliver.MetricLatency, name); got != 1 {
			t.Errorf("%s: latency samples %v, want 1", name, got)
		}
	}
}

// TestTransientFailuresThenSuccess: a target answering 500 to its first
// requests gets every event, each accepted exactly once.
func TestTransientFailuresThenSuccess(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, nil)
	r.setRespond(func(n int, _ *delivery) reply {
		if n < 15 {
			return reply{status: http.StatusInternalServerError}
		}
		return reply{status: http.StatusOK}
	})
	tc := deliver.TargetConfig{Name: "flaky", Kind: deliver.KindWebhook, URL: r.url(), Backoff: fastBackoff, Concurrency: 4}
	e.src.Set("flaky", []deliver.Subscription{subscribe("flaky", "all", tc.ARN().String(), []string{"s3:ObjectCreated:*"})})
	d, _ := e.startDeliverer(t, deliver.Config{Targets: []deliver.TargetConfig{tc}}, runOpts{})
	ids := e.publishMany(t, 40, ev{bucket: "flaky", name: events.ObjectCreatedPut}, func(i int) string { return fmt.Sprintf("k%d", i) })
	r.waitAccepted(t, ids, 30*time.Second)
	st := waitIdle(t, d, "flaky")
	r.checkExactlyOnce(t, ids)
	if st.DeadLetters != 0 {
		t.Errorf("%d dead letters, want 0", st.DeadLetters)
	}
	if got := metric(t, e.reg, deliver.MetricRetried, "flaky"); got < 15 {
		t.Errorf("retried metric %v, want >= 15", got)
	}
	if got := metric(t, e.reg, deliver.MetricDelivered, "flaky"); got != 40 {
		t.Errorf("delivered metric %v, want 40", got)
	}
	if st.LastSuccess == nil || st.LastError == "" || !strings.Contains(st.LastError, "500") {
		t.Errorf("status last success %v, last error %q", st.LastSuccess, st.LastError)
	}
}

// TestTargetDownThenBack: 5,000 events published while the target's port
// is closed all arrive, exactly once each, once it listens; none is
// dead-lettered although max_attempts is small, because the open circuit
// holds events instead of spending their attempts.
func TestTargetDownThenBack(t *testing.T) {
	if testing.Short() {
		t.Skip("5,000 events")
	}
	e := newEnv(t)
	addr := freeAddr(t)
	r := newReceiverAt(t, nil)
	tc := deliver.TargetConfig{Name: "down", Kind: deliver.KindWebhook, URL: "http://" + addr + "/hook",
		Backoff: fastBackoff, MaxAttempts: 3, Concurrency: 16, Timeout: 2 * time.Second}
	e.src.Set("down", []deliver.Subscription{subscribe("down", "all", tc.ARN().String(), []string{"s3:ObjectCreated:*"})})
	d, _ := e.startDeliverer(t, deliver.Config{Targets: []deliver.TargetConfig{tc}}, runOpts{})
	ids := e.publishMany(t, 5000, ev{bucket: "down", name: events.ObjectCreatedPut}, func(i int) string { return fmt.Sprintf("obj/%05d", i) })
	natstest.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		st, err := d.Status(testCtx(t), "down")
		if err != nil {
			return err
		}
		if !st.CircuitOpen || st.Backlog != 5000 {
			return fmt.Errorf("circuit open %v, backlog %d", st.CircuitOpen, st.Backlog)
		}
		return nil
	})
	r.startAt(addr)
	r.waitAccepted(t, ids, 60*time.Second)
	st := waitIdle(t, d, "down")
	r.checkExactlyOnce(t, ids)
	if st.DeadLetters != 0 {
		t.Fatalf("%d dead letters, want 0", st.DeadLetters)
	}
}

// TestFunctionPermanentFailureDeadLetterAndRedrive: a function's 4xx
// dead-letters the event at once (other events flow); after the fix a
// redrive through the admin API delivers it.
func TestFunctionPermanentFailureDeadLetterAndRedrive(t *testing.T) {
	e := newEnv(t)
	var broken = make(chan struct{})
	r := newReceiver(t, nil)
	r.setRespond(func(n int, d *delivery) reply {
		rec, _, err := sdkEvent(d)
		if err == nil && rec.S3.Object.Key == "bad.png" {
			select {
			case <-broken:
			default:
				return reply{status: http.StatusUnprocessableEntity}
			}
		}
		return reply{status: http.StatusOK}
	})
	tc := deliver.TargetConfig{Name: "fn", Kind: deliver.KindFunction, URL: r.url(), Backoff: fastBackoff}
	e.src.Set("jobs", []deliver.Subscription{subscribe("jobs", "all", tc.ARN().String(), []string{"s3:ObjectCreated:*"})})
	d, _ := e.startDeliverer(t, deliver.Config{Targets: []deliver.TargetConfig{tc}}, runOpts{})
	api := httptest.NewServer(adminHandler(d))
	t.Cleanup(api.Close)
	client := adminClient(t, api.URL)

	good1 := e.publish(t, ev{bucket: "jobs", name: events.ObjectCreatedPut, key: "good1.png"})
	bad := e.publish(t, ev{bucket: "jobs", name: events.ObjectCreatedPut, key: "bad.png"})
	good2 := e.publish(t, ev{bucket: "jobs", name: events.ObjectCreatedPut, key: "good2.png"})
	r.waitAccepted(t, []string{good1, good2}, 20*time.Second)
	natstest.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		st, err := client.Status(testCtx(t), "fn")
		if err != nil {
			return err
		}
		if st.DeadLetters != 1 || st.Backlog != 0 {
			return fmt.Errorf("dead letters %d, backlog %d", st.DeadLetters, st.Backlog)
		}
		return nil
	})
	dls, err := client.DeadLetters(testCtx(t), "fn", 0)
	if err != nil {
		t.Fatalf("DeadLetters: %v", err)
	}
	if len(dls) != 1 || dls[0].EventID != bad || dls[0].Key != "bad.png" || dls[0].Bucket != "jobs" ||
		!strings.Contains(dls[0].Reason, "422") || dls[0].Deliveries != 1 || len(dls[0].Record) == 0 {
		t.Fatalf("dead letters = %+v, want the bad event after 1 delivery with the 422", dls)
	}
	if n := len(r.requests()); n != 3 {
		t.Fatalf("%d requests, want 3 (a 4xx is not retried)", n)
	}
	if got := metric(t, e.reg, deliver.MetricFailed, "fn"); got != 1 {
		t.Errorf("failed metric %v, want 1", got)
	}
	close(broken) // the function is fixed
	n, err := client.Redrive(testCtx(t), "fn", []uint64{dls[0].Seq})
	if err != nil || n != 1 {
		t.Fatalf("Redrive = %d, %v", n, err)
	}
	r.waitAccepted(t, []string{bad}, 20*time.Second)
	st := waitIdle(t, d, "fn")
	if st.DeadLetters != 0 {
		t.Fatalf("%d dead letters after redrive", st.DeadLetters)
	}
	r.checkExactlyOnce(t, []string{good1, bad, good2})
	if _, err := client.Redrive(testCtx(t), "fn", []uint64{dls[0].Seq}); err == nil {
		t.Fatal("redriving a redriven dead letter succeeded")
	}
}

// TestRetryAfterHonoured: after a 429 with Retry-After: 1 the next
// request comes no sooner than a second later.
func TestRetryAfterHonoured(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, nil)
	r.setRespond(func(n int, _ *delivery) reply {
		if n == 0 {
			return reply{status: http.StatusTooManyRequests, retryAfter: "1"}
		}
		return reply{status: http.StatusOK}
	})
	tc := deliver.TargetConfig{Name: "throttled", Kind: deliver.KindFunction, URL: r.url(),
		Backoff: deliver.BackoffConfig{Initial: time.Millisecond, Max: time.Millisecond}}
	e.src.Set("thr", []deliver.Subscription{subscribe("thr", "all", tc.ARN().String(), []string{"s3:ObjectCreated:*"})})
	d, _ := e.startDeliverer(t, deliver.Config{Targets: []deliver.TargetConfig{tc}}, runOpts{})
	id := e.publish(t, ev{bucket: "thr", name: events.ObjectCreatedPut, key: "k"})
	r.waitAccepted(t, []string{id}, 20*time.Second)
	waitIdle(t, d, "throttled")
	reqs := r.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	if gap := reqs[1].at.Sub(reqs[0].at); gap < time.Second {
		t.Fatalf("retried after %v, before the Retry-After of 1s", gap)
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	return addr
}

// waitFor polls f for up to 20s.
func waitFor(t testing.TB, f func() error) {
	t.Helper()
	natstest.CheckFor(t, 20*time.Second, 20*time.Millisecond, f)
}
