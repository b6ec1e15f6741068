package replicator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/replication/status"
	"github.com/sluice-io/sluice/events/subject"
)

// StatusEvent is one replication result (see package status).
type StatusEvent = status.Event

func msgID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// publishStatus publishes a StatusEvent.
func publishStatus(ctx context.Context, pub bus.Publisher, s StatusEvent) error {
	subj, err := status.Subject(s.Bucket)
	if err != nil {
		return err
	}
	body, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("replicator: encode status: %w", err)
	}
	m := &nats.Msg{Subject: subj, Header: nats.Header{}, Data: body}
	m.Header.Set(events.MsgIDHeader, "repl-"+msgID(s.Destination, s.Bucket, s.Key, s.Sequencer, s.VersionID, s.Status, s.Error))
	m.Header.Set("Content-Type", "application/json")
	if _, err := pub.Publish(ctx, m); err != nil {
		return fmt.Errorf("replicator: publish status: %w", err)
	}
	return nil
}

// publishReplicationEvent publishes an AWS Replication:* event for an
// object as a CloudEvent on the normal events subject. The record carries
// the object's key, version and sequencer; sluice.location is the
// destination and sluice.replicationStatus the outcome.
func publishReplicationEvent(ctx context.Context, pub bus.Publisher, name events.EventName, region string, s StatusEvent, now time.Time) error {
	rec := events.Record{
		AWSRegion: region,
		EventTime: now,
		EventName: name,
		S3: events.S3Entity{
			Bucket: events.BucketEntity{Name: s.Bucket},
			Object: events.ObjectEntity{VersionID: s.VersionID, Sequencer: s.Sequencer},
		},
		Sluice: &events.SluiceData{Location: s.Destination, ReplicationStatus: s.Status},
	}
	rec.SetObjectKey(s.Key)
	e, err := events.ToCloudEvent("repl-"+msgID(string(name), s.Destination, s.Bucket, s.Key, s.Sequencer, s.VersionID), rec)
	if err != nil {
		return fmt.Errorf("replicator: replication event: %w", err)
	}
	subj, err := subject.ForEvent(s.Bucket, string(name))
	if err != nil {
		return fmt.Errorf("replicator: replication event subject: %w", err)
	}
	m, err := events.NewNATSMsg(subj, e)
	if err != nil {
		return fmt.Errorf("replicator: replication event: %w", err)
	}
	if _, err := pub.Publish(ctx, m); err != nil {
		return fmt.Errorf("replicator: publish %s: %w", name, err)
	}
	return nil
}
