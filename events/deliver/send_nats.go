package deliver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/bus"
)

// streamLookupTTL is how long a nats target remembers which stream (if
// any) captures its subject.
const streamLookupTTL = 30 * time.Second

// natsSender re-publishes events to a NATS subject in CloudEvents binary
// mode: through JetStream (waiting for the PubAck, de-duplicated by event
// id) when a stream captures the subject, else as a core NATS publish
// followed by a flush.
type natsSender struct {
	t            TargetConfig
	js           jetstream.JetStream
	pub          bus.Publisher
	eventsStream string
	now          func() time.Time

	mu      sync.Mutex
	stream  string
	checked time.Time
}

func (s *natsSender) send(ctx context.Context, d delivery) outcome {
	ctx, cancel := context.WithTimeout(ctx, s.t.Timeout)
	defer cancel()
	msg, err := events.NewNATSMsg(s.t.Subject, d.event)
	if err != nil {
		return outcome{err: fmt.Errorf("%w: encode for %s: %w", ErrDelivery, s.t.Name, err), permanent: true}
	}
	stream, err := s.streamFor(ctx)
	if err != nil {
		return outcome{err: fmt.Errorf("%w: find the stream of %s: %w", ErrDelivery, s.t.Subject, err)}
	}
	if stream == s.eventsStream {
		// Validation keeps Sluice's subjects out, but a stream's subjects
		// can change: publishing into the events stream would loop.
		return outcome{err: fmt.Errorf("%w: subject %s is captured by the events stream %s", ErrDelivery, s.t.Subject, stream), permanent: true}
	}
	if stream != "" {
		if _, err := s.pub.Publish(ctx, msg); err != nil {
			return outcome{err: fmt.Errorf("%w: publish to %s (stream %s): %w", ErrDelivery, s.t.Subject, stream, err)}
		}
		return outcome{}
	}
	nc := s.js.Conn()
	if err := nc.PublishMsg(msg); err != nil {
		return outcome{err: fmt.Errorf("%w: publish to %s: %w", ErrDelivery, s.t.Subject, err)}
	}
	if err := nc.FlushWithContext(ctx); err != nil {
		return outcome{err: fmt.Errorf("%w: flush publish to %s: %w", ErrDelivery, s.t.Subject, err)}
	}
	return outcome{}
}

// streamFor returns the stream capturing the target's subject, or "" when
// none does; the answer is cached for streamLookupTTL.
func (s *natsSender) streamFor(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now := s.now(); !s.checked.IsZero() && now.Sub(s.checked) < streamLookupTTL && now.After(s.checked) {
		return s.stream, nil
	}
	name, err := s.js.StreamNameBySubject(ctx, s.t.Subject)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		name = ""
	case err != nil:
		return "", err
	}
	s.stream, s.checked = name, s.now()
	return name, nil
}
