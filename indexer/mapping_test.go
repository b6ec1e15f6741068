package indexer_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/indexer"
	"github.com/sluice-io/sluice/indexer/store"
)

func baseRecord(name events.EventName) events.Record {
	r := events.Record{
		EventVersion: "2.1", EventSource: "sluice:s3", AWSRegion: "us-east-1",
		EventTime: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), EventName: name,
		S3: events.S3Entity{Bucket: events.BucketEntity{Name: "photos"},
			Object: events.ObjectEntity{Size: 42, ETag: "abc", VersionID: "v1", Sequencer: "000000000000000A"}},
		Sluice: &events.SluiceData{Location: "aws", ContentType: "image/png",
			UserMetadata: map[string]string{"Color": "blue"}, Tags: map[string]string{"t": "1"}, ReplicationStatus: "PENDING",
			Replication: map[string]string{"aws": "PENDING", "gcs": "PENDING"}},
	}
	r.SetObjectKey("a b/c.png")
	return r
}

func TestEventFromRecord(t *testing.T) {
	for _, tc := range []struct {
		name   events.EventName
		mut    func(*events.Record)
		op     store.Op
		set    store.Fields
		check  func(*testing.T, store.Event)
		wantEr error
	}{
		{name: events.ObjectCreatedPut, op: store.OpPut, check: func(t *testing.T, e store.Event) {
			if e.Key != "a b/c.png" || e.Size != 42 || e.ETag != "abc" || e.Location != "aws" || e.ContentType != "image/png" ||
				e.UserMetadata["color"] != "blue" || e.Tags["t"] != "1" || e.ReplicationStatus != "PENDING" ||
				len(e.Replication) != 2 || e.Replication["gcs"] != "PENDING" ||
				e.Source != "sluice:s3" || e.VersionID != "v1" || e.Sequencer != "000000000000000A" {
				t.Fatalf("put: %+v", e)
			}
		}},
		{name: events.ObjectCreatedCopy, op: store.OpPut},
		{name: events.ObjectCreatedPost, op: store.OpPut},
		{name: events.ObjectCreatedCompleteMultipartUpload, op: store.OpPut},
		{name: events.ObjectCreatedPut, op: store.OpPut, mut: func(r *events.Record) { r.S3.Object.VersionID = ""; r.Sluice = nil },
			check: func(t *testing.T, e store.Event) {
				if e.VersionID != "" || e.UserMetadata != nil || e.Source != "sluice:s3" {
					t.Fatalf("null version without sluice data: %+v", e)
				}
			}},
		{name: events.ObjectCreatedPut, op: store.OpPut, mut: func(r *events.Record) { r.Sluice.Source = "ingest-aws" },
			check: func(t *testing.T, e store.Event) {
				if e.Source != "ingest-aws" {
					t.Fatalf("source %q", e.Source)
				}
			}},
		{name: events.ObjectRemovedDelete, op: store.OpRemove},
		{name: events.LifecycleExpirationDelete, op: store.OpRemove},
		{name: events.ObjectRemovedDeleteMarkerCreated, op: store.OpDeleteMarker},
		{name: events.LifecycleExpirationDeleteMarkerCreated, op: store.OpDeleteMarker},
		{name: events.ObjectTaggingPut, op: store.OpUpdate, set: store.SetTags, check: func(t *testing.T, e store.Event) {
			if e.Tags["t"] != "1" || e.UserMetadata != nil {
				t.Fatalf("tagging put: %+v", e)
			}
		}},
		{name: events.ObjectTaggingDelete, op: store.OpUpdate, set: store.SetTags, check: func(t *testing.T, e store.Event) {
			if e.Tags != nil {
				t.Fatalf("tagging delete keeps tags: %+v", e)
			}
		}},
		// Replication results come from the status stream.
		{name: events.ReplicationOperationFailedReplication, wantEr: indexer.ErrUntracked},
		{name: events.ReplicationOperationMissedThreshold, wantEr: indexer.ErrUntracked},
		{name: events.ReplicationOperationReplicatedAfterThreshold, wantEr: indexer.ErrUntracked},
		{name: events.LifecycleTransition, op: store.OpUpdate, set: store.SetLocation,
			mut: func(r *events.Record) {
				r.Sluice.Location = ""
				r.LifecycleEventData = &events.LifecycleEventData{TransitionEventData: events.TransitionEventData{DestinationStorageClass: "cold"}}
			},
			check: func(t *testing.T, e store.Event) {
				if e.Location != "cold" {
					t.Fatalf("location %q", e.Location)
				}
			}},
		{name: events.LifecycleTransition, mut: func(r *events.Record) { r.Sluice = nil }, wantEr: indexer.ErrUntracked},
		{name: events.ObjectRestoreCompleted, wantEr: indexer.ErrUntracked},
		{name: events.ReplicationOperationNotTracked, wantEr: indexer.ErrUntracked},
		{name: events.TestEvent, wantEr: indexer.ErrUntracked},
		{name: events.ObjectCreatedPut, mut: func(r *events.Record) { r.S3.Object.Key = "%zz" }, wantEr: events.ErrInvalidRecord},
		{name: events.ObjectCreatedPut, mut: func(r *events.Record) { r.SetObjectKey("a\x00b") }, wantEr: store.ErrInvalidEvent},
	} {
		t.Run(string(tc.name), func(t *testing.T) {
			rec := baseRecord(tc.name)
			if tc.mut != nil {
				tc.mut(&rec)
			}
			e, err := indexer.EventFromRecord(rec)
			if tc.wantEr != nil {
				if !errors.Is(err, tc.wantEr) {
					t.Fatalf("got %v, want %v", err, tc.wantEr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.Op != tc.op || (tc.op == store.OpUpdate && e.Set != tc.set) {
				t.Fatalf("op %v set %v, want %v %v", e.Op, e.Set, tc.op, tc.set)
			}
			if e.Bucket != "photos" || !e.Time.Equal(rec.EventTime) {
				t.Fatalf("event %+v", e)
			}
			if tc.check != nil {
				tc.check(t, e)
			}
		})
	}
}
