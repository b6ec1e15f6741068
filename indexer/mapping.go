package indexer

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/replication/status"
	"github.com/sluice-io/sluice/indexer/store"
)

// ErrUntracked is returned by EventFromRecord and EventFromStatus for
// events the index does not track (TestEvent, restores, Replication:*
// notifications, replicated deletions). The consumer acks them.
var ErrUntracked = errors.New("indexer: event not tracked by the index")

// EventFromRecord maps an S3 event record to the index event it implies:
//
//   - ObjectCreated:* → OpPut with the full state the record carries;
//   - ObjectRemoved:Delete, LifecycleExpiration:Delete → OpRemove;
//   - ObjectRemoved:DeleteMarkerCreated, LifecycleExpiration:DeleteMarkerCreated
//     → OpDeleteMarker;
//   - ObjectTagging:Put / Delete → OpUpdate of the tags only (S3 changes
//     nothing else with tagging);
//   - LifecycleTransition → OpUpdate of the location (the record's, or the
//     transition's destination storage class).
//
// The version id "" is the null version. The event's source is the
// record's sluice.source, else its eventSource. It returns ErrUntracked for
// other events, Replication:* included: they notify subscribers of failed
// and late replications, and every result they report also travels, with
// the successes they leave out, on the status stream (EventFromStatus),
// which is where the index takes replication status from; and an error wrapping events.ErrInvalidRecord or
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
		e.Replication = sd.Replication
	case events.ObjectRemovedDelete, events.LifecycleExpirationDelete:
		e.Op = store.OpRemove
	case events.ObjectRemovedDeleteMarkerCreated, events.LifecycleExpirationDeleteMarkerCreated:
		e.Op = store.OpDeleteMarker
	case events.ObjectTaggingPut:
		e.Op, e.Set, e.Tags = store.OpUpdate, store.SetTags, sd.Tags
	case events.ObjectTaggingDelete:
		e.Op, e.Set = store.OpUpdate, store.SetTags
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

// EventFromStatus maps a replication result of the status stream
// (SLUICE_STATUS, published by the replicator for every COMPLETED and FAILED
// copy) to the index event it implies: OpReplication of the version it
// names ("" is the null version) at its destination, ordered after the
// object event whose sequencer it carries, then by its time. A replicated
// deletion (Deleted) describes no object version: ErrUntracked. It returns
// an error wrapping store.ErrInvalidEvent for a result that cannot be
// indexed.
func EventFromStatus(st status.Event) (store.Event, error) {
	if st.Deleted {
		return store.Event{}, fmt.Errorf("%w: replicated deletion", ErrUntracked)
	}
	e := store.Event{
		Op:          store.OpReplication,
		Bucket:      st.Bucket,
		Key:         st.Key,
		VersionID:   st.VersionID,
		Sequencer:   st.Sequencer,
		Time:        st.Time,
		Replication: map[string]string{st.Destination: st.Status},
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

// decodeStatus turns a delivery of the status stream into an index event,
// with the same errors as decode.
func decodeStatus(m *bus.Message) (store.Event, time.Time, error) {
	st, err := status.Decode(m.Data)
	if err != nil {
		return store.Event{}, time.Time{}, bus.Permanent(err)
	}
	e, err := EventFromStatus(st)
	switch {
	case errors.Is(err, ErrUntracked):
		return store.Event{}, st.Time, err
	case err != nil:
		return store.Event{}, st.Time, bus.Permanent(err)
	}
	return e, st.Time, nil
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
