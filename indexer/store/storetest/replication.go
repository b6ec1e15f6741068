package storetest

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/indexer/store"
)

// dest returns the replicator's result for one destination, as the
// indexer maps it: an update of that destination only, with the sequencer
// of the object event replicated and the time of the result.
func dest(bucket, key, vid string, seq, at int, destination, status string) store.Event {
	return store.Event{Op: store.OpReplication, Bucket: bucket, Key: key, VersionID: vid,
		Sequencer: Seq(seq), Time: T0.Add(time.Duration(at) * time.Second),
		Replication: map[string]string{destination: status}}
}

func testReplication(t *testing.T, open Opener) {
	ctx := context.Background()
	created := put("b", "k", "v1", 10)
	created.ReplicationStatus = "PENDING"
	created.Replication = map[string]string{"aws": "PENDING", "gcs": "PENDING"}
	steps := []struct {
		name    string
		ev      store.Event
		overall string
		want    map[string]string
	}{
		{"created", created, "PENDING", map[string]string{"aws": "PENDING", "gcs": "PENDING"}},
		{"aws done", dest("b", "k", "v1", 10, 20, "aws", "COMPLETED"), "PENDING", map[string]string{"aws": "COMPLETED", "gcs": "PENDING"}},
		{"gcs failed", dest("b", "k", "v1", 10, 21, "gcs", "FAILED"), "FAILED", map[string]string{"aws": "COMPLETED", "gcs": "FAILED"}},
		{"gcs retried", dest("b", "k", "v1", 10, 30, "gcs", "COMPLETED"), "COMPLETED", map[string]string{"aws": "COMPLETED", "gcs": "COMPLETED"}},
		{"stale aws result", dest("b", "k", "v1", 10, 15, "aws", "FAILED"), "COMPLETED", map[string]string{"aws": "COMPLETED", "gcs": "COMPLETED"}},
		{"new destination", dest("b", "k", "v1", 10, 31, "azure", "FAILED"), "FAILED",
			map[string]string{"aws": "COMPLETED", "gcs": "COMPLETED", "azure": "FAILED"}},
		{"result about older content", dest("b", "k", "v1", 9, 40, "old", "COMPLETED"), "FAILED",
			map[string]string{"aws": "COMPLETED", "gcs": "COMPLETED", "azure": "FAILED"}},
	}
	// In order, checking each step.
	s := openStore(t, open)
	for _, st := range steps {
		apply(t, s, st.ev)
		rs := Dump(t, s)
		if len(rs) != 1 || rs[0].ReplicationStatus != st.overall || !maps.Equal(rs[0].Replication, st.want) {
			t.Fatalf("%s: got %+v, want %s %v", st.name, rs, st.overall, st.want)
		}
	}
	final := Dump(t, s)
	// The queries see each destination.
	for q, n := range map[string]int{
		`replication-status.azure = "FAILED"`:                                       1,
		`replication-status.aws = "FAILED"`:                                         0,
		`replication-status.aws != "COMPLETED"`:                                     0,
		`replication-status.nowhere != "x"`:                                         0,
		`replication-status = "FAILED" AND replication-status.gcs = "COMPLETED"`:    1,
		`replication-status.gcs LIKE /^COMP/ AND replication-status.aws LIKE /ED$/`: 1,
	} {
		if got := searchAll(t, s, store.Scope{Where: mustParse(t, q)}, 10); len(got) != n {
			t.Errorf("%s: %d results, want %d", q, len(got), n)
		}
	}
	// Every arrival order ends in the same record.
	evs := make([]store.Event, len(steps))
	for i, st := range steps {
		evs[i] = st.ev
	}
	for round, perm := range permutations(len(evs), 12) {
		o := openStore(t, open)
		for _, i := range perm {
			apply(t, o, evs[i])
		}
		sameRecords(t, fmt.Sprintf("order %d %v", round, perm), Dump(t, o), final)
		_ = o.Close()
	}
	// A result that arrives before the version's creation is kept.
	o := openStore(t, open)
	apply(t, o, dest("b", "early", "v1", 5, 9, "aws", "COMPLETED"))
	early := put("b", "early", "v1", 5)
	early.Replication = map[string]string{"aws": "PENDING"}
	apply(t, o, early)
	if rs := Dump(t, o); len(rs) != 1 || rs[0].Replication["aws"] != "COMPLETED" || rs[0].ReplicationStatus != "COMPLETED" {
		t.Fatalf("result before creation: %+v", rs)
	}
	// A result follows the event it reports on even when the replicator's
	// clock is behind the one that timed the event.
	apply(t, o, put("b", "skew", "v1", 6), dest("b", "skew", "v1", 6, 1, "aws", "COMPLETED"))
	if rs := searchAll(t, o, store.Scope{Where: mustParse(t, `key = "skew"`)}, 10); len(rs) != 1 || rs[0].Replication["aws"] != "COMPLETED" {
		t.Fatalf("result timed before its event: %+v", rs)
	}
	// A re-created null version drops the results about its older
	// content, keeps a result about the new content that came first.
	apply(t, o, put("b", "null", "", 20), dest("b", "null", "", 20, 25, "aws", "COMPLETED"))
	apply(t, o, dest("b", "null", "", 30, 35, "gcs", "COMPLETED"))
	apply(t, o, put("b", "null", "", 30))
	rs := searchAll(t, o, store.Scope{Where: mustParse(t, `key = "null"`)}, 10)
	if len(rs) != 1 || !maps.Equal(rs[0].Replication, map[string]string{"gcs": "COMPLETED"}) {
		t.Fatalf("re-created null version: %+v", rs)
	}
	// The object's own status shows while no destination reported.
	own := put("b", "own", "v", 40)
	own.ReplicationStatus = "REPLICA"
	apply(t, o, own)
	if rs := searchAll(t, o, store.Scope{Where: mustParse(t, `replication-status = "REPLICA"`)}, 10); len(rs) != 1 {
		t.Fatalf("own status: %+v", rs)
	}
	if _, err := o.Aggregate(ctx, store.AggregateInput{By: store.GroupReplicationStatus}); err != nil {
		t.Fatal(err)
	}
}

// permutations returns up to n permutations of 0..k-1: the identity, the
// reverse, and rotations and swaps of them.
func permutations(k, n int) [][]int {
	var out [][]int
	id := make([]int, k)
	for i := range id {
		id[i] = i
	}
	for r := 0; r < k && len(out) < n; r++ {
		p := make([]int, k)
		q := make([]int, k)
		for i := range p {
			p[i] = id[(i+r)%k]
			q[i] = id[(k-1-i+r)%k]
		}
		out = append(out, p, q)
	}
	return out[:min(n, len(out))]
}

func testUpdateOnly(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openStore(t, open)
	apply(t, s, put("b", "live", "v", 1))
	up := store.Event{Op: store.OpUpdate, Set: store.SetTags, Bucket: "b", Key: "later", VersionID: "v", Sequencer: Seq(9),
		Time: at(9), Tags: map[string]string{"t": "new"}}
	apply(t, s, up, dest("b", "later", "v", 9, 10, "aws", "FAILED"))
	for _, tc := range []struct {
		sc   store.Scope
		want string
	}{
		{store.Scope{}, "b/live@v"},
		{store.Scope{Versions: true}, "b/live@v"},
		{store.Scope{Where: mustParse(t, `tags.t = "new"`), Versions: true}, ""},
		{store.Scope{Where: mustParse(t, `replication-status.aws = "FAILED"`), Versions: true}, ""},
	} {
		if got := strings.Join(keysOf(searchAll(t, s, tc.sc, 10)), ","); got != tc.want {
			t.Fatalf("in %s: %q, want %q (a version known only from updates is no result)", scopeName(tc.sc), got, tc.want)
		}
	}
	groups, err := s.Aggregate(ctx, store.AggregateInput{Scope: store.Scope{Versions: true}, By: store.GroupBucket})
	if err != nil || len(groups) != 1 || groups[0].Count != 1 {
		t.Fatalf("aggregate counts the update-only version: %v %v", groups, err)
	}
	apply(t, s, put("b", "later", "v", 8))
	rs := searchAll(t, s, store.Scope{Where: mustParse(t, `tags.t = "new" AND replication-status.aws = "FAILED"`)}, 10)
	if len(rs) != 1 || rs[0].Key != "later" || rs[0].ReplicationStatus != "FAILED" {
		t.Fatalf("after creation: %+v", rs)
	}
}

// after returns a time strictly after every store clock reading so far
// (µs resolution), without sleeping more than a few µs.
func after(t *testing.T) time.Time {
	t.Helper()
	c := time.Now()
	for !time.Now().After(c.Add(time.Microsecond)) {
	}
	return time.Now()
}

func testPurge(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openStore(t, open)
	start := time.Now().Add(-time.Second)
	orphan := store.Event{Op: store.OpUpdate, Set: store.SetTags, Bucket: "a", Key: "orphan", VersionID: "v", Sequencer: Seq(9),
		Time: at(9), Tags: map[string]string{"only": "orphan"}}
	apply(t, s,
		put("a", "gone", "v1", 1), put("a", "gone", "v2", 2),
		store.Event{Op: store.OpRemove, Bucket: "a", Key: "gone", VersionID: "v1", Sequencer: Seq(3), Time: at(3)},
		put("a", "null", "", 4),
		store.Event{Op: store.OpRemove, Bucket: "a", Key: "null", Sequencer: Seq(5), Time: at(5)},
		store.Event{Op: store.OpDeleteMarker, Bucket: "a", Key: "dm", VersionID: "d", Sequencer: Seq(6), Time: at(6)},
		put("b", "live", "v", 7), orphan)
	before := Dump(t, s)
	// Nothing is older than a time before the writes.
	if n, err := s.PurgeTombstones(ctx, start); err != nil || n != 0 {
		t.Fatalf("purge before the writes: %d %v", n, err)
	}
	cutoff := after(t)
	// The null version is created and removed again after the cutoff:
	// its tombstone is younger and stays.
	apply(t, s, put("a", "null", "", 10),
		store.Event{Op: store.OpRemove, Bucket: "a", Key: "null", Sequencer: Seq(11), Time: at(11)})
	n, err := s.PurgeTombstones(ctx, cutoff)
	if err != nil || n != 2 {
		t.Fatalf("purge: removed %d (want the tombstone of gone@v1 and the orphan), %v", n, err)
	}
	// Live versions and delete markers stay.
	sameRecords(t, "after purge", Dump(t, s), before)
	// The young tombstone still rejects a stale event.
	if st := apply(t, s, put("a", "null", "", 10)); st.Skipped != 1 {
		t.Fatalf("stale put after purge of older tombstones: %+v", st)
	}
	// The orphan's attributes went with it.
	if rs := searchAll(t, s, store.Scope{Versions: true, Where: mustParse(t, `tags.only = "orphan"`)}, 10); len(rs) != 0 {
		t.Fatalf("orphan attributes left: %v", keysOf(rs))
	}
	// A creation after the purge no longer sees the update (which is why
	// the retention must outlast any delay of an event).
	apply(t, s, put("a", "orphan", "v", 8))
	if rs := searchAll(t, s, store.Scope{Where: mustParse(t, `key = "orphan"`)}, 10); len(rs) != 1 || rs[0].Tags != nil {
		t.Fatalf("orphan re-created: %+v", rs)
	}
	// A second purge at the same cutoff finds nothing; a later one takes
	// the young tombstone.
	if n, err := s.PurgeTombstones(ctx, cutoff); err != nil || n != 0 {
		t.Fatalf("second purge: %d %v", n, err)
	}
	if n, err := s.PurgeTombstones(ctx, after(t)); err != nil || n != 1 {
		t.Fatalf("late purge: %d %v", n, err)
	}
	// Many tombstones: several purge transactions.
	var evs []store.Event
	for i := 0; i < 1200; i++ {
		k := fmt.Sprintf("many-%04d", i)
		evs = append(evs, put("c", k, "v", 100), store.Event{Op: store.OpRemove, Bucket: "c", Key: k, VersionID: "v", Sequencer: Seq(101), Time: at(101)})
	}
	apply(t, s, evs...)
	if n, err := s.PurgeTombstones(ctx, after(t)); err != nil || n != 1200 {
		t.Fatalf("purge many: %d %v", n, err)
	}
	// A cancelled purge reports the context's error.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	apply(t, s, put("d", "k", "v", 1), store.Event{Op: store.OpRemove, Bucket: "d", Key: "k", VersionID: "v", Sequencer: Seq(2), Time: at(2)})
	if _, err := s.PurgeTombstones(cctx, after(t)); err == nil {
		t.Fatal("purge with a cancelled context succeeded")
	}
}
