package deliver_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/deliver"
	"github.com/sluice-io/sluice/events/deliver/notifications"
	"github.com/sluice-io/sluice/events/filter"
)

// recordOf decodes the record of a binary-mode delivery.
func recordOf(t testing.TB, d *delivery) events.Record {
	t.Helper()
	var rec events.Record
	if err := json.Unmarshal(d.body, &rec); err != nil {
		t.Errorf("record: %v", err)
	}
	return rec
}

// TestOrderedPerKey: an ordered target gets each key's events in
// sequencer order although a third of its answers are 500s.
func TestOrderedPerKey(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, nil)
	r.setRespond(func(n int, _ *delivery) reply {
		if n%3 == 1 {
			return reply{status: http.StatusInternalServerError}
		}
		return reply{status: http.StatusOK}
	})
	tc := deliver.TargetConfig{Name: "ordered", Kind: deliver.KindFunction, URL: r.url(), Ordered: true, Backoff: fastBackoff}
	e.src.Set("seq", []deliver.Subscription{subscribe("seq", "all", tc.ARN().String(), []string{"s3:ObjectCreated:*", "s3:ObjectRemoved:*"})})
	d, _ := e.startDeliverer(t, deliver.Config{Targets: []deliver.TargetConfig{tc}}, runOpts{})
	const keys, perKey = 3, 15
	var ids []string
	for i := range keys * perKey {
		name := events.ObjectCreatedPut
		if i%4 == 3 {
			name = events.ObjectRemovedDelete
		}
		ids = append(ids, e.publish(t, ev{bucket: "seq", name: name, key: fmt.Sprintf("key-%d", i%keys)}))
	}
	r.waitAccepted(t, ids, 60*time.Second)
	waitIdle(t, d, "ordered")
	r.checkExactlyOnce(t, ids)
	perKeySeq := map[string][]string{}
	for _, q := range r.requests() {
		if q.status/100 != 2 {
			continue
		}
		rec := recordOf(t, q)
		perKeySeq[rec.S3.Object.Key] = append(perKeySeq[rec.S3.Object.Key], rec.S3.Object.Sequencer)
	}
	for key, seqs := range perKeySeq {
		if len(seqs) != perKey {
			t.Errorf("key %s: %d events accepted, want %d", key, len(seqs), perKey)
		}
		if !sort.SliceIsSorted(seqs, func(i, j int) bool { return events.CompareSequencers(seqs[i], seqs[j]) < 0 }) {
			t.Errorf("key %s: accepted out of sequencer order: %v", key, seqs)
		}
	}
}

// TestPauseSurvivesRestartAndResume: a paused target receives nothing,
// stays paused when the deliverer restarts, and catches up on resume.
func TestPauseSurvivesRestartAndResume(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, nil)
	tc := deliver.TargetConfig{Name: "pausable", Kind: deliver.KindWebhook, URL: r.url(), Backoff: fastBackoff}
	cfg := deliver.Config{Targets: []deliver.TargetConfig{tc}}
	e.src.Set("p", []deliver.Subscription{subscribe("p", "all", tc.ARN().String(), []string{"s3:ObjectCreated:*"})})
	d, stop := e.startDeliverer(t, cfg, runOpts{})
	st, err := d.Pause(testCtx(t), "pausable", time.Time{})
	if err != nil || !st.Paused {
		t.Fatalf("Pause = %+v, %v", st, err)
	}
	ids := e.publishMany(t, 10, ev{bucket: "p", name: events.ObjectCreatedPut}, func(i int) string { return fmt.Sprintf("k%d", i) })
	waitFor(t, func() error {
		st, err := d.Status(testCtx(t), "pausable")
		if err != nil {
			return err
		}
		if st.Pending != 10 {
			return fmt.Errorf("pending %d, want 10", st.Pending)
		}
		return nil
	})
	stop()
	d2, _ := e.startDeliverer(t, cfg, runOpts{})
	st, err = d2.Status(testCtx(t), "pausable")
	if err != nil || !st.Paused || st.PausedUntil == nil {
		t.Fatalf("after restart: %+v, %v; want still paused", st, err)
	}
	if got := metric(t, e.reg, deliver.MetricPaused, "pausable"); got != 1 {
		t.Errorf("paused gauge %v, want 1", got)
	}
	if n := len(r.requests()); n != 0 {
		t.Fatalf("%d requests while paused", n)
	}
	if st.Pending != 10 || st.AckPending != 0 {
		t.Fatalf("while paused: pending %d, unacked %d; want 10, 0", st.Pending, st.AckPending)
	}
	if st, err := d2.Resume(testCtx(t), "pausable"); err != nil || st.Paused {
		t.Fatalf("Resume = %+v, %v", st, err)
	}
	r.waitAccepted(t, ids, 20*time.Second)
	waitIdle(t, d2, "pausable")
	r.checkExactlyOnce(t, ids)
}

// TestNATSRepublish: nats targets re-publish in CloudEvents binary mode,
// through JetStream when a stream captures the subject (de-duplicated by
// event id), by core NATS otherwise.
func TestNATSRepublish(t *testing.T) {
	e := newEnv(t)
	js := e.srv.JetStream()
	ctx := testCtx(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "HOOKS", Subjects: []string{"hooks.stream.>"}}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	core, err := e.srv.Conn().SubscribeSync("hooks.core.photos")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(func() { _ = core.Unsubscribe() })
	if err := e.srv.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	toStream := deliver.TargetConfig{Name: "tostream", Kind: deliver.KindNATS, Subject: "hooks.stream.photos", Backoff: fastBackoff}
	toCore := deliver.TargetConfig{Name: "tocore", Kind: deliver.KindNATS, Subject: "hooks.core.photos", Backoff: fastBackoff}
	e.src.Set("photos", []deliver.Subscription{
		subscribe("photos", "s", toStream.ARN().String(), []string{"s3:ObjectCreated:*"}, filter.FilterRule{Name: "prefix", Value: "a/"}),
		subscribe("photos", "c", toCore.ARN().String(), []string{"s3:ObjectCreated:*"}, filter.FilterRule{Name: "prefix", Value: "b/"}),
	})
	d, _ := e.startDeliverer(t, deliver.Config{Targets: []deliver.TargetConfig{toStream, toCore}}, runOpts{})
	var streamIDs, coreIDs []string
	for i := range 3 {
		streamIDs = append(streamIDs, e.publish(t, ev{bucket: "photos", name: events.ObjectCreatedPut, key: fmt.Sprintf("a/%d", i)}))
		coreIDs = append(coreIDs, e.publish(t, ev{bucket: "photos", name: events.ObjectCreatedPut, key: fmt.Sprintf("b/%d", i)}))
	}
	decode := func(h nats.Header, data []byte, wantConfig string) string {
		ce, err := events.EventFromNATS(h, data)
		if err != nil {
			t.Fatalf("decode re-published event: %v", err)
		}
		rec, err := events.RecordFromCloudEvent(ce)
		if err != nil {
			t.Fatalf("record: %v", err)
		}
		if rec.S3.ConfigurationID != wantConfig {
			t.Errorf("configurationId %q, want %q", rec.S3.ConfigurationID, wantConfig)
		}
		return ce.ID()
	}
	var gotCore []string
	for range 3 {
		m, err := core.NextMsg(20 * time.Second)
		if err != nil {
			t.Fatalf("core message: %v", err)
		}
		gotCore = append(gotCore, decode(m.Header, m.Data, "c"))
	}
	waitIdle(t, d, "tostream")
	waitIdle(t, d, "tocore")
	st, err := js.Stream(ctx, "HOOKS")
	if err != nil {
		t.Fatal(err)
	}
	var gotStream []string
	for seq := uint64(1); seq <= 3; seq++ {
		raw, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("stream message %d: %v", seq, err)
		}
		id := decode(raw.Header, raw.Data, "s")
		if raw.Header.Get(jetstream.MsgIDHeader) != id {
			t.Errorf("Nats-Msg-Id %q, want the event id %q", raw.Header.Get(jetstream.MsgIDHeader), id)
		}
		gotStream = append(gotStream, id)
	}
	if info, _ := st.Info(ctx); info.State.Msgs != 3 {
		t.Errorf("HOOKS holds %d messages, want 3", info.State.Msgs)
	}
	slices.Sort(gotStream)
	slices.Sort(gotCore)
	if !slices.Equal(gotStream, streamIDs) || !slices.Equal(gotCore, coreIDs) {
		t.Fatalf("stream got %v want %v; core got %v want %v", gotStream, streamIDs, gotCore, coreIDs)
	}
}

// TestSubscriptionFilters runs a table of events through a target's
// subscriptions: event patterns, prefix and suffix, tags and metadata, and
// buckets without subscriptions. The target is ordered, so once the last
// (matching) event arrived every earlier one was decided.
func TestSubscriptionFilters(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, nil)
	tc := deliver.TargetConfig{Name: "filtered", Kind: deliver.KindWebhook, URL: r.url(), Ordered: true, Backoff: fastBackoff}
	arn := tc.ARN().String()
	e.src.Set("media", []deliver.Subscription{
		subscribe("media", "images", arn, []string{"s3:ObjectCreated:*"},
			filter.FilterRule{Name: "prefix", Value: "img/"}, filter.FilterRule{Name: "Suffix", Value: ".png"}),
		{Bucket: "media", ID: "prod-deletes", TargetARN: arn, Rule: filter.Rule{Events: []string{"s3:ObjectRemoved:Delete"},
			Tags: []filter.FilterRule{{Name: "env", Value: "prod"}}}},
		{Bucket: "media", ID: "nikon", TargetARN: arn, Rule: filter.Rule{Events: []string{"s3:ObjectTagging:*", "s3:ObjectTagging:Put"},
			Metadata: []filter.FilterRule{{Name: "x-amz-meta-camera", Value: "nikon"}}}},
	})
	e.src.Set("docs", []deliver.Subscription{subscribe("docs", "docs", arn, []string{"s3:ObjectCreated:Copy"})})
	d, _ := e.startDeliverer(t, deliver.Config{Targets: []deliver.TargetConfig{tc}}, runOpts{})
	tests := []struct {
		ev   ev
		want string // configuration id, "" for not delivered
	}{
		{ev{bucket: "media", name: events.ObjectCreatedPut, key: "img/a.png"}, "images"},
		{ev{bucket: "media", name: events.ObjectCreatedCompleteMultipartUpload, key: "img/sub/b.png"}, "images"},
		{ev{bucket: "media", name: events.ObjectCreatedPut, key: "img/a.jpg"}, ""},
		{ev{bucket: "media", name: events.ObjectCreatedPut, key: "doc/a.png"}, ""},
		{ev{bucket: "media", name: events.ObjectCreatedPut, key: "IMG/a.png"}, ""},
		{ev{bucket: "media", name: events.ObjectRemovedDelete, key: "img/a.png", tags: map[string]string{"env": "prod"}}, "prod-deletes"},
		{ev{bucket: "media", name: events.ObjectRemovedDelete, key: "x", tags: map[string]string{"env": "dev"}}, ""},
		{ev{bucket: "media", name: events.ObjectRemovedDeleteMarkerCreated, key: "x", tags: map[string]string{"env": "prod"}}, ""},
		{ev{bucket: "media", name: events.ObjectTaggingPut, key: "y", meta: map[string]string{"Camera": "nikon"}}, "nikon"},
		{ev{bucket: "media", name: events.ObjectTaggingDelete, key: "y", meta: map[string]string{"camera": "canon"}}, ""},
		{ev{bucket: "media", name: events.LifecycleTransition, key: "img/a.png"}, ""},
		{ev{bucket: "docs", name: events.ObjectCreatedCopy, key: "any"}, "docs"},
		{ev{bucket: "docs", name: events.ObjectCreatedPut, key: "any"}, ""},
		{ev{bucket: "other", name: events.ObjectCreatedPut, key: "img/a.png"}, ""},
	}
	want := map[string]string{}
	for _, tt := range tests {
		id := e.publish(t, tt.ev)
		if tt.want != "" {
			want[id] = tt.want
		}
	}
	last := e.publish(t, ev{bucket: "docs", name: events.ObjectCreatedCopy, key: "last"})
	want[last] = "docs"
	r.waitAccepted(t, []string{last}, 20*time.Second)
	st := waitIdle(t, d, "filtered")
	got := map[string]string{}
	for _, q := range r.requests() {
		got[q.id] = recordOf(t, q).S3.ConfigurationID
	}
	for id, cfg := range want {
		if got[id] != cfg {
			t.Errorf("event %s: delivered with configuration %q, want %q", id, got[id], cfg)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("event %s delivered, but no subscription selects it", id)
		}
	}
	// Events of unsubscribed categories and buckets never reach the
	// consumer; those that do and miss the key/tag/metadata rules are
	// counted as filtered.
	if st.Filtered != 5 {
		t.Errorf("%d events filtered in-process, want 5", st.Filtered)
	}
	if st.Subscriptions != 4 || len(st.Filters) != 4 {
		t.Errorf("status: %d subscriptions, filters %v", st.Subscriptions, st.Filters)
	}
}

// TestSubscriptionsChangeAtRunTime: a subscription added while the
// deliverer runs updates its consumer's filters; events that follow are
// delivered.
func TestSubscriptionsChangeAtRunTime(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, nil)
	tc := deliver.TargetConfig{Name: "late", Kind: deliver.KindWebhook, URL: r.url(), Backoff: fastBackoff}
	d, _ := e.startDeliverer(t, deliver.Config{Targets: []deliver.TargetConfig{tc}}, runOpts{})
	if st, _ := d.Status(testCtx(t), "late"); len(st.Filters) != 0 {
		t.Fatalf("filters %v without subscriptions", st.Filters)
	}
	e.src.Set("newbucket", []deliver.Subscription{subscribe("newbucket", "n", tc.ARN().String(), []string{"s3:ObjectCreated:Put"})})
	waitFor(t, func() error {
		c, err := e.srv.JetStream().Consumer(testCtx(t), bus.EventsStreamName, tc.Durable())
		if err != nil {
			return err
		}
		if f := c.CachedInfo().Config.FilterSubjects; !slices.Contains(f, "sluice.events.newbucket.ObjectCreated.Put") {
			return fmt.Errorf("consumer filters %v", f)
		}
		return nil
	})
	id := e.publish(t, ev{bucket: "newbucket", name: events.ObjectCreatedPut, key: "k"})
	r.waitAccepted(t, []string{id}, 20*time.Second)
	e.src.Set("newbucket", nil)
	waitFor(t, func() error {
		c, err := e.srv.JetStream().Consumer(testCtx(t), bus.EventsStreamName, tc.Durable())
		if err != nil {
			return err
		}
		if f := c.CachedInfo().Config.FilterSubjects; len(f) > 0 || c.CachedInfo().Config.FilterSubject != bus.RedriveSubject(tc.Durable()) {
			return fmt.Errorf("consumer filters %v / %q", f, c.CachedInfo().Config.FilterSubject)
		}
		return nil
	})
}

// TestTestEventsThroughNotificationStore: Apply stores a bucket's
// configuration in SLUICE_NOTIFICATIONS, which the deliverer watches, and
// sends one s3:TestEvent to each target new to the bucket: a CloudEvent to
// a binary target, AWS's test message to a records target. Applying the
// same configuration again sends none.
func TestTestEventsThroughNotificationStore(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	store, err := notifications.Open(ctx, e.srv.JetStream(), notifications.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ra, rb := newReceiver(t, nil), newReceiver(t, nil)
	ta := deliver.TargetConfig{Name: "a", Kind: deliver.KindWebhook, URL: ra.url(), Ordered: true, Backoff: fastBackoff}
	tb := deliver.TargetConfig{Name: "b", Kind: deliver.KindFunction, URL: rb.url(), Format: deliver.FormatRecords, Ordered: true, Backoff: fastBackoff}
	cfg := deliver.Config{Targets: []deliver.TargetConfig{ta, tb}}
	d, _ := e.startDeliverer(t, cfg, runOpts{src: store})
	subs := []deliver.Subscription{
		subscribe("", "to-a", ta.ARN().String(), []string{"s3:ObjectCreated:*"}, filter.FilterRule{Name: "prefix", Value: "a/"}),
		subscribe("", "to-b", tb.ARN().String(), []string{"s3:ObjectCreated:*"}, filter.FilterRule{Name: "prefix", Value: "b/"}),
	}
	if err := store.Apply(ctx, e.bus, cfg, "tb", subs, time.Now()); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	waitFor(t, func() error {
		if len(ra.requests()) != 1 || len(rb.requests()) != 1 {
			return fmt.Errorf("test events: a got %d, b got %d", len(ra.requests()), len(rb.requests()))
		}
		return nil
	})
	if ce, err := sdkEventType(ra.requests()[0]); err != nil || ce != events.Type(events.TestEvent) {
		t.Errorf("a: test event type %q, %v", ce, err)
	}
	var aws deliver.AWSTestEvent
	if err := json.Unmarshal(rb.requests()[0].body, &aws); err != nil || aws.Event != "s3:TestEvent" || aws.Bucket != "tb" || aws.Service != "Amazon S3" {
		t.Errorf("b: AWS test event %+v, %v (body %s)", aws, err, rb.requests()[0].body)
	}
	waitFor(t, func() error {
		st, err := d.Status(ctx, "a")
		if err != nil {
			return err
		}
		if len(st.Filters) != 1 {
			return fmt.Errorf("a filters %v", st.Filters)
		}
		return nil
	})
	if err := store.Apply(ctx, e.bus, cfg, "tb", subs, time.Now()); err != nil {
		t.Fatalf("Apply again: %v", err)
	}
	ida := e.publish(t, ev{bucket: "tb", name: events.ObjectCreatedPut, key: "a/1"})
	idb := e.publish(t, ev{bucket: "tb", name: events.ObjectCreatedPut, key: "b/1"})
	ra.waitAccepted(t, []string{ida}, 20*time.Second)
	rb.waitAccepted(t, []string{idb}, 20*time.Second)
	if len(ra.requests()) != 2 || len(rb.requests()) != 2 {
		t.Fatalf("a got %d requests, b %d; want 2 each (one test event, one event)", len(ra.requests()), len(rb.requests()))
	}
	if err := checkAWSRecords(rb.requests()[1].body, "to-b"); err != nil {
		t.Errorf("b: %v", err)
	}
	// An unknown target is refused before anything is stored.
	bad := []deliver.Subscription{subscribe("", "x", "arn:sluice:webhook::nope", []string{"s3:ObjectCreated:*"})}
	if err := store.Apply(ctx, e.bus, cfg, "tb", bad, time.Now()); err == nil {
		t.Fatal("Apply accepted an unknown target")
	}
	if got, _ := store.Get(ctx, "tb"); len(got) != 2 {
		t.Fatalf("stored subscriptions changed by a refused Apply: %+v", got)
	}
}

func sdkEventType(d *delivery) (string, error) {
	h := d.header
	if h.Get("Ce-Specversion") != "1.0" {
		return "", fmt.Errorf("not a binary-mode CloudEvent")
	}
	return h.Get("Ce-Type"), nil
}

// TestCrashMidDeliveryLosesNothing: a deliverer whose NATS connection dies
// while its deliveries are in flight (as when its process is killed)
// leaves them un-acked; another replica delivers them after AckWait.
func TestCrashMidDeliveryLosesNothing(t *testing.T) {
	e := newEnv(t)
	hang := make(chan struct{})
	r := newReceiver(t, nil)
	var firstBatch = make(chan struct{}, 64)
	r.setRespond(func(n int, _ *delivery) reply {
		select {
		case <-hang:
			return reply{status: http.StatusOK}
		default:
		}
		firstBatch <- struct{}{}
		<-hang // the doomed replica's requests never get an answer in time
		return reply{status: http.StatusServiceUnavailable}
	})
	t.Cleanup(func() {
		select {
		case <-hang:
		default:
			close(hang)
		}
	})
	tc := deliver.TargetConfig{Name: "crash", Kind: deliver.KindWebhook, URL: r.url(), Backoff: fastBackoff,
		Concurrency: 4, Timeout: 3 * time.Second}
	cfg := deliver.Config{Targets: []deliver.TargetConfig{tc}}
	e.src.Set("c", []deliver.Subscription{subscribe("c", "all", tc.ARN().String(), []string{"s3:ObjectCreated:*"})})

	nc1, js1 := e.srv.Connect(t)
	d1, stop1 := e.startDeliverer(t, cfg, runOpts{bus: newBus(t, js1), ackWait: time.Second})
	ids := e.publishMany(t, 20, ev{bucket: "c", name: events.ObjectCreatedPut}, func(i int) string { return fmt.Sprintf("k%d", i) })
	for range 4 {
		select {
		case <-firstBatch:
		case <-time.After(20 * time.Second):
			t.Fatal("first deliveries never arrived")
		}
	}
	_ = d1
	nc1.Close() // the process dies: no acks, no naks
	close(hang)
	d2, _ := e.startDeliverer(t, cfg, runOpts{ackWait: time.Second})
	r.waitAccepted(t, ids, 30*time.Second)
	st := waitIdle(t, d2, "crash")
	if st.DeadLetters != 0 {
		t.Fatalf("%d dead letters", st.DeadLetters)
	}
	stop1()
}
