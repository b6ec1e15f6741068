package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Publisher is the role of anything that publishes to JetStream with an
// idempotency key and waits for the server's ack. *Bus implements it.
type Publisher interface {
	// Publish stores msg in the stream that captures msg.Subject and
	// returns the server's PubAck. See (*Bus).Publish.
	Publish(ctx context.Context, msg *nats.Msg) (*jetstream.PubAck, error)
}

var _ Publisher = (*Bus)(nil)

// Publish stores msg in the JetStream stream that captures its subject and
// returns the PubAck once the server has stored it; an error means the
// message may not be stored and the caller must keep it and try again.
//
// msg must carry a Nats-Msg-Id header (the idempotency key); without one
// Publish returns ErrMissingMsgID and sends nothing. A message whose id the
// stream already saw inside its duplicates window is not stored again:
// the returned PubAck has Duplicate set (this also happens when an earlier
// attempt of the same call reached the server but its ack was lost).
//
// When no stream answers (no responders: the server is restarting or the
// stream has no leader yet) or an attempt times out, Publish tries again
// every PublishRetryWait until ctx ends; it then returns ctx's error joined
// with the last attempt's error. Any other failure (a full stream with
// DiscardNew, a closed connection) is returned at once, wrapped. A subject
// that no stream captures also gets no responders, so it too is retried
// until ctx ends: give Publish a ctx with a deadline. Publish may set the
// Nats-Msg-Id header of msg again (to the same value); it does not
// otherwise change msg.
func (b *Bus) Publish(ctx context.Context, msg *nats.Msg) (*jetstream.PubAck, error) {
	if msg == nil || msg.Subject == "" {
		return nil, fmt.Errorf("%w: nil message or empty subject", ErrInvalidMessage)
	}
	id := msg.Header.Get(jetstream.MsgIDHeader)
	if id == "" {
		return nil, fmt.Errorf("%w: subject %s", ErrMissingMsgID, msg.Subject)
	}
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("bus: publish %s (msg id %s): %w", msg.Subject, id, err)
		}
		actx, cancel := context.WithTimeout(ctx, b.attemptTimeout)
		ack, err := b.js.PublishMsg(actx, msg, jetstream.WithMsgID(id), jetstream.WithRetryAttempts(0))
		cancel()
		if err == nil {
			return ack, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("bus: publish %s (msg id %s) after %d attempts: %w", msg.Subject, id, attempt, errors.Join(ctx.Err(), err))
		}
		if !retryablePublishError(err) {
			return nil, fmt.Errorf("bus: publish %s (msg id %s): %w", msg.Subject, id, err)
		}
		b.log.Debug("publish attempt failed, retrying",
			zap.String("subject", msg.Subject), zap.Int("attempt", attempt), zap.Error(err))
		t := time.NewTimer(b.retryWait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("bus: publish %s (msg id %s) after %d attempts: %w", msg.Subject, id, attempt, errors.Join(ctx.Err(), err))
		case <-t.C:
		}
	}
}

// retryablePublishError reports whether a publish attempt failed in a way
// that a later attempt can succeed: nobody answered, or the answer did not
// come in time (the per-attempt timeout; the caller's ctx is checked first).
func retryablePublishError(err error) bool {
	return errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, nats.ErrReconnectBufExceeded)
}
