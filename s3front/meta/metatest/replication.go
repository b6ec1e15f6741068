package metatest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/sluice-io/sluice/s3front/meta"
)

// t0 is a fixed time base for replication results (µs precision).
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func upd(bucket, key, version, dest, status, seq string, at time.Duration, errMsg string) meta.ReplicationUpdate {
	return meta.ReplicationUpdate{Bucket: bucket, Key: key, VersionID: version, Destination: dest,
		Result: meta.DestinationStatus{Status: status, Sequencer: seq, Time: t0.Add(at), Error: errMsg}}
}

// pendingObj is an object selected by replication rules to dests.
func pendingObj(bucket, key string, dests ...string) meta.Object {
	o := obj(bucket, key)
	o.ReplicationStatus = meta.ReplicationPending
	o.Replication = map[string]string{}
	for _, d := range dests {
		o.Replication[d] = meta.ReplicationPending
	}
	return o
}

func applyOne(t *testing.T, s meta.Store, u meta.ReplicationUpdate) meta.ReplicationOutcome {
	t.Helper()
	out := try(s.ApplyReplication(ctxT(t), []meta.ReplicationUpdate{u})).must(t)
	if len(out) != 1 {
		t.Fatalf("%d outcomes for one update", len(out))
	}
	return out[0]
}

// testReplicationApply walks one version through the apply rule: results in
// order, a duplicate, a stale result, FAILED, a retried FAILED that
// completes, a destination not in the map. None of it changes the version's
// sequencer, LastModified or outbox.
func testReplicationApply(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "rp", meta.VersioningEnabled)
	put := try(s.PutObject(ctx, pendingObj("rp", "k", "east", "west"), nil)).must(t)
	v := put.Object.VersionID
	seq := put.Object.Sequencer
	later := meta.FormatSequencer(1 << 40)
	before := try(s.OutboxStats(ctx)).must(t)

	steps := []struct {
		name    string
		u       meta.ReplicationUpdate
		want    meta.ReplicationOutcome
		status  string
		replMap map[string]string
	}{
		{"east completes", upd("rp", "k", v, "east", meta.ReplicationCompleted, seq, 1*time.Second, ""), meta.ReplicationApplied,
			meta.ReplicationPending, map[string]string{"east": "COMPLETED", "west": "PENDING"}},
		{"duplicate", upd("rp", "k", v, "east", meta.ReplicationCompleted, seq, 1*time.Second, ""), meta.ReplicationStale,
			meta.ReplicationPending, map[string]string{"east": "COMPLETED", "west": "PENDING"}},
		{"west fails", upd("rp", "k", v, "west", meta.ReplicationFailed, seq, 2*time.Second, "destination down"), meta.ReplicationApplied,
			meta.ReplicationFailed, map[string]string{"east": "COMPLETED", "west": "FAILED"}},
		{"older time of the same sequencer", upd("rp", "k", v, "west", meta.ReplicationCompleted, seq, 1500*time.Millisecond, ""), meta.ReplicationStale,
			meta.ReplicationFailed, map[string]string{"east": "COMPLETED", "west": "FAILED"}},
		{"retry completes", upd("rp", "k", v, "west", meta.ReplicationCompleted, seq, 3*time.Second, ""), meta.ReplicationApplied,
			meta.ReplicationCompleted, map[string]string{"east": "COMPLETED", "west": "COMPLETED"}},
		{"later sequencer fails", upd("rp", "k", v, "east", meta.ReplicationFailed, later, 1*time.Second, "tags"), meta.ReplicationApplied,
			meta.ReplicationFailed, map[string]string{"east": "FAILED", "west": "COMPLETED"}},
		{"older sequencer is stale even when newer in time", upd("rp", "k", v, "east", meta.ReplicationCompleted, seq, time.Hour, ""), meta.ReplicationStale,
			meta.ReplicationFailed, map[string]string{"east": "FAILED", "west": "COMPLETED"}},
		{"later sequencer completes", upd("rp", "k", v, "east", meta.ReplicationCompleted, later, 2*time.Second, ""), meta.ReplicationApplied,
			meta.ReplicationCompleted, map[string]string{"east": "COMPLETED", "west": "COMPLETED"}},
		{"unknown destination is added", upd("rp", "k", v, "gcs", meta.ReplicationFailed, seq, time.Second, "x"), meta.ReplicationApplied,
			meta.ReplicationFailed, map[string]string{"east": "COMPLETED", "west": "COMPLETED", "gcs": "FAILED"}},
	}
	for _, st := range steps {
		if got := applyOne(t, s, st.u); got != st.want {
			t.Fatalf("%s: outcome %q, want %q", st.name, got, st.want)
		}
		o := try(s.GetObject(ctx, "rp", "k", v)).must(t)
		if o.ReplicationStatus != st.status || !reflect.DeepEqual(o.Replication, st.replMap) {
			t.Fatalf("%s: status %q %v, want %q %v", st.name, o.ReplicationStatus, o.Replication, st.status, st.replMap)
		}
		if o.Sequencer != seq || !o.LastModified.Equal(put.Object.LastModified) || !o.IsLatest {
			t.Fatalf("%s: applying changed the version: %+v", st.name, o)
		}
	}
	info := try(s.GetReplication(ctx, "rp", "k", "")).must(t)
	want := meta.ReplicationInfo{Bucket: "rp", Key: "k", VersionID: v, Status: meta.ReplicationFailed,
		Destinations: map[string]meta.DestinationStatus{
			"east": {Status: meta.ReplicationCompleted, Sequencer: later, Time: t0.Add(2 * time.Second)},
			"west": {Status: meta.ReplicationCompleted, Sequencer: seq, Time: t0.Add(3 * time.Second)},
			"gcs":  {Status: meta.ReplicationFailed, Sequencer: seq, Time: t0.Add(time.Second), Error: "x"},
		}}
	if !reflect.DeepEqual(info, want) {
		t.Fatalf("GetReplication:\n got %+v\nwant %+v", info, want)
	}
	if after := try(s.OutboxStats(ctx)).must(t); after.Pending != before.Pending {
		t.Fatalf("applying wrote outbox rows: %d → %d", before.Pending, after.Pending)
	}
	// Listing sees the same status.
	l := try(s.ListObjects(ctx, meta.ListObjectsInput{Bucket: "rp", MaxKeys: 10})).must(t)
	if len(l.Objects) != 1 || l.Objects[0].ReplicationStatus != meta.ReplicationFailed || l.Objects[0].Sequencer != seq {
		t.Fatalf("ListObjects = %+v", l.Objects)
	}
	// Time keeps µs precision; a duplicate with ns noise below it is stale.
	noisy := upd("rp", "k", v, "gcs", meta.ReplicationFailed, seq, time.Second+300*time.Nanosecond, "x")
	if got := applyOne(t, s, noisy); got != meta.ReplicationStale {
		t.Fatalf("duplicate below µs precision: %q", got)
	}
}

// testReplicationMissing covers versions that are gone or never existed,
// invalid updates, null versions, REPLICAs and GetReplication's errors.
func testReplicationMissing(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "rm", meta.VersioningEnabled)
	mkBucket(t, s, "un", "")
	p := try(s.PutObject(ctx, pendingObj("rm", "k", "east"), nil)).must(t)
	try(s.PutObject(ctx, pendingObj("un", "k", "east"), nil)).must(t)
	rep := obj("rm", "replica")
	rep.ReplicationStatus = meta.ReplicationReplica
	try(s.PutObject(ctx, rep, nil)).must(t)
	plain := try(s.PutObject(ctx, obj("rm", "plain"), nil)).must(t)
	gone := try(s.PutObject(ctx, pendingObj("rm", "gone", "east"), nil)).must(t)
	try(s.DeleteObject(ctx, "rm", "gone", gone.Object.VersionID, nil)).must(t)

	ok := func(b, k, v string) meta.ReplicationUpdate {
		return upd(b, k, v, "east", meta.ReplicationCompleted, p.Object.Sequencer, time.Second, "")
	}
	bad := ok("rm", "k", p.Object.VersionID)
	bad.Result.Status = "DONE"
	noDest := ok("rm", "k", p.Object.VersionID)
	noDest.Destination = ""
	nul := ok("rm", "k\x00", p.Object.VersionID)
	rv := try(s.GetObject(ctx, "rm", "replica", "")).must(t)
	batch := []meta.ReplicationUpdate{
		ok("rm", "k", "0000000000000001ABCDEF01"),
		ok("nobucket", "k", p.Object.VersionID),
		ok("rm", "gone", gone.Object.VersionID),
		ok("rm", "k", ""), // the null version, which does not exist here
		bad, noDest, nul,
		ok("rm", "replica", rv.VersionID),
		ok("un", "k", ""),
		ok("rm", "plain", plain.Object.VersionID),
		ok("rm", "k", p.Object.VersionID),
	}
	want := []meta.ReplicationOutcome{
		meta.ReplicationNoVersion, meta.ReplicationNoVersion, meta.ReplicationNoVersion, meta.ReplicationNoVersion,
		meta.ReplicationInvalid, meta.ReplicationInvalid, meta.ReplicationInvalid,
		meta.ReplicationStale, meta.ReplicationApplied, meta.ReplicationApplied, meta.ReplicationApplied,
	}
	got := try(s.ApplyReplication(ctx, batch)).must(t)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("outcomes:\n got %v\nwant %v", got, want)
	}
	if batch[3].VersionID != "" {
		t.Fatal("ApplyReplication modified the caller's updates")
	}
	if o := try(s.GetObject(ctx, "rm", "replica", "")).must(t); o.ReplicationStatus != meta.ReplicationReplica || o.Replication != nil {
		t.Fatalf("replica changed: %q %v", o.ReplicationStatus, o.Replication)
	}
	if o := try(s.GetObject(ctx, "un", "k", "")).must(t); o.ReplicationStatus != meta.ReplicationCompleted {
		t.Fatalf("null version: %q", o.ReplicationStatus)
	}
	// A version no rule selected gets the destination a result names.
	if o := try(s.GetObject(ctx, "rm", "plain", "")).must(t); o.ReplicationStatus != meta.ReplicationCompleted ||
		!reflect.DeepEqual(o.Replication, map[string]string{"east": "COMPLETED"}) {
		t.Fatalf("plain: %q %v", o.ReplicationStatus, o.Replication)
	}
	if out := try(s.ApplyReplication(ctx, nil)).must(t); len(out) != 0 {
		t.Fatalf("empty batch: %v", out)
	}

	_, err := s.GetReplication(ctx, "nobucket", "k", "")
	wantErr(t, err, meta.ErrNoSuchBucket)
	_, err = s.GetReplication(ctx, "rm", "nokey", "")
	wantErr(t, err, meta.ErrNoSuchKey)
	_, err = s.GetReplication(ctx, "rm", "k", "0000000000000001ABCDEF01")
	wantErr(t, err, meta.ErrNoSuchVersion)
	_, err = s.GetReplication(ctx, "rm", "gone", "")
	wantErr(t, err, meta.ErrNoSuchKey)
	_, err = s.GetReplication(ctx, "rm", "k\x00", "")
	wantErr(t, err, meta.ErrNoSuchKey)
	info := try(s.GetReplication(ctx, "rm", "plain", plain.Object.VersionID)).must(t)
	if info.VersionID != plain.Object.VersionID || info.Status != meta.ReplicationCompleted || len(info.Destinations) != 1 {
		t.Fatalf("GetReplication by version = %+v", info)
	}
}

// testReplicationMarkers stores a delete marker's replication status from
// DeleteObject's option, shows it to the EventFunc, and applies results to it.
func testReplicationMarkers(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "dm", meta.VersioningEnabled)
	try(s.PutObject(ctx, pendingObj("dm", "k", "east"), nil)).must(t)
	var seen meta.Object
	fn := func(_ context.Context, ch meta.Change) ([]meta.OutboxMsg, error) {
		seen = ch.Object
		return nil, nil
	}
	d := try(s.DeleteObject(ctx, "dm", "k", "", fn, meta.WithMarkerReplication(meta.ReplicationPending, map[string]string{"east": meta.ReplicationPending}))).must(t)
	if !d.DeleteMarker || d.Object.ReplicationStatus != meta.ReplicationPending || seen.ReplicationStatus != meta.ReplicationPending ||
		!reflect.DeepEqual(seen.Replication, map[string]string{"east": "PENDING"}) {
		t.Fatalf("marker = %+v, event saw %+v", d.Object, seen)
	}
	info := try(s.GetReplication(ctx, "dm", "k", "")).must(t)
	if !info.IsDeleteMarker || info.VersionID != d.VersionID || info.Status != meta.ReplicationPending {
		t.Fatalf("GetReplication of the marker = %+v", info)
	}
	if got := applyOne(t, s, upd("dm", "k", d.VersionID, "east", meta.ReplicationCompleted, d.Object.Sequencer, time.Second, "")); got != meta.ReplicationApplied {
		t.Fatalf("apply to marker: %q", got)
	}
	if info := try(s.GetReplication(ctx, "dm", "k", d.VersionID)).must(t); info.Status != meta.ReplicationCompleted {
		t.Fatalf("marker after apply = %+v", info)
	}
	// Options are ignored when no marker is created; nil options are skipped.
	d2 := try(s.DeleteObject(ctx, "dm", "k", d.VersionID, nil, nil, meta.WithMarkerReplication(meta.ReplicationReplica, nil))).must(t)
	if d2.Kind != meta.ChangeDeleted {
		t.Fatalf("delete of the marker = %+v", d2)
	}
	d3 := try(s.DeleteObject(ctx, "dm", "k", "", nil, meta.WithMarkerReplication(meta.ReplicationReplica, nil))).must(t)
	if o := try(s.GetReplication(ctx, "dm", "k", d3.VersionID)).must(t); o.Status != meta.ReplicationReplica {
		t.Fatalf("replica marker = %+v", o)
	}
}

// testReplicationOrderIndependent applies the same results in different
// orders and batchings to two versions: both end in the same state.
func testReplicationOrderIndependent(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "oi", meta.VersioningEnabled)
	a := try(s.PutObject(ctx, pendingObj("oi", "a", "d1", "d2"), nil)).must(t).Object
	b := try(s.PutObject(ctx, pendingObj("oi", "b", "d1", "d2"), nil)).must(t).Object
	s1, s2 := meta.FormatSequencer(100), meta.FormatSequencer(200)
	results := func(key, v string) []meta.ReplicationUpdate {
		return []meta.ReplicationUpdate{
			upd("oi", key, v, "d1", meta.ReplicationFailed, s1, 1*time.Second, "boom"),
			upd("oi", key, v, "d1", meta.ReplicationCompleted, s1, 2*time.Second, ""),
			upd("oi", key, v, "d1", meta.ReplicationCompleted, s1, 2*time.Second, ""),
			upd("oi", key, v, "d2", meta.ReplicationCompleted, s1, 1*time.Second, ""),
			upd("oi", key, v, "d2", meta.ReplicationFailed, s2, 1*time.Second, "later failure"),
			upd("oi", key, v, "d2", meta.ReplicationFailed, s2, 1*time.Second, "other text"),
			upd("oi", key, v, "d3", meta.ReplicationCompleted, s2, 5*time.Second, ""),
		}
	}
	// a: one batch, in order.
	try(s.ApplyReplication(ctx, results("a", a.VersionID))).must(t)
	// b: reversed, shuffled, in batches of varying size, interleaved with a's duplicates.
	rb := results("b", b.VersionID)
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(rb), func(i, j int) { rb[i], rb[j] = rb[j], rb[i] })
	for i := 0; i < len(rb); {
		n := 1 + rng.IntN(3)
		end := min(i+n, len(rb))
		batch := append([]meta.ReplicationUpdate{}, rb[i:end]...)
		batch = append(batch, results("a", a.VersionID)[0])
		try(s.ApplyReplication(ctx, batch)).must(t)
		i = end
	}
	ia := try(s.GetReplication(ctx, "oi", "a", "")).must(t)
	ib := try(s.GetReplication(ctx, "oi", "b", "")).must(t)
	if ia.Status != meta.ReplicationFailed || !reflect.DeepEqual(ia.Destinations, ib.Destinations) || ia.Status != ib.Status {
		t.Fatalf("order changed the end state:\n a %+v\n b %+v", ia, ib)
	}
	if d := ia.Destinations["d2"]; d.Error != "other text" || d.Sequencer != s2 {
		t.Fatalf("d2 = %+v", d)
	}
}

// testReplicationConcurrent applies results while the same keys are
// overwritten: no error, no deadlock, and every applied result lands on the
// version it names.
func testReplicationConcurrent(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "cc", meta.VersioningEnabled)
	const keys, rounds = 8, 10
	var mu sync.Mutex
	var versions []meta.Object
	for i := range keys {
		versions = append(versions, try(s.PutObject(ctx, pendingObj("cc", fmt.Sprintf("k%d", i), "east"), nil)).must(t).Object)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 4 {
		wg.Go(func() {
			for r := range rounds {
				mu.Lock()
				vs := append([]meta.Object(nil), versions...)
				mu.Unlock()
				var batch []meta.ReplicationUpdate
				for i := len(vs) - 1; i >= 0; i -= 1 + (w+r)%3 {
					batch = append(batch, upd("cc", vs[i].Key, vs[i].VersionID, "east", meta.ReplicationCompleted, vs[i].Sequencer, time.Duration(r)*time.Second, ""))
				}
				if _, err := s.ApplyReplication(ctx, batch); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		for r := range rounds {
			o := try(s.PutObject(ctx, pendingObj("cc", fmt.Sprintf("k%d", r%keys), "east"), nil))
			if o.err != nil {
				errs <- o.err
				return
			}
			mu.Lock()
			versions = append(versions, o.v.Object)
			mu.Unlock()
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// A final batch completes every version.
	var batch []meta.ReplicationUpdate
	for _, v := range versions {
		batch = append(batch, upd("cc", v.Key, v.VersionID, "east", meta.ReplicationCompleted, meta.FormatSequencer(1<<50), time.Hour, ""))
	}
	for i, out := range try(s.ApplyReplication(ctx, batch)).must(t) {
		if out != meta.ReplicationApplied {
			t.Fatalf("update %d: %q", i, out)
		}
	}
	for _, v := range versions {
		if o := try(s.GetObject(ctx, "cc", v.Key, v.VersionID)).must(t); o.ReplicationStatus != meta.ReplicationCompleted || o.Sequencer != v.Sequencer {
			t.Fatalf("%s/%s: %q seq %s (was %s)", v.Key, v.VersionID, o.ReplicationStatus, o.Sequencer, v.Sequencer)
		}
	}
}
