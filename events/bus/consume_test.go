package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/natstest"
)

func waitAcked(t testing.TB, tr *tracker, n int) {
	t.Helper()
	natstest.CheckFor(t, 60*time.Second, 20*time.Millisecond, func() error {
		if got := tr.ackedCount(); got < n {
			return fmt.Errorf("%d of %d messages acked", got, n)
		}
		return nil
	})
}

func TestConsumeTransientErrorRedelivered(t *testing.T) {
	e := newEnv(t)
	e.ensureConsumer(t, "transient", "sluice.events.>", 0)
	publishN(t, e.srv.JetStream(), "sluice.events.b.put", 1, 8)

	tr := newTracker()
	var mu sync.Mutex
	var seen []uint64 // NumDelivered of each delivery
	consume(t, e.bus, bus.ConsumeSpec{
		Consumer: "transient",
		Observer: tr,
		Backoff:  bus.Backoff{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond, Jitter: 0.5},
		Handler: func(ctx context.Context, m *bus.Message) error {
			tr.handle(m)
			mu.Lock()
			seen = append(seen, m.Metadata.NumDelivered)
			mu.Unlock()
			if m.Metadata.NumDelivered < 3 {
				return errors.New("target unavailable")
			}
			return nil
		},
	})
	waitAcked(t, tr, 1)
	consumerIdle(t, e.srv.JetStream(), bus.EventsStreamName, "transient")
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 || seen[0] != 1 || seen[1] != 2 || seen[2] != 3 {
		t.Fatalf("deliveries = %v, want [1 2 3]", seen)
	}
	if got := tr.outcome(bus.Retried); got != 2 {
		t.Fatalf("%d retried outcomes, want 2", got)
	}
	tr.checkExactlyOnceAcked(t, 1)
}

func TestConsumeHandlerPanicIsRetried(t *testing.T) {
	e := newEnv(t)
	e.ensureConsumer(t, "panicky", "sluice.events.>", 0)
	publishN(t, e.srv.JetStream(), "sluice.events.b.put", 1, 8)
	tr := newTracker()
	consume(t, e.bus, bus.ConsumeSpec{
		Consumer: "panicky",
		Observer: tr,
		Backoff:  bus.Backoff{Initial: 10 * time.Millisecond, Max: 10 * time.Millisecond},
		Handler: func(ctx context.Context, m *bus.Message) error {
			tr.handle(m)
			if m.Metadata.NumDelivered == 1 {
				panic("boom")
			}
			return nil
		},
	})
	waitAcked(t, tr, 1)
	if got := tr.handledCount(msgID(0)); got != 2 {
		t.Fatalf("handled %d times, want 2 (one panic, one success)", got)
	}
	if got := tr.outcome(bus.Retried); got != 1 {
		t.Fatalf("%d retried outcomes, want 1", got)
	}
}

func TestConsumeMaxDeliverDeadLetters(t *testing.T) {
	e := newEnv(t)
	e.ensureConsumer(t, "exhaust", "sluice.events.>", 0)
	publishN(t, e.srv.JetStream(), "sluice.events.b.put", 1, 8)
	tr := newTracker()
	consume(t, e.bus, bus.ConsumeSpec{
		Consumer:   "exhaust",
		Observer:   tr,
		MaxDeliver: 3,
		Backoff:    bus.Backoff{Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond},
		Handler: func(ctx context.Context, m *bus.Message) error {
			tr.handle(m)
			return errors.New("still broken")
		},
	})
	dls := waitDeadLetters(t, e.bus, "exhaust", 1)
	consumerIdle(t, e.srv.JetStream(), bus.EventsStreamName, "exhaust")
	d := dls[0]
	if d.Deliveries != 3 || !strings.Contains(d.Reason, "still broken") || !strings.Contains(d.Reason, "3 deliveries") {
		t.Fatalf("dead letter = %+v, want 3 deliveries and the last error as reason", d)
	}
	if got := tr.handledCount(msgID(0)); got != 3 {
		t.Fatalf("handled %d times, want 3", got)
	}
	if got := tr.outcome(bus.DeadLettered); got != 1 {
		t.Fatalf("%d dead-lettered outcomes, want 1", got)
	}
}

func waitDeadLetters(t testing.TB, b *bus.Bus, consumer string, n int) []bus.DeadLetter {
	t.Helper()
	var dls []bus.DeadLetter
	natstest.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		var err error
		dls, err = b.ListDeadLetters(testCtx(t), consumer, 0)
		if err != nil {
			return err
		}
		if len(dls) != n {
			return fmt.Errorf("%d dead letters, want %d", len(dls), n)
		}
		return nil
	})
	return dls
}

// TestConsumePermanentDeadLetterRedrive: a permanent error dead-letters the
// message with its reason; Redrive brings it back to the failing consumer
// only, under its original subject; the dead letters end empty.
func TestConsumePermanentDeadLetterRedrive(t *testing.T) {
	e := newEnv(t)
	e.ensureConsumer(t, "picky", "sluice.events.>", 0)
	e.ensureConsumer(t, "bystander", "sluice.events.>", 0)
	ctx := testCtx(t)

	orig := newMsg("sluice.events.photos.put", "evt-42", []byte(`{"key":"cat.jpg"}`))
	orig.Header.Set("ce-type", "com.amazonaws.s3.ObjectCreated:Put")
	if _, err := e.bus.Publish(ctx, orig); err != nil {
		t.Fatal(err)
	}

	var fixed atomic.Bool
	tr := newTracker()
	var redriven atomic.Pointer[bus.Message]
	consume(t, e.bus, bus.ConsumeSpec{
		Consumer: "picky",
		Observer: tr,
		Handler: func(ctx context.Context, m *bus.Message) error {
			tr.handle(m)
			if !fixed.Load() {
				return bus.Permanent(fmt.Errorf("cannot parse record of %s", m.Subject))
			}
			c := *m
			redriven.Store(&c)
			return nil
		},
	})
	bystander := newTracker()
	consume(t, e.bus, bus.ConsumeSpec{
		Consumer: "bystander",
		Observer: bystander,
		Handler:  func(ctx context.Context, m *bus.Message) error { bystander.handle(m); return nil },
	})

	dls := waitDeadLetters(t, e.bus, "picky", 1)
	d := dls[0]
	checks := []struct {
		field     string
		got, want any
	}{
		{"reason", d.Reason, "permanent: cannot parse record of sluice.events.photos.put"},
		{"subject", d.Subject, "sluice.events.photos.put"},
		{"stream", d.Stream, bus.EventsStreamName},
		{"stream seq", d.StreamSeq, uint64(1)},
		{"consumer", d.Consumer, "picky"},
		{"deliveries", d.Deliveries, uint64(1)},
		{"ce-type header", d.Headers.Get("ce-type"), "com.amazonaws.s3.ObjectCreated:Put"},
		{"original msg id", d.Headers.Get(bus.HeaderOriginalMsgID), "evt-42"},
		{"body", string(d.Data), `{"key":"cat.jpg"}`},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("dead letter %s = %v, want %v", c.field, c.got, c.want)
		}
	}
	if d.Time.IsZero() || time.Since(d.Time) > time.Hour {
		t.Errorf("dead letter time = %v, want about now", d.Time)
	}
	consumerIdle(t, e.srv.JetStream(), bus.EventsStreamName, "picky")

	// Unknown ids are refused.
	if _, err := e.bus.Redrive(ctx, "picky", []uint64{d.Seq + 100}); !errors.Is(err, bus.ErrDeadLetterNotFound) {
		t.Fatalf("Redrive of a missing id = %v, want ErrDeadLetterNotFound", err)
	}
	if _, err := e.bus.Redrive(ctx, "bystander", []uint64{d.Seq}); !errors.Is(err, bus.ErrDeadLetterNotFound) {
		t.Fatalf("Redrive of another consumer's id = %v, want ErrDeadLetterNotFound", err)
	}

	fixed.Store(true)
	n, err := e.bus.Redrive(ctx, "picky", []uint64{d.Seq})
	if err != nil || n != 1 {
		t.Fatalf("Redrive = %d, %v; want 1, nil", n, err)
	}
	natstest.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		if redriven.Load() == nil {
			return errors.New("redriven message not handled yet")
		}
		return nil
	})
	consumerIdle(t, e.srv.JetStream(), bus.EventsStreamName, "picky")
	m := redriven.Load()
	if m.Subject != "sluice.events.photos.put" || !m.Redriven || m.RawSubject != bus.RedriveSubject("picky") {
		t.Fatalf("redriven message subject %q raw %q redriven %v, want the original subject", m.Subject, m.RawSubject, m.Redriven)
	}
	if string(m.Data) != `{"key":"cat.jpg"}` || m.Headers.Get("ce-type") != "com.amazonaws.s3.ObjectCreated:Put" {
		t.Fatalf("redriven message lost its body or headers: %q %v", m.Data, m.Headers)
	}
	if left, err := e.bus.ListDeadLetters(ctx, "picky", 0); err != nil || len(left) != 0 {
		t.Fatalf("dead letters after redrive = %v, %v; want none", left, err)
	}

	// The redrive went to the failing consumer only.
	consumerIdle(t, e.srv.JetStream(), bus.EventsStreamName, "bystander")
	c, err := e.srv.JetStream().Consumer(ctx, bus.EventsStreamName, "bystander")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.CachedInfo().Delivered.Consumer; got != 1 {
		t.Fatalf("bystander got %d deliveries, want 1 (the redrive is not for it)", got)
	}
}

func TestRedriveAll(t *testing.T) {
	e := newEnv(t)
	e.ensureConsumer(t, "batch", "sluice.events.>", 0)
	const n = 5
	publishN(t, e.srv.JetStream(), "sluice.events.b.put", n, 8)
	var fixed atomic.Bool
	tr := newTracker()
	consume(t, e.bus, bus.ConsumeSpec{
		Consumer:    "batch",
		Observer:    tr,
		Concurrency: 2,
		Handler: func(ctx context.Context, m *bus.Message) error {
			tr.handle(m)
			if !fixed.Load() {
				return bus.Permanent(errors.New("no"))
			}
			return nil
		},
	})
	waitDeadLetters(t, e.bus, "batch", n)
	if got, err := e.bus.ListDeadLetters(testCtx(t), "batch", 2); err != nil || len(got) != 2 {
		t.Fatalf("ListDeadLetters limit 2 = %d entries, %v; want 2", len(got), err)
	}
	fixed.Store(true)
	got, err := e.bus.RedriveAll(testCtx(t), "batch")
	if err != nil || got != n {
		t.Fatalf("RedriveAll = %d, %v; want %d", got, err, n)
	}
	waitAcked(t, tr, n)
	tr.checkExactlyOnceAcked(t, n)
	waitDeadLetters(t, e.bus, "batch", 0)
}

// TestConsumeTwoProcessesShareDurable: two loops on separate connections
// (like two replicas) split 10,000 messages; every message is acked exactly
// once and none is handled again after its ack.
func TestConsumeTwoProcessesShareDurable(t *testing.T) {
	e := newEnv(t)
	e.ensureConsumer(t, "shared", "sluice.events.>", 0)
	const n = 10000
	publishN(t, e.srv.JetStream(), "sluice.events.b.put", n, 16)

	tr := newTracker()
	var perLoop [2]atomic.Int64
	for i := range 2 {
		_, js := e.srv.Connect(t)
		b := newBus(t, js)
		consume(t, b, bus.ConsumeSpec{
			Consumer:    "shared",
			Observer:    tr,
			Concurrency: 8,
			Handler: func(ctx context.Context, m *bus.Message) error {
				tr.handle(m)
				perLoop[i].Add(1)
				return nil
			},
		})
	}
	waitAcked(t, tr, n)
	consumerIdle(t, e.srv.JetStream(), bus.EventsStreamName, "shared")
	tr.checkExactlyOnceAcked(t, n)
	if perLoop[0].Load() == 0 || perLoop[1].Load() == 0 {
		t.Errorf("work was not shared: loop 0 handled %d, loop 1 handled %d", perLoop[0].Load(), perLoop[1].Load())
	}
	t.Logf("loop 0 handled %d, loop 1 handled %d", perLoop[0].Load(), perLoop[1].Load())
}

// TestConsumeStopHandsOverToNextConsumer: consumer A stops mid-stream; the
// messages it held or was handling go back; B acks all of the rest; none
// is lost and none is acked twice.
func TestConsumeStopHandsOverToNextConsumer(t *testing.T) {
	e := newEnv(t)
	e.ensureConsumer(t, "handover", "sluice.events.>", 5*time.Second)
	const n, budgetA = 2000, 300
	publishN(t, e.srv.JetStream(), "sluice.events.b.put", n, 16)

	tr := newTracker()
	var startedA atomic.Int64
	trA := newTracker()
	a := consume(t, e.bus, bus.ConsumeSpec{
		Consumer:    "handover",
		Observer:    bus.ObserverFunc(func(s bus.Settlement) { tr.Settled(s); trA.Settled(s) }),
		Concurrency: 4,
		Prefetch:    16,
		Handler: func(ctx context.Context, m *bus.Message) error {
			tr.handle(m)
			if startedA.Add(1) > budgetA {
				// A is "busy" with everything after its budget until it is
				// stopped.
				<-ctx.Done()
				return ctx.Err()
			}
			return nil
		},
	})
	natstest.CheckFor(t, 30*time.Second, 10*time.Millisecond, func() error {
		if got := trA.ackedCount(); got < budgetA {
			return fmt.Errorf("A acked %d of %d", got, budgetA)
		}
		return nil
	})
	stopLoop(t, a)
	if a.Err() != nil {
		t.Fatalf("A ended with %v, want nil after Stop", a.Err())
	}
	ackedByA := trA.ackedCount()
	if ackedByA >= n {
		t.Fatalf("A acked all %d messages; the test did not stop it mid-stream", ackedByA)
	}
	if trA.outcome(bus.Returned) == 0 {
		t.Fatalf("A returned no messages on Stop; want the ones it was handling or held")
	}

	_, jsB := e.srv.Connect(t)
	consume(t, newBus(t, jsB), bus.ConsumeSpec{
		Consumer:    "handover",
		Observer:    tr,
		Concurrency: 4,
		Handler: func(ctx context.Context, m *bus.Message) error {
			tr.handle(m)
			return nil
		},
	})
	waitAcked(t, tr, n)
	consumerIdle(t, e.srv.JetStream(), bus.EventsStreamName, "handover")
	tr.checkExactlyOnceAcked(t, n)
	t.Logf("A acked %d and returned %d; B acked the rest", ackedByA, trA.outcome(bus.Returned))
}

// TestConsumeInProgressPreventsRedelivery: a handler that runs longer than
// AckWait is delivered once when heartbeats are on, and more than once
// (the control case) when they are off.
func TestConsumeInProgressPreventsRedelivery(t *testing.T) {
	tests := []struct {
		name           string
		heartbeatEvery time.Duration
		wantOnce       bool
	}{
		{"heartbeats", 0, true}, // default: AckWait/3
		{"no heartbeats", -1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.ensureConsumer(t, "slow", "sluice.events.>", time.Second)
			publishN(t, e.srv.JetStream(), "sluice.events.b.put", 1, 8)
			tr := newTracker()
			var deliveries atomic.Int64
			consume(t, e.bus, bus.ConsumeSpec{
				Consumer:       "slow",
				Observer:       tr,
				Concurrency:    2,
				HeartbeatEvery: tc.heartbeatEvery,
				Handler: func(ctx context.Context, m *bus.Message) error {
					tr.handle(m)
					if deliveries.Add(1) > 1 {
						return nil // a redelivery: finish at once
					}
					// The work itself takes 2.5 AckWaits.
					select {
					case <-time.After(2500 * time.Millisecond):
					case <-ctx.Done():
						return ctx.Err()
					}
					return nil
				},
			})
			natstest.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error {
				if tr.outcome(bus.Acked)+tr.outcome(bus.SettleFailed) < 1 || deliveries.Load() == 0 {
					return errors.New("slow handler not finished")
				}
				return nil
			})
			consumerIdle(t, e.srv.JetStream(), bus.EventsStreamName, "slow")
			got := deliveries.Load()
			if tc.wantOnce && got != 1 {
				t.Fatalf("delivered %d times with heartbeats, want 1", got)
			}
			if !tc.wantOnce && got < 2 {
				t.Fatalf("delivered %d times without heartbeats, want more than 1 (control case)", got)
			}
		})
	}
}

func TestConsumeContextCancelStops(t *testing.T) {
	e := newEnv(t)
	e.ensureConsumer(t, "cancel", "sluice.events.>", 0)
	publishN(t, e.srv.JetStream(), "sluice.events.b.put", 10, 8)
	tr := newTracker()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	handlerSawCancel := make(chan struct{}, 1)
	l, err := e.bus.Consume(ctx, bus.ConsumeSpec{
		Stream:      bus.EventsStreamName,
		Consumer:    "cancel",
		Observer:    tr,
		Concurrency: 2,
		Handler: func(hctx context.Context, m *bus.Message) error {
			tr.handle(m)
			if m.Headers.Get(jetstream.MsgIDHeader) == msgID(9) {
				<-hctx.Done() // blocks until the loop is cancelled
				handlerSawCancel <- struct{}{}
				return hctx.Err()
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitAcked(t, tr, 9)
	cancel()
	select {
	case <-l.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("loop did not stop within 30s of ctx cancel")
	}
	if l.Err() != nil {
		t.Fatalf("Err after ctx cancel = %v, want nil", l.Err())
	}
	select {
	case <-handlerSawCancel:
	default:
		t.Fatal("the running handler's ctx was not cancelled")
	}
	if tr.outcome(bus.Returned) != 1 {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		t.Fatalf("%d returned outcomes, want 1 (the interrupted message); handled %v acked %v", tr.outcomes[bus.Returned], tr.handled, tr.acked)
	}
	l.Stop() // after Done: no-op
	l.Drain()
}

func TestConsumeDrainFinishesHeldMessages(t *testing.T) {
	e := newEnv(t)
	e.ensureConsumer(t, "drain", "sluice.events.>", 0)
	const n = 50
	publishN(t, e.srv.JetStream(), "sluice.events.b.put", n, 8)
	tr := newTracker()
	release := make(chan struct{})
	l := consume(t, e.bus, bus.ConsumeSpec{
		Consumer:    "drain",
		Observer:    tr,
		Concurrency: 2,
		Prefetch:    4,
		Handler: func(ctx context.Context, m *bus.Message) error {
			tr.handle(m)
			<-release
			return ctx.Err() // nil unless the loop was stopped
		},
	})
	natstest.CheckFor(t, 30*time.Second, 10*time.Millisecond, func() error {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		if len(tr.handled) < 2 {
			return errors.New("handlers not started")
		}
		return nil
	})
	l.Drain()
	close(release)
	select {
	case <-l.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("drain did not finish within 30s")
	}
	acked := tr.ackedCount()
	if acked < 2 || acked > 2+4 {
		t.Fatalf("drain acked %d messages, want the 2 running plus at most the 4 held", acked)
	}
	if tr.outcome(bus.Returned) != 0 {
		t.Fatalf("drain returned %d messages, want 0", tr.outcome(bus.Returned))
	}
}

func TestConsumeRejectsUnsupportedConsumer(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	_, err := e.srv.JetStream().CreateOrUpdateConsumer(ctx, bus.EventsStreamName, jetstream.ConsumerConfig{
		Durable:       "legacy",
		AckPolicy:     jetstream.AckExplicitPolicy,
		MaxDeliver:    5, // the server would drop messages after 5 deliveries
		FilterSubject: "sluice.events.>",
	})
	if err != nil {
		t.Fatal(err)
	}
	handler := func(context.Context, *bus.Message) error { return nil }
	tests := []struct {
		name string
		spec bus.ConsumeSpec
		want error
	}{
		{"server max deliver", bus.ConsumeSpec{Stream: bus.EventsStreamName, Consumer: "legacy", Handler: handler}, bus.ErrConsumerConfig},
		{"missing consumer", bus.ConsumeSpec{Stream: bus.EventsStreamName, Consumer: "ghost", Handler: handler}, jetstream.ErrConsumerNotFound},
		{"nil handler", bus.ConsumeSpec{Stream: bus.EventsStreamName, Consumer: "legacy"}, bus.ErrInvalidSpec},
		{"bad name", bus.ConsumeSpec{Stream: bus.EventsStreamName, Consumer: "a.b", Handler: handler}, bus.ErrInvalidSpec},
		{"bad jitter", bus.ConsumeSpec{Stream: bus.EventsStreamName, Consumer: "legacy", Handler: handler,
			Backoff: bus.Backoff{Initial: time.Second, Max: time.Second, Jitter: 2}}, bus.ErrInvalidSpec},
		{"heartbeat over half the expiry", bus.ConsumeSpec{Stream: bus.EventsStreamName, Consumer: "legacy", Handler: handler,
			PullExpiry: 2 * time.Second, PullHeartbeat: 1500 * time.Millisecond}, bus.ErrInvalidSpec},
		{"negative heartbeat", bus.ConsumeSpec{Stream: bus.EventsStreamName, Consumer: "legacy", Handler: handler,
			PullHeartbeat: -time.Second}, bus.ErrInvalidSpec},
		{"heartbeat under 500ms", bus.ConsumeSpec{Stream: bus.EventsStreamName, Consumer: "legacy", Handler: handler,
			PullHeartbeat: 100 * time.Millisecond}, bus.ErrInvalidSpec},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := e.bus.Consume(ctx, tc.spec)
			if !errors.Is(err, tc.want) {
				if l != nil {
					stopLoop(t, l)
				}
				t.Fatalf("Consume = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestConsumeEndsWhenConsumerDeleted(t *testing.T) {
	e := newEnv(t)
	e.ensureConsumer(t, "doomed", "sluice.events.>", 0)
	l := consume(t, e.bus, bus.ConsumeSpec{
		Consumer:      "doomed",
		PullExpiry:    5 * time.Second,
		PullHeartbeat: 500 * time.Millisecond, // missed twice: the loop checks its consumer
		Handler:       func(context.Context, *bus.Message) error { return nil },
	})
	if err := e.srv.JetStream().DeleteConsumer(testCtx(t), bus.EventsStreamName, "doomed"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("loop still running 30s after its consumer was deleted")
	}
	if l.Err() == nil {
		t.Fatal("Err = nil after the consumer was deleted, want the reason")
	}
}

// TestConsumeSurvivesServerRestart: the loop keeps going across a server
// restart; every message ends up handled and acked (some twice: acks lost
// in the outage are redelivered, which at-least-once allows).
func TestConsumeSurvivesServerRestart(t *testing.T) {
	e := newEnv(t)
	e.ensureConsumer(t, "restart", "sluice.events.>", 2*time.Second)
	const n = 300
	publishN(t, e.srv.JetStream(), "sluice.events.b.put", n, 16)
	_, js := e.srv.Connect(t)
	tr := newTracker()
	restarted := make(chan struct{})
	var started atomic.Int64
	consume(t, newBus(t, js), bus.ConsumeSpec{
		Consumer:      "restart",
		Observer:      tr,
		Concurrency:   4,
		PullExpiry:    2 * time.Second,
		SettleTimeout: time.Second,
		Handler: func(ctx context.Context, m *bus.Message) error {
			tr.handle(m)
			if started.Add(1) > n/3 {
				// Hold the rest until the server has restarted, so the
				// outage lands mid-stream.
				select {
				case <-restarted:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		},
	})
	waitAcked(t, tr, n/3)
	e.srv.Restart()
	close(restarted)
	consumerIdle(t, e.srv.JetStream(), bus.EventsStreamName, "restart")
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for i := range n {
		if tr.handled[msgID(i)] == 0 {
			t.Fatalf("message %s never handled", msgID(i))
		}
	}
	if len(tr.acked) < n/3 {
		t.Fatalf("only %d messages acked", len(tr.acked))
	}
}

// TestConsumeLongPullExpiry: a pull expiry over a minute is accepted (the
// default heartbeat is capped at the 30s the jetstream package allows) and
// messages flow.
func TestConsumeLongPullExpiry(t *testing.T) {
	e := newEnv(t)
	e.ensureConsumer(t, "long", "sluice.events.>", 0)
	const n = 20
	publishN(t, e.srv.JetStream(), "sluice.events.b.put", n, 16)
	tr := newTracker()
	consume(t, e.bus, bus.ConsumeSpec{
		Consumer:   "long",
		PullExpiry: 2 * time.Minute,
		Observer:   tr,
		Handler:    func(_ context.Context, m *bus.Message) error { tr.handle(m); return nil },
	})
	natstest.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		if got := tr.ackedCount(); got != n {
			return fmt.Errorf("%d of %d acked", got, n)
		}
		return nil
	})
}
