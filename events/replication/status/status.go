// Package status is the wire format of replication results, which the
// replicator publishes and s3front consumes: subjects, the SLUICE_STATUS
// stream spec and the JSON Event. It imports only the events module, so it
// can move into events (e.g. events/replication/status) unchanged when
// s3front needs it without importing the replicator module.
package status

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/subject"
)

// Result values, as in x-amz-replication-status.
const (
	Completed = "COMPLETED"
	Failed    = "FAILED"
)

// Status stream and subjects: results travel back to s3front here.
const (
	// StreamName is the stream capturing Subjects.
	StreamName = "SLUICE_STATUS"
	// Subjects is the subject space of service results.
	Subjects = "sluice.status.>"
	// ReplicationPrefix starts the subject of replication results:
	// ReplicationPrefix + EncodeToken(bucket).
	ReplicationPrefix = "sluice.status.replication."
)

// StreamSpec returns the spec of SLUICE_STATUS: subjects
// sluice.status.>, limits retention, file storage, seven days, DiscardNew
// (a full stream refuses publishes, which the replicator retries, rather
// than dropping results).
func StreamSpec(replicas int) bus.StreamSpec {
	if replicas <= 0 {
		replicas = 1
	}
	return bus.StreamSpec{
		Name:        StreamName,
		Description: "Sluice service results (replication status) for s3front",
		Subjects:    []string{Subjects},
		MaxAge:      7 * 24 * time.Hour,
		Discard:     jetstream.DiscardNew,
		Duplicates:  bus.DefaultDuplicates,
		Replicas:    replicas,
	}
}

// Subject returns the subject of replication results for bucket:
// "sluice.status.replication.<bucket token>". s3front consumes
// "sluice.status.replication.>" (all buckets).
func Subject(bucket string) (string, error) {
	tok, err := subject.EncodeToken(bucket)
	if err != nil {
		return "", err
	}
	return ReplicationPrefix + tok, nil
}

// Event is one replication result, published as JSON on
// Subject(Bucket) with a Nats-Msg-Id derived from (destination,
// bucket, key, sequencer, status), so a retried publish is stored once.
// s3front applies it with the rule: for (bucket, key, destination), keep
// the result with the highest sequencer (events.CompareSequencers), and of
// equal sequencers the one with the later Time (a retried FAILED becomes
// COMPLETED); the object's x-amz-replication-status is FAILED if any
// destination failed, COMPLETED when all completed, PENDING otherwise. A
// result is delivered at least once: applying it twice must be harmless.
type Event struct {
	Bucket      string    `json:"bucket"`
	Key         string    `json:"key"`
	VersionID   string    `json:"versionId,omitempty"`
	Sequencer   string    `json:"sequencer,omitempty"`
	Destination string    `json:"destination"`
	Status      string    `json:"status"`
	Error       string    `json:"error,omitempty"`
	Time        time.Time `json:"time"`
	LagSeconds  float64   `json:"lagSeconds"`
	// Deleted is true when the result is a delete on the destination.
	Deleted bool `json:"deleted,omitempty"`
}

// ErrInvalid is returned by Decode for a malformed status event.
var ErrInvalid = errors.New("status: invalid replication status event")

// Decode parses an Event (the body of a message on
// sluice.status.replication.>). It never panics; it returns an error
// wrapping ErrInvalid for bad JSON or a missing bucket, key,
// destination or status.
func Decode(b []byte) (Event, error) {
	var s Event
	if err := json.Unmarshal(b, &s); err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if s.Bucket == "" || s.Key == "" || s.Destination == "" || (s.Status != Completed && s.Status != Failed) {
		return Event{}, fmt.Errorf("%w: missing field", ErrInvalid)
	}
	return s, nil
}
