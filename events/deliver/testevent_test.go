package deliver_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/deliver"
	"github.com/sluice-io/sluice/events/deliver/notifications"
)

// TestTestEventSurvivesLateDeliverer: a configuration applied while no
// deliverer has ever run (the events process starts after s3front, or is
// down) still gets its s3:TestEvent delivered once the deliverer runs, and
// so do the events written after the configuration was applied. In each
// case the consumer either does not exist yet or filters nothing of the
// bucket when Apply publishes.
func TestTestEventSurvivesLateDeliverer(t *testing.T) {
	cases := []struct {
		name string
		// before runs (and stops) a deliverer without subscriptions first,
		// so the consumer exists, filtering only its private subject.
		before bool
	}{
		{name: "no consumer yet"},
		{name: "consumer without subscriptions", before: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := testCtx(t)
			store, err := notifications.Open(ctx, e.srv.JetStream(), notifications.Options{Logger: testLogger(t)})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			r := newReceiver(t, nil)
			target := deliver.TargetConfig{Name: "late", Kind: deliver.KindWebhook, URL: r.url(), Backoff: fastBackoff}
			cfg := deliver.Config{Targets: []deliver.TargetConfig{target}}
			if tc.before {
				_, stop := e.startDeliverer(t, cfg, runOpts{src: store})
				stop()
			}
			subs := []deliver.Subscription{subscribe("", "all", target.ARN().String(), []string{"s3:ObjectCreated:*"})}
			if err := store.Apply(ctx, e.bus, cfg, "late-bucket", subs, time.Now()); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			// Written after the configuration was accepted, before any
			// deliverer follows it.
			id := e.publish(t, ev{bucket: "late-bucket", name: events.ObjectCreatedPut, key: "k"})

			d, _ := e.startDeliverer(t, cfg, runOpts{src: store})
			r.waitAccepted(t, []string{id}, 20*time.Second)
			waitFor(t, func() error {
				for _, q := range r.requests() {
					if q.header.Get("Ce-Type") == events.Type(events.TestEvent) {
						return nil
					}
				}
				return fmt.Errorf("no test event among %d requests", len(r.requests()))
			})
			waitIdle(t, d, "late")
			if n := len(r.requests()); n != 2 {
				t.Fatalf("%d requests, want 2 (the test event and the object event)", n)
			}
		})
	}
}

// TestTestEventsWhileRefiltering: a running deliverer refilters its
// consumer after every configuration change; test events published while
// it does so (one per new bucket, back to back) all arrive, once each.
func TestTestEventsWhileRefiltering(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	store, err := notifications.Open(ctx, e.srv.JetStream(), notifications.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	r := newReceiver(t, nil)
	target := deliver.TargetConfig{Name: "busy", Kind: deliver.KindWebhook, URL: r.url(), Backoff: fastBackoff}
	cfg := deliver.Config{Targets: []deliver.TargetConfig{target}}
	d, _ := e.startDeliverer(t, cfg, runOpts{src: store})
	const buckets = 20
	for i := range buckets {
		subs := []deliver.Subscription{subscribe("", "all", target.ARN().String(), []string{"s3:ObjectCreated:*"})}
		if err := store.Apply(ctx, e.bus, cfg, fmt.Sprintf("b%02d", i), subs, time.Now()); err != nil {
			t.Fatalf("Apply %d: %v", i, err)
		}
	}
	waitFor(t, func() error {
		if n := len(r.requests()); n < buckets {
			return fmt.Errorf("%d test events of %d", n, buckets)
		}
		return nil
	})
	waitIdle(t, d, "busy")
	seen := map[string]int{}
	for _, q := range r.requests() {
		if q.header.Get("Ce-Type") != events.Type(events.TestEvent) {
			t.Errorf("unexpected delivery %s", q.header.Get("Ce-Type"))
		}
		seen[recordOf(t, q).Bucket()]++
	}
	for i := range buckets {
		if b := fmt.Sprintf("b%02d", i); seen[b] != 1 {
			t.Errorf("bucket %s: %d test events, want 1", b, seen[b])
		}
	}
}

// TestConfigAckWaitReachesConsumers: Config.AckWait (ack_wait in the
// configuration file) becomes the AckWait of the target's consumer when
// Settings.AckWait is zero, including on a consumer EnsureTargetConsumer
// created beforehand with the default.
func TestConfigAckWaitReachesConsumers(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	target := deliver.TargetConfig{Name: "aw", Kind: deliver.KindWebhook, URL: "http://127.0.0.1:1/h"}
	if err := deliver.EnsureTargetConsumer(ctx, e.srv.JetStream(), "", target); err != nil {
		t.Fatalf("EnsureTargetConsumer: %v", err)
	}
	ackWait := func() time.Duration {
		c, err := e.srv.JetStream().Consumer(ctx, bus.EventsStreamName, target.Durable())
		if err != nil {
			t.Fatalf("consumer: %v", err)
		}
		return c.CachedInfo().Config.AckWait
	}
	if got := ackWait(); got != bus.DefaultAckWait {
		t.Fatalf("created AckWait %v, want %v", got, bus.DefaultAckWait)
	}
	// Again: an existing consumer is left alone.
	if err := deliver.EnsureTargetConsumer(ctx, e.srv.JetStream(), "", target); err != nil {
		t.Fatalf("EnsureTargetConsumer again: %v", err)
	}
	d, err := deliver.New(deliver.Config{Targets: []deliver.TargetConfig{target}, AckWait: 3 * time.Second},
		deliver.Settings{Logger: testLogger(t), Bus: e.bus, Source: e.src})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(rctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	waitFor(t, func() error {
		if got := ackWait(); got != 3*time.Second {
			return fmt.Errorf("AckWait %v", got)
		}
		return nil
	})
	bad := target
	bad.Name = "bad name"
	if err := deliver.EnsureTargetConsumer(ctx, e.srv.JetStream(), "", bad); !errors.Is(err, deliver.ErrInvalidConfig) {
		t.Fatalf("invalid target: %v, want ErrInvalidConfig", err)
	}
	if err := deliver.EnsureTargetConsumer(ctx, e.srv.JetStream(), "NO_SUCH_STREAM", target); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("missing stream: %v, want ErrStreamNotFound", err)
	}
}

// delayedSource hands on every subscription set of src after delay, as a
// deliverer whose subscription watch lags would see them.
type delayedSource struct {
	src   deliver.SubscriptionSource
	delay time.Duration
}

func (d delayedSource) Watch(ctx context.Context) (<-chan []deliver.Subscription, error) {
	in, err := d.src.Watch(ctx)
	if err != nil {
		return nil, err
	}
	out := make(chan []deliver.Subscription, 1)
	go func() {
		defer close(out)
		for subs := range in {
			t := time.NewTimer(d.delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			select { // keep only the latest set
			case <-out:
			default:
			}
			out <- subs
		}
	}()
	return out, nil
}

// TestApplyWaitsForRunningDeliverer: an object written right after Apply
// returned reaches the target even when the running deliverer follows the
// subscriptions late and another bucket's event makes its consumer step
// forward meanwhile: Apply waits until the consumer filters the new bucket.
func TestApplyWaitsForRunningDeliverer(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	store, err := notifications.Open(ctx, e.srv.JetStream(), notifications.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	r := newReceiver(t, nil)
	target := deliver.TargetConfig{Name: "lagging", Kind: deliver.KindWebhook, URL: r.url(), Backoff: fastBackoff}
	cfg := deliver.Config{Targets: []deliver.TargetConfig{target}}
	all := []string{"s3:ObjectCreated:*"}
	if err := store.Apply(ctx, e.bus, cfg, "warm", []deliver.Subscription{subscribe("", "w", target.ARN().String(), all)}, time.Now()); err != nil {
		t.Fatalf("Apply warm: %v", err)
	}
	d, _ := e.startDeliverer(t, cfg, runOpts{src: delayedSource{src: store, delay: 300 * time.Millisecond}})
	waitFor(t, func() error {
		if st, err := d.Status(ctx, "lagging"); err != nil || len(st.Filters) != 1 {
			return fmt.Errorf("filters %v, %v", st.Filters, err)
		}
		return nil
	})
	if err := store.Apply(ctx, e.bus, cfg, "cold", []deliver.Subscription{subscribe("", "c", target.ARN().String(), all)}, time.Now()); err != nil {
		t.Fatalf("Apply cold: %v", err)
	}
	cold := e.publish(t, ev{bucket: "cold", name: events.ObjectCreatedPut, key: "right-after"})
	warm := e.publish(t, ev{bucket: "warm", name: events.ObjectCreatedPut, key: "steps-forward"})
	r.waitAccepted(t, []string{warm, cold}, 20*time.Second)
}

// TestWaitTargetFiltered: the wait ends at once without a consumer or
// without a deliverer reading it, succeeds once the consumer filters what
// is wanted, and otherwise lasts until ctx ends.
func TestWaitTargetFiltered(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	js := e.srv.JetStream()
	target := deliver.TargetConfig{Name: "w", Kind: deliver.KindWebhook, URL: "http://127.0.0.1:1/h"}
	want, err := deliver.BucketFilters("photos", []deliver.Subscription{subscribe("photos", "a", target.ARN().String(), []string{"s3:ObjectCreated:*"})})
	if err != nil || len(want) != 1 || want[0] != "sluice.events.photos.ObjectCreated.*" {
		t.Fatalf("BucketFilters = %q, %v", want, err)
	}
	check := func(name string, wantOK bool, wantErr error) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		ok, err := deliver.WaitTargetFiltered(wctx, js, "", target, want)
		if ok != wantOK || !errors.Is(err, wantErr) || (wantErr == nil && err != nil) {
			t.Errorf("%s: WaitTargetFiltered = %v, %v; want %v, %v", name, ok, err, wantOK, wantErr)
		}
	}
	check("no consumer", false, nil)
	if err := deliver.EnsureTargetConsumer(ctx, js, "", target); err != nil {
		t.Fatal(err)
	}
	check("nobody reading", false, nil)
	c, err := js.Consumer(ctx, bus.EventsStreamName, target.Durable())
	if err != nil {
		t.Fatal(err)
	}
	fetched := make(chan error, 1)
	go func() {
		b, err := c.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
		if err == nil {
			for range b.Messages() {
			}
			err = b.Error()
		}
		fetched <- err
	}()
	waitFor(t, func() error {
		info, err := c.Info(ctx)
		if err == nil && info.NumWaiting == 0 {
			err = fmt.Errorf("no pull request waiting")
		}
		return err
	})
	check("a reader, not filtering", false, context.DeadlineExceeded)
	if _, err := e.bus.EnsureConsumer(ctx, bus.ConsumerSpec{Stream: bus.EventsStreamName, Durable: target.Durable(),
		Description: "Sluice delivery to " + target.String(), FilterSubjects: want, DeliverPolicy: jetstream.DeliverNewPolicy}); err != nil {
		t.Fatal(err)
	}
	check("filtering", true, nil)
	<-fetched
}
