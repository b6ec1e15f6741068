package deliver

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/subject"
)

// NewTestEvent returns the s3:TestEvent CloudEvent Sluice sends to a
// target when a bucket's notification configuration starts naming it, as
// AWS does: type com.amazonaws.s3.TestEvent, a record with eventName
// "TestEvent", the bucket, eventTime now and no object. Targets with the
// records format receive AWS's own test message instead (see
// AWSTestEvent). It returns the errors of events.ToCloudEvent (an empty
// bucket or id).
func NewTestEvent(bucket, id string, now time.Time) (event.Event, error) {
	rec := events.Record{
		EventName: events.TestEvent,
		EventTime: now,
		AWSRegion: "",
		S3:        events.S3Entity{Bucket: events.BucketEntity{Name: bucket}},
		ResponseElements: events.ResponseElements{
			RequestID: id,
		},
	}
	return events.ToCloudEvent(id, rec)
}

// TestEventMsg builds the message that sends the test event to target t
// alone: it is published to t's private subject (bus.RedriveSubject of
// t's consumer, which only that consumer filters) with the bucket's
// TestEvent subject as its original subject, so no other consumer of the
// events stream sees it. id is the event id and the message's Nats-Msg-Id:
// re-publishing the same id is absorbed by the stream. It returns the
// errors of NewTestEvent and events.NewNATSMsg, or one wrapping
// subject.ErrEmptyBucket.
func TestEventMsg(t TargetConfig, bucket, id string, now time.Time) (*nats.Msg, error) {
	subj, err := subject.ForEvent(bucket, string(events.TestEvent))
	if err != nil {
		return nil, fmt.Errorf("deliver: test event: %w", err)
	}
	e, err := NewTestEvent(bucket, id, now)
	if err != nil {
		return nil, fmt.Errorf("deliver: test event: %w", err)
	}
	m, err := events.NewNATSMsg(bus.RedriveSubject(t.Durable()), e)
	if err != nil {
		return nil, fmt.Errorf("deliver: test event: %w", err)
	}
	m.Header.Set(bus.HeaderOriginalSubject, subj)
	return m, nil
}

// PublishTestEvent publishes TestEventMsg(t, bucket, id, now) with pub and
// returns once JetStream stored it; the target's consumer then delivers it
// like any event (retries, dead letters). It returns TestEventMsg's errors
// and pub's (wrapped).
func PublishTestEvent(ctx context.Context, pub bus.Publisher, t TargetConfig, bucket, id string, now time.Time) error {
	m, err := TestEventMsg(t, bucket, id, now)
	if err != nil {
		return err
	}
	if _, err := pub.Publish(ctx, m); err != nil {
		return fmt.Errorf("deliver: publish test event for %s: %w", t.Name, err)
	}
	return nil
}

// AWSTestEvent is the test message AWS sends to a new notification
// destination; targets with the records format receive it instead of the
// CloudEvent, so handlers written for S3 skip it as they already do
// (they test Event == "s3:TestEvent").
type AWSTestEvent struct {
	Service   string `json:"Service"`
	Event     string `json:"Event"`
	Time      string `json:"Time"`
	Bucket    string `json:"Bucket"`
	RequestID string `json:"RequestId"`
	HostID    string `json:"HostId"`
}

// awsTestEventBody returns the records-format body of a test event record.
func awsTestEventBody(rec events.Record, id string) ([]byte, error) {
	b, err := json.Marshal(AWSTestEvent{
		Service:   "Amazon S3",
		Event:     events.TestEvent.S3(),
		Time:      events.FormatTime(rec.EventTime),
		Bucket:    rec.Bucket(),
		RequestID: id,
		HostID:    rec.ResponseElements.HostID,
	})
	if err != nil {
		return nil, fmt.Errorf("deliver: encode test event: %w", err)
	}
	return b, nil
}
