package indexer_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/natstest"
	"github.com/sluice-io/sluice/events/replication/status"
	"github.com/sluice-io/sluice/indexer"
	"github.com/sluice-io/sluice/indexer/store"
	"github.com/sluice-io/sluice/indexer/store/sqlite"
	"github.com/sluice-io/sluice/services/runtime"
)

func TestEventFromStatus(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	base := status.Event{Bucket: "b", Key: "k", VersionID: "v1", Sequencer: "000000000000000A", Destination: "aws",
		Status: status.Completed, Time: t0}
	for _, tc := range []struct {
		name string
		mut  func(*status.Event)
		want error
	}{
		{"completed", nil, nil},
		{"failed", func(s *status.Event) { s.Status = status.Failed }, nil},
		{"null version", func(s *status.Event) { s.VersionID = "" }, nil},
		{"replicated deletion", func(s *status.Event) { s.Deleted = true }, indexer.ErrUntracked},
		{"no time", func(s *status.Event) { s.Time = time.Time{} }, store.ErrInvalidEvent},
		{"bad sequencer", func(s *status.Event) { s.Sequencer = "xyz" }, store.ErrInvalidEvent},
		{"NUL in key", func(s *status.Event) { s.Key = "a\x00" }, store.ErrInvalidEvent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := base
			if tc.mut != nil {
				tc.mut(&st)
			}
			e, err := indexer.EventFromStatus(st)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.Op != store.OpReplication || e.Bucket != "b" || e.Key != "k" || e.VersionID != st.VersionID ||
				e.Sequencer != st.Sequencer || !e.Time.Equal(t0) || len(e.Replication) != 1 || e.Replication["aws"] != st.Status {
				t.Fatalf("event %+v", e)
			}
		})
	}
}

// FuzzStatusResult feeds arbitrary bodies of the status stream through the
// decoding the service applies: never a panic, and an accepted result is
// an event the store takes.
func FuzzStatusResult(f *testing.F) {
	for _, seed := range []string{
		`{"bucket":"b","key":"k","versionId":"v","sequencer":"0A","destination":"aws","status":"COMPLETED","time":"2026-01-01T00:00:00Z"}`,
		`{"bucket":"b","key":"k","destination":"aws","status":"FAILED","error":"x","time":"2026-01-01T00:00:00Z","deleted":true}`,
		`{"bucket":"b","key":"k\u0000","destination":"aws","status":"FAILED","time":"2026-01-01T00:00:00Z"}`,
		`{"bucket":"b","key":"k","destination":"aws","status":"FAILED","sequencer":"zz","time":"2026-01-01T00:00:00Z"}`,
		`{"bucket":`, `null`, `[]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		st, err := status.Decode(body)
		if err != nil {
			return
		}
		e, err := indexer.EventFromStatus(st)
		if err != nil {
			if !errors.Is(err, indexer.ErrUntracked) && !errors.Is(err, store.ErrInvalidEvent) {
				t.Fatalf("%q: %v", body, err)
			}
			return
		}
		if err := e.Validate(); err != nil || e.Op != store.OpReplication || len(e.Replication) != 1 {
			t.Fatalf("%q: event %+v (%v)", body, e, err)
		}
	})
}

// TestReplicationResultsIndexed sends object events and the replicator's
// results for them: each destination's status lands in the record, the
// overall status follows, Replication:* notifications and replicated
// deletions are ignored, and a malformed result is dead-lettered.
func TestReplicationResultsIndexed(t *testing.T) {
	e := newEnv(t)
	set, admin := e.settings(t)
	r := start(t, testConfig("indexer-results"), set)
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	put := events.Record{EventName: events.ObjectCreatedPut, EventSource: "sluice:s3", AWSRegion: "us-east-1", EventTime: t0,
		S3: events.S3Entity{Bucket: events.BucketEntity{Name: "pics"},
			Object: events.ObjectEntity{Size: 3, ETag: "e", VersionID: "v1", Sequencer: "0000000000000010"}},
		Sluice: &events.SluiceData{Location: "local", ReplicationStatus: "PENDING"}}
	put.SetObjectKey("a.jpg")
	result := func(dest, st string, after time.Duration) status.Event {
		return status.Event{Bucket: "pics", Key: "a.jpg", VersionID: "v1", Sequencer: "0000000000000010",
			Destination: dest, Status: st, Time: t0.Add(after)}
	}
	// A result may arrive before its object event: it is kept.
	e.publishResult(t, "r1", result("aws", status.Completed, time.Second))
	e.publish(t, "put", put)
	e.publishResult(t, "r2", result("gcs", status.Failed, time.Second))
	deleted := result("gcs", status.Completed, 3*time.Second)
	deleted.Deleted = true
	e.publishResult(t, "r3", deleted)
	// The notification of the failure is no state change.
	note := put
	note.EventName, note.Sluice = events.ReplicationOperationFailedReplication, &events.SluiceData{Location: "gcs", ReplicationStatus: "COMPLETED"}
	e.publish(t, "note", note)
	bad := &nats.Msg{Subject: "sluice.status.replication.pics", Header: nats.Header{events.MsgIDHeader: {"bad"}}, Data: []byte(`{"bucket":`)}
	if _, err := e.bus.Publish(context.Background(), bad); err != nil {
		t.Fatal(err)
	}
	search := func(q string) []store.Record {
		t.Helper()
		rec := get(admin, "GET", indexer.RouteSearch+"?q="+url.QueryEscape(q), "")
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", q, rec.Code, rec.Body)
		}
		return decodeJSON(t, rec.Body.String()).Results
	}
	natstest.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		rs := search(`replication-status.aws = "COMPLETED" AND replication-status.gcs = "FAILED"`)
		if len(rs) != 1 || rs[0].ReplicationStatus != "FAILED" || rs[0].Size != 3 {
			return fmt.Errorf("records %+v", rs)
		}
		if counterValue(t, set.Registry, "ignored") < 2 || counterValue(t, set.Registry, "invalid") < 1 {
			return errors.New("the deletion, the notification and the bad result are not counted yet")
		}
		return nil
	})
	// The retried copy completes: the overall status follows.
	e.publishResult(t, "r4", result("gcs", status.Completed, 5*time.Second))
	natstest.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		if rs := search(`replication-status = "COMPLETED"`); len(rs) != 1 || rs[0].Replication["gcs"] != "COMPLETED" {
			return fmt.Errorf("records %+v", rs)
		}
		return nil
	})
	natstest.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		dl, err := e.bus.ListDeadLetters(context.Background(), indexer.DefaultStatusDurable, 10)
		if err != nil {
			return err
		}
		if len(dl) != 1 {
			return fmt.Errorf("%d dead letters, want 1", len(dl))
		}
		return nil
	})
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
}

// fakeClock is a clock tests move forward.
type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// TestTombstoneCleanup runs the periodic cleanup with a clock the test
// moves: a tombstone older than the retention is purged (a stale event is
// then indexed again: the hazard the retention guards against), a younger
// one survives the cleanups and keeps rejecting stale events.
func TestTombstoneCleanup(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	set, _ := e.settings(t)
	clock := &fakeClock{}
	set.Clock = clock
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "i.db"), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cfg := testConfig("indexer-cleanup")
	cfg.CleanupInterval = time.Second
	start(t, cfg, set, indexer.WithStore(st))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := func(op store.Op, key string, seq int) store.Event {
		return store.Event{Op: op, Bucket: "b", Key: key, VersionID: "v", Sequencer: fmt.Sprintf("%016X", seq),
			Time: t0.Add(time.Duration(seq) * time.Second), Size: 1}
	}
	if _, err := st.Apply(ctx, []store.Event{ev(store.OpPut, "old", 1), ev(store.OpRemove, "old", 2)}); err != nil {
		t.Fatal(err)
	}
	runs := func() float64 {
		return metricValue(t, set.Registry, "sluice_indexer_cleanup_runs_total", "outcome", "ok")
	}
	// Past the retention, the next cleanup purges the tombstone.
	clock.advance(cfg.TombstoneRetention + time.Minute)
	if _, err := st.Apply(ctx, []store.Event{ev(store.OpPut, "young", 1), ev(store.OpRemove, "young", 2)}); err != nil {
		t.Fatal(err)
	}
	natstest.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		if n := metricValue(t, set.Registry, "sluice_indexer_tombstones_purged_total", "", ""); n != 1 {
			return fmt.Errorf("%v tombstones purged", n)
		}
		return nil
	})
	// Two more cleanups: the young tombstone stays.
	seen := runs()
	natstest.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		if runs() < seen+2 {
			return errors.New("waiting for two cleanups")
		}
		return nil
	})
	if stats, err := st.Apply(ctx, []store.Event{ev(store.OpPut, "young", 1)}); err != nil || stats.Skipped != 1 {
		t.Fatalf("stale event after a young tombstone: %+v %v", stats, err)
	}
	if n := metricValue(t, set.Registry, "sluice_indexer_tombstones_purged_total", "", ""); n != 1 {
		t.Fatalf("%v tombstones purged, want 1", n)
	}
	// The purged one no longer rejects a stale event.
	if stats, err := st.Apply(ctx, []store.Event{ev(store.OpPut, "old", 1)}); err != nil || stats.Applied != 1 {
		t.Fatalf("stale event after the purge: %+v %v", stats, err)
	}
}

var _ runtime.Clock = (*fakeClock)(nil)
