package bus_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is one test's embedded server with the standard streams.
type env struct {
	srv *natstest.Server
	bus *bus.Bus
}

func testLogger(t testing.TB) *zap.Logger {
	return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
}

// newEnv starts a server, creates the standard events and dead-letter
// streams and returns a Bus on the helper's connection.
func newEnv(t testing.TB) *env {
	t.Helper()
	srv := natstest.RunJetStream(t)
	b := newBus(t, srv.JetStream())
	ctx := testCtx(t)
	for _, spec := range []bus.StreamSpec{bus.EventsStreamSpec(), bus.DLQStreamSpec()} {
		if _, err := b.EnsureStream(ctx, spec); err != nil {
			t.Fatalf("EnsureStream %s: %v", spec.Name, err)
		}
	}
	return &env{srv: srv, bus: b}
}

func newBus(t testing.TB, js jetstream.JetStream) *bus.Bus {
	t.Helper()
	b, err := bus.New(js, bus.Options{Logger: testLogger(t), PublishAttemptTimeout: time.Second, PublishRetryWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("bus.New: %v", err)
	}
	return b
}

// testCtx is a context bounded by the test's life.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// ensureConsumer creates a durable on the events stream filtering subject.
func (e *env) ensureConsumer(t testing.TB, durable, filter string, ackWait time.Duration) {
	t.Helper()
	_, err := e.bus.EnsureConsumer(testCtx(t), bus.ConsumerSpec{
		Stream:         bus.EventsStreamName,
		Durable:        durable,
		FilterSubjects: []string{filter},
		AckWait:        ackWait,
	})
	if err != nil {
		t.Fatalf("EnsureConsumer %s: %v", durable, err)
	}
}

// consume starts a loop on b and stops it (waiting for Done) in t.Cleanup.
func consume(t testing.TB, b *bus.Bus, spec bus.ConsumeSpec) *bus.Loop {
	t.Helper()
	if spec.Stream == "" {
		spec.Stream = bus.EventsStreamName
	}
	l, err := b.Consume(testCtx(t), spec)
	if err != nil {
		t.Fatalf("Consume: %v", err)
	}
	t.Cleanup(func() { stopLoop(t, l) })
	return l
}

func stopLoop(t testing.TB, l *bus.Loop) {
	t.Helper()
	l.Stop()
	select {
	case <-l.Done():
	case <-time.After(30 * time.Second):
		t.Errorf("loop did not stop within 30s")
	}
}

func msgID(i int) string { return fmt.Sprintf("id-%06d", i) }

func newMsg(subject, id string, data []byte) *nats.Msg {
	m := nats.NewMsg(subject)
	m.Header.Set(jetstream.MsgIDHeader, id)
	m.Data = data
	return m
}

// publishN stores n messages on subject with ids msgID(0..n-1), pipelined.
func publishN(t testing.TB, js jetstream.JetStream, subject string, n, size int) {
	t.Helper()
	data := make([]byte, size)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	for start := 0; start < n; start += 1000 {
		for i := start; i < min(start+1000, n); i++ {
			if _, err := js.PublishMsgAsync(newMsg(subject, msgID(i), data)); err != nil {
				t.Fatalf("publish async: %v", err)
			}
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(30 * time.Second):
			t.Fatalf("async publishes not acked within 30s")
		}
	}
}

// tracker records deliveries and acks per message id and detects a message
// handled again after its ack was confirmed.
type tracker struct {
	mu         sync.Mutex
	handled    map[string]int
	acked      map[string]int
	outcomes   map[bus.Outcome]int
	afterAck   []string // ids handled after an ack
	ackedTwice []string // ids acked twice
}

func newTracker() *tracker {
	return &tracker{handled: map[string]int{}, acked: map[string]int{}, outcomes: map[bus.Outcome]int{}}
}

// trackID is a message's id: its original Nats-Msg-Id (a redriven message
// carries a fresh one).
func trackID(m *bus.Message) string {
	if id := m.Headers.Get(bus.HeaderOriginalMsgID); id != "" {
		return id
	}
	return m.Headers.Get(jetstream.MsgIDHeader)
}

// handle records a delivery; call it first thing in a handler.
func (tr *tracker) handle(m *bus.Message) {
	id := trackID(m)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.handled[id]++
	if tr.acked[id] > 0 {
		tr.afterAck = append(tr.afterAck, id)
	}
}

// Settled implements bus.Observer.
func (tr *tracker) Settled(s bus.Settlement) {
	id := trackID(s.Message)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.outcomes[s.Outcome]++
	if s.Outcome == bus.Acked {
		tr.acked[id]++
		if tr.acked[id] > 1 {
			tr.ackedTwice = append(tr.ackedTwice, id)
		}
	}
}

func (tr *tracker) ackedCount() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.acked)
}

func (tr *tracker) outcome(o bus.Outcome) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.outcomes[o]
}

func (tr *tracker) handledCount(id string) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.handled[id]
}

// checkExactlyOnceAcked fails unless ids msgID(0..n-1) were all acked, none
// twice, and none handled after its ack.
func (tr *tracker) checkExactlyOnceAcked(t testing.TB, n int) {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for i := range n {
		if tr.acked[msgID(i)] != 1 {
			t.Errorf("message %s acked %d times, want 1", msgID(i), tr.acked[msgID(i)])
			break
		}
	}
	if len(tr.acked) != n {
		t.Errorf("%d distinct messages acked, want %d", len(tr.acked), n)
	}
	if len(tr.afterAck) > 0 {
		t.Errorf("%d messages handled again after their ack, e.g. %s", len(tr.afterAck), tr.afterAck[0])
	}
	if len(tr.ackedTwice) > 0 {
		t.Errorf("%d messages acked twice, e.g. %s", len(tr.ackedTwice), tr.ackedTwice[0])
	}
}

// consumerIdle waits until the consumer has nothing pending or unacked.
func consumerIdle(t testing.TB, js jetstream.JetStream, stream, durable string) {
	t.Helper()
	ctx := testCtx(t)
	natstest.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		c, err := js.Consumer(ctx, stream, durable)
		if err != nil {
			return err
		}
		info := c.CachedInfo()
		if info.NumPending != 0 || info.NumAckPending != 0 {
			return fmt.Errorf("consumer %s: %d pending, %d unacked", durable, info.NumPending, info.NumAckPending)
		}
		return nil
	})
}
