package s3front_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/deliver"
	"github.com/sluice-io/sluice/events/deliver/notifications"
	"github.com/sluice-io/sluice/events/natstest"
	"github.com/sluice-io/sluice/s3front"
)

// hookReceiver is a webhook target on 127.0.0.1 that records the
// CloudEvent type and subject of every delivery, in arrival order.
type hookReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []string // "<ce-type> <subject>"
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		subj, _ := url.PathUnescape(r.Header.Get("Ce-Subject"))
		h.mu.Lock()
		h.got = append(h.got, r.Header.Get("Ce-Type")+" "+subj)
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) deliveries() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}

// waitFor polls until the receiver holds n deliveries.
func (h *hookReceiver) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if got := h.deliveries(); len(got) >= n {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("webhook received %q, want %d deliveries", h.deliveries(), n)
	return nil
}

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startDeliverer runs the events delivery over the notifications store
// until the test ends.
func startDeliverer(t *testing.T, ns *natstest.Server, cfg deliver.Config) *notifications.Store {
	t.Helper()
	ctx := context.Background()
	_, js := ns.Connect(t)
	b, err := bus.New(js, bus.Options{Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	st, err := notifications.Open(ctx, js, notifications.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := deliver.New(cfg, deliver.Settings{Bus: b, Source: st, Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(rctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("deliverer: %v", err)
		}
	})
	return st
}

// consumerFilters returns the filter subjects of a target's consumer
// (nil while it does not exist).
func consumerFilters(ns *natstest.Server, durable string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := ns.JetStream().Consumer(ctx, bus.EventsStreamName, durable)
	if err != nil {
		return nil
	}
	info, err := c.Info(ctx)
	if err != nil {
		return nil
	}
	if info.Config.FilterSubject != "" {
		return []string{info.Config.FilterSubject}
	}
	return info.Config.FilterSubjects
}

func TestServiceBucketNotificationsDeliver(t *testing.T) {
	ctx := context.Background()
	hook := newHookReceiver(t)
	evCfg := deliver.Config{Targets: []deliver.TargetConfig{{
		Name: "hook", Kind: deliver.KindWebhook, URL: hook.srv.URL + "/hook",
		Ordered: true, // deliveries in stream order: a skipped event would show before a later one
		Backoff: deliver.BackoffConfig{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond},
	}}}
	ns := natstest.RunJetStream(t)
	dataDir := t.TempDir()
	e := startServiceOn(t, ns, dataDir, func(c *s3front.Config) { *c = c.WithEvents(evCfg) }, s3front.Hooks{})
	kv := startDeliverer(t, ns, evCfg)

	if _, err := e.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("photos")}); err != nil {
		t.Fatal(err)
	}
	// The target's consumer exists once the deliverer has started.
	waitUntil(t, "the delivery consumer", func() bool { return len(consumerFilters(ns, "deliver-hook")) > 0 })

	put := func(cfg *types.NotificationConfiguration) error {
		_, err := e.client.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
			Bucket: aws.String("photos"), NotificationConfiguration: cfg,
		})
		return err
	}
	// Unknown and malformed targets are refused, as AWS refuses
	// destinations it cannot validate.
	for _, arn := range []string{"arn:sluice:webhook::nope", "arn:sluice:function::hook", "arn:aws:sqs:us-east-1:123456789012:q"} {
		err := put(&types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{{
			QueueArn: aws.String(arn), Events: []types.Event{"s3:ObjectCreated:*"},
		}}})
		if code := errorCode(err); code != "InvalidArgument" {
			t.Fatalf("%s: error %v (code %q), want InvalidArgument", arn, err, code)
		}
	}
	if subs, err := kv.Get(ctx, "photos"); err != nil || len(subs) != 0 {
		t.Fatalf("subscriptions after refusals = %+v, %v", subs, err)
	}

	if err := put(&types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{{
		Id: aws.String("uploads"), QueueArn: aws.String("arn:sluice:webhook::hook"),
		Events: []types.Event{"s3:ObjectCreated:*"},
		Filter: &types.NotificationConfigurationFilter{Key: &types.S3KeyFilter{FilterRules: []types.FilterRule{
			{Name: types.FilterRuleNamePrefix, Value: aws.String("in/")},
		}}},
	}}}); err != nil {
		t.Fatal(err)
	}
	got := hook.waitFor(t, 1)
	if got[0] != events.Type(events.TestEvent)+" " {
		t.Fatalf("first delivery %q, want the s3:TestEvent", got[0])
	}
	// Wait until the consumer follows the new subscription before writing.
	waitUntil(t, "the consumer's bucket filter", func() bool {
		return slices.ContainsFunc(consumerFilters(ns, "deliver-hook"), func(f string) bool { return strings.HasPrefix(f, "sluice.events.photos.") })
	})
	for _, key := range []string{"out/skipped.jpg", "in/cat.jpg"} {
		if _, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String(key), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	got = hook.waitFor(t, 2)
	if want := events.Type("ObjectCreated:Put") + " in/cat.jpg"; got[1] != want {
		t.Fatalf("deliveries %q, want the test event then %q", got, want)
	}
	if len(got) != 2 {
		t.Fatalf("deliveries %q: the non-matching key was delivered", got)
	}

	// A startup sync restores the store from the metadata: remove the
	// entry behind s3front's back, restart it, and the entry is back.
	if err := kv.Delete(ctx, "photos"); err != nil {
		t.Fatal(err)
	}
	e.stop(t)
	startServiceOn(t, ns, dataDir, func(c *s3front.Config) { *c = c.WithEvents(evCfg) }, s3front.Hooks{})
	waitUntil(t, "the startup sync", func() bool {
		subs, err := kv.Get(ctx, "photos")
		return err == nil && len(subs) == 1 && subs[0].TargetARN == "arn:sluice:webhook::hook" && subs[0].ID == "uploads"
	})
}

// errorCode returns the S3 error code of err ("" when it has none).
func errorCode(err error) string {
	var ae interface{ ErrorCode() string }
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// stop closes the service and waits for Run to return.
func (e *svcEnv) stop(t *testing.T) {
	t.Helper()
	if err := e.svc.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-e.runErr:
		if err != nil {
			t.Fatalf("Run after Close: %v", err)
		}
		e.runErr <- nil // for the cleanup
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after Close")
	}
}

// TestServiceTestEventWaitsForLateDeliverer: the events process starts
// after s3front accepted a notification configuration. The s3:TestEvent
// sent then, and an object written before the deliverer runs, both reach
// the webhook once it does: s3front makes the target's consumer exist
// before it stores the subscriptions and publishes the test event.
func TestServiceTestEventWaitsForLateDeliverer(t *testing.T) {
	ctx := context.Background()
	hook := newHookReceiver(t)
	evCfg := deliver.Config{Targets: []deliver.TargetConfig{{
		Name: "late", Kind: deliver.KindWebhook, URL: hook.srv.URL + "/hook", Ordered: true,
		Backoff: deliver.BackoffConfig{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond},
	}}}
	ns := natstest.RunJetStream(t)
	e := startServiceOn(t, ns, t.TempDir(), func(c *s3front.Config) { *c = c.WithEvents(evCfg) }, s3front.Hooks{})
	if _, err := e.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("later")}); err != nil {
		t.Fatal(err)
	}
	// The events stream is ensured as s3front starts; until then the
	// configuration is refused with 503, which a client retries.
	var lastErr error
	waitUntil(t, "an accepted notification configuration", func() bool {
		_, lastErr = e.client.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
			Bucket: aws.String("later"),
			NotificationConfiguration: &types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{{
				Id: aws.String("all"), QueueArn: aws.String("arn:sluice:webhook::late"), Events: []types.Event{"s3:ObjectCreated:*"},
			}}},
		})
		return lastErr == nil || errorCode(lastErr) != "ServiceUnavailable"
	})
	if lastErr != nil {
		t.Fatal(lastErr)
	}
	if _, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("later"), Key: aws.String("early.txt"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	if got := hook.deliveries(); len(got) != 0 {
		t.Fatalf("deliveries %q before any deliverer ran", got)
	}
	startDeliverer(t, ns, evCfg)
	got := hook.waitFor(t, 2)
	want := []string{events.Type(events.TestEvent) + " ", events.Type("ObjectCreated:Put") + " early.txt"}
	if !slices.Equal(got, want) {
		t.Fatalf("deliveries %q, want %q", got, want)
	}
}
