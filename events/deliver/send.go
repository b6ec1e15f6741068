package deliver

import (
	"context"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sluice-io/sluice/events"
)

// delivery is one event about to be sent to a target.
type delivery struct {
	// event is the CloudEvent to send (its data is record, as JSON).
	event event.Event
	// record is the S3 record the event carries.
	record events.Record
	// attempt is the JetStream delivery number (1 for the first).
	attempt uint64
}

// outcome is the result of one attempt.
type outcome struct {
	// err is nil when the target accepted the event.
	err error
	// permanent marks a failure retrying cannot fix.
	permanent bool
	// retryAfter is the delay the target asked for (Retry-After), or 0.
	retryAfter time.Duration
}

// sender sends one delivery to a target. send honours ctx and never
// panics.
type sender interface {
	send(ctx context.Context, d delivery) outcome
}
