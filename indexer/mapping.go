package indexer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/indexer/store"
)

// ErrUntracked is returned by EventFromRecord for events the index does not
// track (TestEvent, restores, replication events without a status). The
// consumer acks them.
var ErrUntracked = errors.New("indexer: event not tracked by the index")

// EventFromRecord maps an S3 event record to the index event it implies:
//
//   - ObjectCreated:* → OpPut with the full state the record carries;
//   - ObjectRemoved:Delete, LifecycleExpiration:Delete → OpRemove;
//   - ObjectRemoved:DeleteMarkerCreated, LifecycleExpiration:DeleteMarkerCreated
//     → OpDeleteMarker;
//   - ObjectTagging:Put / Delete → OpUpdate of the tags only (S3 changes
//     nothing else with tagging);
//   - Replication:* → OpUpdate of the replication status (the record's, or
//     FAILED / PENDING / COMPLETED implied by the event name);
//   - LifecycleTransition → OpUpdate of the location (the record's, or the
//     transition's destination storage class).
//
// The version id "" is the null version. The event's source is the
// record's sluice.source, else its eventSource. It returns ErrUntracked for
// other events, and an error wrapping events.ErrInvalidRecord or
// store.ErrInvalidEvent for a record that cannot be indexed.
func EventFromRecord(rec events.Record) (store.Event, error) {
	key, err := rec.ObjectKey()
	if err != nil {
		return store.Event{}, fmt.Errorf("%w: %w", events.ErrInvalidRecord, err)
	}
	sd := rec.Sluice
	if sd == nil {
		sd = &events.SluiceData{}
	}
	e := store.Event{
		Bucket:    rec.Bucket(),
		Key:       key,
		VersionID: rec.S3.Object.VersionID,
		Sequencer: rec.S3.Object.Sequencer,
		Time:      rec.EventTime,
		Source:    sd.Source,
	}
	if e.Source == "" {
		e.Source = rec.EventSource
	}
	switch rec.EventName {
	case events.ObjectCreatedPut, events.ObjectCreatedPost, events.ObjectCreatedCopy, events.ObjectCreatedCompleteMultipartUpload:
		e.Op = store.OpPut
		e.Size, e.ETag = rec.S3.Object.Size, rec.S3.Object.ETag
		e.ContentType, e.Location = sd.ContentType, sd.Location
		e.UserMetadata, e.Tags, e.ReplicationStatus = lowerKeys(sd.UserMetadata), sd.Tags, sd.ReplicationStatus
	case events.ObjectRemovedDelete, events.LifecycleExpirationDelete:
		e.Op = store.OpRemove
	case events.ObjectRemovedDeleteMarkerCreated, events.LifecycleExpirationDeleteMarkerCreated:
		e.Op = store.OpDeleteMarker
	case events.ObjectTaggingPut:
		e.Op, e.Set, e.Tags = store.OpUpdate, store.SetTags, sd.Tags
	case events.ObjectTaggingDelete:
		e.Op, e.Set = store.OpUpdate, store.SetTags
	case events.ReplicationOperationFailedReplication, events.ReplicationOperationMissedThreshold,
		events.ReplicationOperationReplicatedAfterThreshold:
		status := sd.ReplicationStatus
		if status == "" {
			status = map[events.EventName]string{
				events.ReplicationOperationFailedReplication:        "FAILED",
				events.ReplicationOperationMissedThreshold:          "PENDING",
				events.ReplicationOperationReplicatedAfterThreshold: "COMPLETED",
			}[rec.EventName]
		}
		e.Op, e.Set, e.ReplicationStatus = store.OpUpdate, store.SetReplication, status
	case events.LifecycleTransition:
		loc := sd.Location
		if loc == "" && rec.LifecycleEventData != nil {
			loc = rec.LifecycleEventData.TransitionEventData.DestinationStorageClass
		}
		if loc == "" {
			return store.Event{}, fmt.Errorf("%w: transition without a destination", ErrUntracked)
		}
		e.Op, e.Set, e.Location = store.OpUpdate, store.SetLocation, loc
	default:
		return store.Event{}, fmt.Errorf("%w: %s", ErrUntracked, rec.EventName)
	}
	if err := e.Validate(); err != nil {
		return store.Event{}, err
	}
	return e, nil
}

func lowerKeys(m map[string]string) map[string]string {
	for k := range m {
		if k != strings.ToLower(k) {
			out := make(map[string]string, len(m))
			for k, v := range m {
				out[strings.ToLower(k)] = v
			}
			return out
		}
	}
	return m
}

// decode turns a delivery into an index event. It returns ErrUntracked
// for events the index ignores, and a bus.Permanent error for a message
// that cannot be decoded or indexed (redelivery cannot fix it).
func decode(m *bus.Message) (store.Event, events.Record, error) {
	ce, err := events.EventFromNATS(m.Headers, m.Data)
	if err != nil {
		return store.Event{}, events.Record{}, bus.Permanent(err)
	}
	rec, err := events.RecordFromCloudEvent(ce)
	if err != nil {
		return store.Event{}, events.Record{}, bus.Permanent(err)
	}
	e, err := EventFromRecord(rec)
	switch {
	case errors.Is(err, ErrUntracked):
		return store.Event{}, rec, err
	case err != nil:
		return store.Event{}, rec, bus.Permanent(err)
	}
	return e, rec, nil
}
