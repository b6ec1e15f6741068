package deliver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sluice-io/sluice/events/bus"
)

// consumerSpec returns the spec of target t's durable consumer on stream
// for the given filter subjects. A target without subscriptions filters
// only its private subject, bus.RedriveSubject(t.Durable()), where test
// events and redriven dead letters arrive; every other spec filters it as
// well (the bus adds it). So from its creation on, a target's consumer
// keeps every test event published for it.
func consumerSpec(t TargetConfig, stream string, ackWait time.Duration, maxAck int, filters []string) bus.ConsumerSpec {
	spec := bus.ConsumerSpec{
		Stream:         stream,
		Durable:        t.Durable(),
		Description:    "Sluice delivery to " + t.String(),
		FilterSubjects: filters,
		AckWait:        ackWait,
		MaxAckPending:  maxAck,
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	}
	if t.Ordered {
		spec.MaxAckPending = 1
	}
	if len(filters) == 0 {
		spec.NoRedrive = true
		spec.FilterSubjects = []string{bus.RedriveSubject(t.Durable())}
	}
	return spec
}

// EnsureTargetConsumer makes sure target t's durable consumer
// ("deliver-<name>") exists on stream (bus.EventsStreamName when empty),
// so that what is published for t from now on is kept for it even when no
// deliverer runs yet: its test events (PublishTestEvent), and the events
// of buckets whose subscriptions name t, which the deliverer adds to the
// consumer's filters before it pulls anything.
//
// A missing consumer is created as a deliverer without subscriptions
// would create it (filtering only t's private subject, deliver policy new,
// default AckWait and MaxAckPending, which the deliverer adjusts when it
// starts). An existing consumer is left exactly as it is: the running
// deliverer owns its filters. Safe to call concurrently with a deliverer
// creating the same consumer.
//
// It returns an error wrapping ErrInvalidConfig for an invalid target, or
// the server's error wrapped (jetstream.ErrStreamNotFound when the stream
// does not exist yet).
func EnsureTargetConsumer(ctx context.Context, js jetstream.JetStream, stream string, t TargetConfig) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if stream == "" {
		stream = bus.EventsStreamName
	}
	t = t.WithDefaults()
	b, err := bus.New(js, bus.Options{})
	if err != nil {
		return err
	}
	// Create, never update: a deliverer that created the consumer in the
	// meantime has set filters this call must not take away.
	if _, err := b.CreateConsumer(ctx, consumerSpec(t, stream, bus.DefaultAckWait, bus.DefaultMaxAckPending, nil)); err != nil {
		return fmt.Errorf("deliver: target %s: %w", t.Name, err)
	}
	return nil
}

// BucketFilters returns the filter subjects a target's consumer needs for
// subs, the subscriptions of one bucket that name the target: exactly what
// the deliverer gives the consumer for them. It returns an error wrapping
// events.ErrUnknownEventName for a bad event pattern, or one of package
// subject's errors for an empty bucket.
func BucketFilters(bucket string, subs []Subscription) ([]string, error) {
	return bucketFilters(bucket, subs)
}

// WaitTargetFiltered waits until target t's consumer on stream
// (bus.EventsStreamName when empty) filters every subject of want (see
// BucketFilters), which a running deliverer does once it has seen the
// subscriptions, usually within milliseconds. Until then a deliverer that
// is reading the consumer can step over events of those subjects, so a
// caller that has just stored subscriptions waits here before it tells its
// client they are in effect.
//
// It reports true once the consumer filters want, and false without
// waiting when no deliverer reads the consumer (it does not exist, or has
// no pull request waiting and no delivery unacknowledged): then the
// deliverer that starts later applies the subscriptions before it reads,
// and nothing is stepped over. It polls until ctx ends and then returns
// ctx's error; it returns the server's error wrapped when the consumer
// cannot be looked up.
func WaitTargetFiltered(ctx context.Context, js jetstream.JetStream, stream string, t TargetConfig, want []string) (bool, error) {
	if stream == "" {
		stream = bus.EventsStreamName
	}
	wait := 2 * time.Millisecond
	for {
		c, err := js.Consumer(ctx, stream, t.Durable())
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("deliver: consumer %s: %w", t.Durable(), err)
		}
		info := c.CachedInfo()
		have := map[string]bool{info.Config.FilterSubject: true}
		for _, f := range info.Config.FilterSubjects {
			have[f] = true
		}
		missing := false
		for _, f := range want {
			if !have[f] {
				missing = true
				break
			}
		}
		if !missing {
			return true, nil
		}
		if info.NumWaiting == 0 && info.NumAckPending == 0 {
			return false, nil
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return false, fmt.Errorf("deliver: consumer %s does not filter the subscriptions yet: %w", t.Durable(), ctx.Err())
		case <-timer.C:
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}
