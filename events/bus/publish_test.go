package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/natstest"
)

func streamMsgs(t testing.TB, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	s, err := js.Stream(testCtx(t), name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	return s.CachedInfo().State.Msgs
}

func TestPublishValidation(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	tests := []struct {
		name string
		msg  *nats.Msg
		want error
	}{
		{"nil message", nil, bus.ErrInvalidMessage},
		{"no subject", &nats.Msg{Data: []byte("x")}, bus.ErrInvalidMessage},
		{"no headers", &nats.Msg{Subject: "sluice.events.x", Data: []byte("x")}, bus.ErrMissingMsgID},
		{"empty msg id", newMsg("sluice.events.x", "", []byte("x")), bus.ErrMissingMsgID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ack, err := e.bus.Publish(ctx, tc.msg)
			if !errors.Is(err, tc.want) || ack != nil {
				t.Fatalf("Publish = %v, %v; want nil, %v", ack, err, tc.want)
			}
		})
	}
	if n := streamMsgs(t, e.srv.JetStream(), bus.EventsStreamName); n != 0 {
		t.Fatalf("stream holds %d messages after rejected publishes, want 0", n)
	}
}

func TestPublishDuplicateStoredOnce(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	first, err := e.bus.Publish(ctx, newMsg("sluice.events.b.put", "evt-1", []byte("body")))
	if err != nil {
		t.Fatalf("first publish: %v", err)
	}
	if first.Duplicate || first.Stream != bus.EventsStreamName {
		t.Fatalf("first PubAck = %+v, want a new message in %s", first, bus.EventsStreamName)
	}
	second, err := e.bus.Publish(ctx, newMsg("sluice.events.b.put", "evt-1", []byte("body")))
	if err != nil {
		t.Fatalf("second publish: %v", err)
	}
	if !second.Duplicate || second.Sequence != first.Sequence {
		t.Fatalf("second PubAck = %+v, want duplicate of seq %d", second, first.Sequence)
	}
	other, err := e.bus.Publish(ctx, newMsg("sluice.events.b.put", "evt-2", []byte("body")))
	if err != nil || other.Duplicate {
		t.Fatalf("publish of another id = %+v, %v; want a new message", other, err)
	}
	if n := streamMsgs(t, e.srv.JetStream(), bus.EventsStreamName); n != 2 {
		t.Fatalf("stream holds %d messages, want 2", n)
	}
}

// TestPublishRetriesThroughOutage publishes while the server is down; the
// publish completes once the server is back, and the message is stored once.
func TestPublishRetriesThroughOutage(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	nc, js := e.srv.Connect(t)
	b := newBus(t, js)
	sentBefore := nc.Stats().OutMsgs
	e.srv.Shutdown()

	type result struct {
		ack *jetstream.PubAck
		err error
	}
	done := make(chan result, 1)
	started := make(chan struct{})
	go func() {
		close(started)
		ack, err := b.Publish(ctx, newMsg("sluice.events.b.put", "during-outage", []byte("x")))
		done <- result{ack, err}
	}()
	<-started
	// Wait until the publish was attempted while the server was down.
	natstest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if nc.Stats().OutMsgs == sentBefore {
			return errors.New("no publish attempt yet")
		}
		return nil
	})
	select {
	case r := <-done:
		t.Fatalf("Publish returned while the server was down: %+v, %v", r.ack, r.err)
	default:
	}
	e.srv.Restart()
	var r result
	select {
	case r = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Publish did not return within 60s of the restart")
	}
	if r.err != nil {
		t.Fatalf("Publish across an outage: %v", r.err)
	}
	if n := streamMsgs(t, e.srv.JetStream(), bus.EventsStreamName); n != 1 {
		t.Fatalf("stream holds %d messages, want 1", n)
	}
}

func TestPublishGivesUpWhenContextEnds(t *testing.T) {
	e := newEnv(t)
	e.srv.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := e.bus.Publish(ctx, newMsg("sluice.events.b.put", "never", []byte("x")))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish with the server down = %v, want context.DeadlineExceeded", err)
	}
}
