// Package storetest is the conformance suite every store.Store passes:
// records round-trip, latest-version tracking, stale and duplicate events in
// any order, every query operator and field against a reference evaluator
// (Match), typed fields, pagination, aggregation, concurrency.
//
// An implementation's test calls Run with a function opening a fresh, empty
// store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { ... })
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-io/sluice/indexer/query"
	"github.com/sluice-io/sluice/indexer/store"
)

// Opener opens a fresh, empty store; the store is closed by the suite (and
// may be closed again by the opener's cleanup).
type Opener func(t *testing.T) store.Store

// Run runs the whole suite.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"RecordRoundTrip", testRecordRoundTrip},
		{"LatestAndDeleteMarkers", testLatest},
		{"NullVersion", testNullVersion},
		{"StaleAndDuplicates", testStale},
		{"ShuffledOrders", testShuffled},
		{"ConcurrentApply", testConcurrent},
		{"Queries", testQueries},
		{"TypedFields", testTyped},
		{"Pagination", testPagination},
		{"Aggregate", testAggregate},
		{"ResetBucket", testReset},
		{"ReplicationPerDestination", testReplication},
		{"UpdateOnlyVersionsHidden", testUpdateOnly},
		{"PurgeTombstones", testPurge},
		{"InvalidEvents", testInvalid},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

func openStore(t *testing.T, open Opener) store.Store {
	t.Helper()
	s := open(t)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Seq formats a sequencer the way Sluice's s3front does.
func Seq(n int) string { return fmt.Sprintf("%016X", n) }

// T0 is the base time of the suite's events.
var T0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func at(n int) time.Time { return T0.Add(time.Duration(n) * time.Second) }

func put(bucket, key, vid string, n int) store.Event {
	return store.Event{Op: store.OpPut, Bucket: bucket, Key: key, VersionID: vid, Sequencer: Seq(n), Time: at(n),
		Size: int64(n), ETag: fmt.Sprintf("etag%d", n), ContentType: "text/plain", Location: "local", Source: "sluice:s3"}
}

func apply(t *testing.T, s store.Store, evs ...store.Event) store.ApplyStats {
	t.Helper()
	st, err := s.Apply(context.Background(), evs)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return st
}

// Dump returns every stored version (all buckets, delete markers included)
// in (bucket, key, version id) order, paging with a small limit.
func Dump(t *testing.T, s store.Store) []store.Record {
	t.Helper()
	return searchAll(t, s, store.Scope{Versions: true}, 7)
}

func searchAll(t *testing.T, s store.Store, sc store.Scope, limit int) []store.Record {
	t.Helper()
	var out []store.Record
	in := store.SearchInput{Scope: sc, Limit: limit}
	for i := 0; ; i++ {
		if i > 10000 {
			t.Fatal("pagination does not end")
		}
		res, err := s.Search(context.Background(), in)
		if err != nil {
			t.Fatalf("Search(%v): %v", sc.Where, err)
		}
		if len(res.Records) > limit {
			t.Fatalf("page of %d records, limit %d", len(res.Records), limit)
		}
		out = append(out, res.Records...)
		if res.Next == nil {
			return out
		}
		in.After = res.Next
	}
}

func keysOf(rs []store.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Bucket + "/" + r.Key + "@" + r.VersionID
	}
	return out
}

// sameRecords compares records ignoring nothing but map nil-versus-empty.
func sameRecords(t *testing.T, what string, got, want []store.Record) {
	t.Helper()
	norm := func(rs []store.Record) []store.Record {
		out := slices.Clone(rs)
		for i := range out {
			r := &out[i]
			for _, m := range []*map[string]string{&r.UserMetadata, &r.Tags, &r.Replication} {
				if len(*m) == 0 {
					*m = nil
				}
			}
			r.LastModified = r.LastModified.UTC()
		}
		return out
	}
	g, w := norm(got), norm(want)
	if len(g) != len(w) {
		t.Fatalf("%s: %d records, want %d\n got: %v\nwant: %v", what, len(g), len(w), keysOf(g), keysOf(w))
	}
	for i := range g {
		if !reflect.DeepEqual(g[i], w[i]) {
			t.Fatalf("%s: record %d\n got: %+v\nwant: %+v", what, i, g[i], w[i])
		}
	}
}

func testRecordRoundTrip(t *testing.T, open Opener) {
	s := openStore(t, open)
	e := store.Event{
		Op: store.OpPut, Bucket: "photos.eu", Key: "2024/é t\u00e9/\u65e5\u672c.jpg", VersionID: "v1",
		Sequencer: Seq(10), Time: at(10).Add(123 * time.Millisecond), Source: "sluice:s3",
		Size: 1 << 40, ETag: "d41d8cd98f00b204e9800998ecf8427e-3", ContentType: "image/jpeg", Location: "aws-east",
		UserMetadata:      map[string]string{"color": "blue", "year": "2021", "empty": ""},
		Tags:              map[string]string{"Team": "data", "a b": "c=d"},
		ReplicationStatus: "PENDING",
		Replication:       map[string]string{"gcs-eu": "PENDING", "azure": "COMPLETED"},
	}
	st := apply(t, s, e)
	if st.Applied != 1 || st.Skipped != 0 {
		t.Fatalf("stats %+v", st)
	}
	want := store.Record{
		Bucket: e.Bucket, Key: e.Key, VersionID: "v1", IsLatest: true, Size: e.Size, ETag: e.ETag,
		ContentType: e.ContentType, LastModified: e.Time, Location: e.Location, UserMetadata: maps.Clone(e.UserMetadata),
		Tags: e.Tags, ReplicationStatus: "PENDING", Replication: e.Replication, Source: "sluice:s3", Sequencer: Seq(10),
	}
	sameRecords(t, "dump", Dump(t, s), []store.Record{want})
	// The event's maps are not retained.
	e.UserMetadata["color"] = "red"
	sameRecords(t, "dump after caller mutation", Dump(t, s), []store.Record{want})
}

func testLatest(t *testing.T, open Opener) {
	s := openStore(t, open)
	b := "bkt"
	apply(t, s, put(b, "k", "v1", 1), put(b, "k", "v2", 2))
	latest := func(want string) {
		t.Helper()
		var got []string
		for _, r := range Dump(t, s) {
			if r.IsLatest {
				got = append(got, r.VersionID)
			}
		}
		if strings.Join(got, ",") != want {
			t.Fatalf("latest = %v, want %q", got, want)
		}
	}
	latest("v2")
	dm := store.Event{Op: store.OpDeleteMarker, Bucket: b, Key: "k", VersionID: "v3", Sequencer: Seq(3), Time: at(3)}
	apply(t, s, dm)
	latest("v3")
	if rs := searchAll(t, s, store.Scope{}, 10); len(rs) != 0 {
		t.Fatalf("current objects under a delete marker: %v", keysOf(rs))
	}
	all := searchAll(t, s, store.Scope{Versions: true}, 10)
	if len(all) != 3 || !all[2].IsDeleteMarker || all[2].Size != 0 || all[2].UserMetadata != nil {
		t.Fatalf("versions: %+v", all)
	}
	apply(t, s, store.Event{Op: store.OpRemove, Bucket: b, Key: "k", VersionID: "v3", Sequencer: Seq(4), Time: at(4)})
	latest("v2")
	apply(t, s, store.Event{Op: store.OpRemove, Bucket: b, Key: "k", VersionID: "v2", Sequencer: Seq(5), Time: at(5)})
	latest("v1")
	if rs := searchAll(t, s, store.Scope{}, 10); len(rs) != 1 || rs[0].VersionID != "v1" {
		t.Fatalf("current: %v", keysOf(rs))
	}
	// A version created later always becomes latest, whatever its id.
	apply(t, s, put(b, "k", "a-small-id", 6))
	latest("a-small-id")
}

func testNullVersion(t *testing.T, open Opener) {
	s := openStore(t, open)
	apply(t, s, put("b", "k", "", 1))
	apply(t, s, put("b", "k", "null", 2))
	rs := Dump(t, s)
	if len(rs) != 1 || rs[0].VersionID != "null" || rs[0].Sequencer != Seq(2) || rs[0].Size != 2 {
		t.Fatalf("null version: %+v", rs)
	}
	apply(t, s, store.Event{Op: store.OpRemove, Bucket: "b", Key: "k", Sequencer: Seq(3), Time: at(3)})
	if rs := Dump(t, s); len(rs) != 0 {
		t.Fatalf("after remove: %v", keysOf(rs))
	}
	apply(t, s, put("b", "k", "", 4))
	if rs := Dump(t, s); len(rs) != 1 || rs[0].Sequencer != Seq(4) || !rs[0].IsLatest {
		t.Fatalf("after re-put: %+v", rs)
	}
	// A suspended bucket's delete marker replaces the null version.
	apply(t, s, store.Event{Op: store.OpDeleteMarker, Bucket: "b", Key: "k", Sequencer: Seq(5), Time: at(5)})
	if rs := Dump(t, s); len(rs) != 1 || !rs[0].IsDeleteMarker || rs[0].VersionID != "null" {
		t.Fatalf("after delete marker: %+v", rs)
	}
}

func testStale(t *testing.T, open Opener) {
	s := openStore(t, open)
	// A removal before the creation leaves a tombstone.
	st := apply(t, s,
		store.Event{Op: store.OpRemove, Bucket: "b", Key: "gone", VersionID: "v", Sequencer: Seq(5), Time: at(5)},
		put("b", "gone", "v", 3))
	if st.Applied != 1 || st.Skipped != 1 {
		t.Fatalf("stats %+v", st)
	}
	apply(t, s, put("b", "gone", "v", 4))
	if rs := Dump(t, s); len(rs) != 0 {
		t.Fatalf("tombstoned version came back: %v", keysOf(rs))
	}
	// A stale put does not overwrite.
	apply(t, s, put("b", "k", "v", 5))
	st = apply(t, s, put("b", "k", "v", 3))
	if st.Skipped != 1 {
		t.Fatalf("stale put stats %+v", st)
	}
	// A duplicate changes nothing.
	st = apply(t, s, put("b", "k", "v", 5), put("b", "k", "v", 5))
	if st.Applied != 0 || st.Skipped != 2 {
		t.Fatalf("duplicate stats %+v", st)
	}
	if rs := Dump(t, s); len(rs) != 1 || rs[0].Sequencer != Seq(5) {
		t.Fatalf("after stale put: %+v", rs)
	}
	// An update that arrives before the creation: the record takes the
	// update's fields and, later, the creation's time.
	up := store.Event{Op: store.OpUpdate, Bucket: "b", Key: "u", VersionID: "v", Sequencer: Seq(9), Time: at(9),
		Set: store.SetTags, Tags: map[string]string{"t": "new"}}
	apply(t, s, up)
	created := put("b", "u", "v", 7)
	created.Tags = map[string]string{"t": "old"}
	created.UserMetadata = map[string]string{"m": "1"}
	apply(t, s, created)
	rs := searchAll(t, s, store.Scope{Where: mustParse(t, `key = "u"`)}, 10)
	if len(rs) != 1 || rs[0].Tags["t"] != "new" || !rs[0].LastModified.Equal(at(7)) || rs[0].Sequencer != Seq(9) {
		t.Fatalf("update before creation: %+v", rs)
	}
	// An update after a removal does not resurrect.
	apply(t, s, store.Event{Op: store.OpUpdate, Bucket: "b", Key: "gone", VersionID: "v", Sequencer: Seq(20), Time: at(20),
		Set: store.SetTags, Tags: map[string]string{"x": "y"}})
	if rs := searchAll(t, s, store.Scope{Where: mustParse(t, `key = "gone"`), Versions: true}, 10); len(rs) != 0 {
		t.Fatalf("update resurrected: %+v", rs)
	}
	// Without sequencers (a listing, a foreign feed), event time orders.
	old, newer := put("b", "noseq", "v", 30), put("b", "noseq", "v", 31)
	old.Sequencer, newer.Sequencer = "", ""
	apply(t, s, newer, old)
	if rs := searchAll(t, s, store.Scope{Where: mustParse(t, `key = "noseq"`)}, 10); len(rs) != 1 || rs[0].Size != 31 {
		t.Fatalf("time order without sequencers: %+v", rs)
	}
	// Sequencers of different widths compare by value.
	w1, w2 := put("b", "wide", "v", 40), put("b", "wide", "v", 41)
	w1.Sequencer, w2.Sequencer = "0FF", "100"
	apply(t, s, w2, w1)
	if rs := searchAll(t, s, store.Scope{Where: mustParse(t, `key = "wide"`)}, 10); len(rs) != 1 || rs[0].Size != 41 {
		t.Fatalf("width-independent order: %+v", rs)
	}
}

func mustParse(t *testing.T, q string) query.Expr {
	t.Helper()
	e, err := query.ParseCatalog(q)
	if err != nil {
		t.Fatalf("parse %q: %v", q, err)
	}
	return e
}

// History generates a random, valid event history over a few keys: puts,
// updates, delete markers and removals, with increasing sequencers.
func History(rng *rand.Rand, n int) []store.Event {
	type ver struct {
		id   string
		live bool
		dm   bool
	}
	keys := []string{"a", "b/c", "d e", "ü"}
	vers := map[string][]*ver{}
	var out []store.Event
	for i := 1; len(out) < n; i++ {
		b := []string{"b1", "b2"}[rng.IntN(2)]
		k := keys[rng.IntN(len(keys))]
		kk := b + "/" + k
		var live, content []*ver
		for _, v := range vers[kk] {
			if v.live {
				live = append(live, v)
				if !v.dm {
					content = append(content, v)
				}
			}
		}
		e := store.Event{Bucket: b, Key: k, Sequencer: Seq(i), Time: at(i), Source: "sluice:s3"}
		switch r := rng.IntN(10); {
		case r < 4 || len(live) == 0:
			e.Op = store.OpPut
			if rng.IntN(3) == 0 {
				e.VersionID = "null"
			} else {
				e.VersionID = fmt.Sprintf("v%04d", i)
			}
			e.Size, e.ETag = int64(rng.IntN(1000)), fmt.Sprintf("e%d", i)
			e.ContentType = []string{"text/plain", "image/png"}[rng.IntN(2)]
			e.Location = []string{"local", "aws"}[rng.IntN(2)]
			e.UserMetadata = map[string]string{"n": fmt.Sprint(i)}
			if rng.IntN(2) == 0 {
				e.Tags = map[string]string{"t": fmt.Sprint(rng.IntN(5))}
			}
		case r < 6 && len(content) > 0:
			v := content[rng.IntN(len(content))]
			e.Op, e.VersionID = store.OpUpdate, v.id
			if rng.IntN(2) == 0 {
				e.Set = store.SetTags | store.SetReplication
				e.Tags = map[string]string{"t": fmt.Sprint(i)}
				e.ReplicationStatus = []string{"PENDING", "COMPLETED"}[rng.IntN(2)]
				e.Replication = map[string]string{"dst": e.ReplicationStatus}
			} else {
				// One destination's result, as the replicator reports it.
				e.Op = store.OpReplication
				e.Replication = map[string]string{[]string{"dst", "aws"}[rng.IntN(2)]: []string{"COMPLETED", "FAILED"}[rng.IntN(2)]}
			}
		case r < 8 && r >= 6:
			e.Op = store.OpDeleteMarker
			e.VersionID = fmt.Sprintf("dm%04d", i)
		default:
			v := live[rng.IntN(len(live))]
			e.Op, e.VersionID = store.OpRemove, v.id
		}
		vid := e.VersionID
		var v *ver
		for _, x := range vers[kk] {
			if x.id == vid {
				v = x
			}
		}
		if v == nil {
			v = &ver{id: vid}
			vers[kk] = append(vers[kk], v)
		}
		v.live = e.Op != store.OpRemove
		if e.Op == store.OpPut || e.Op == store.OpDeleteMarker {
			v.dm = e.Op == store.OpDeleteMarker
		}
		out = append(out, e)
	}
	return out
}

// Model applies a history in order with the plainest semantics and returns
// the records a store must hold afterwards, in dump order.
func Model(history []store.Event) []store.Record {
	type state struct {
		rec        store.Record
		createdSeq string
		base       string // the object's own replication status
	}
	m := map[[3]string]*state{}
	for _, e := range history {
		vid := e.VersionID
		if vid == "" {
			vid = store.NullVersion
		}
		k := [3]string{e.Bucket, e.Key, vid}
		switch e.Op {
		case store.OpPut, store.OpDeleteMarker:
			r := store.Record{Bucket: e.Bucket, Key: e.Key, VersionID: vid, LastModified: e.Time, Source: e.Source, Sequencer: e.Sequencer}
			if e.Op == store.OpDeleteMarker {
				r.IsDeleteMarker = true
			} else {
				r.Size, r.ETag, r.ContentType, r.Location = e.Size, e.ETag, e.ContentType, e.Location
				r.UserMetadata, r.Tags = maps.Clone(e.UserMetadata), maps.Clone(e.Tags)
				r.Replication = maps.Clone(e.Replication)
			}
			m[k] = &state{rec: r, createdSeq: e.Sequencer, base: e.ReplicationStatus}
			if e.Op == store.OpDeleteMarker {
				m[k].base = ""
			}
		case store.OpUpdate, store.OpReplication:
			st := m[k]
			if st == nil {
				continue
			}
			if e.Op == store.OpReplication {
				e.Set = store.SetReplication
			}
			if e.Set&store.SetTags != 0 {
				st.rec.Tags = maps.Clone(e.Tags)
			}
			if e.Set&store.SetMetadata != 0 {
				st.rec.UserMetadata = maps.Clone(e.UserMetadata)
			}
			if e.Set&store.SetReplication != 0 {
				if e.ReplicationStatus != "" {
					st.base = e.ReplicationStatus
				}
				for d, v := range e.Replication {
					if st.rec.Replication == nil {
						st.rec.Replication = map[string]string{}
					}
					st.rec.Replication[d] = v
				}
			}
			if e.Set&store.SetLocation != 0 {
				st.rec.Location = e.Location
			}
			if e.Set&store.SetContentType != 0 {
				st.rec.ContentType = e.ContentType
			}
			if e.Set&store.SetSize != 0 {
				st.rec.Size, st.rec.ETag = e.Size, e.ETag
			}
			st.rec.Sequencer = e.Sequencer
		case store.OpRemove:
			delete(m, k)
		}
	}
	best := map[[2]string]*state{}
	for k, st := range m {
		bk := [2]string{k[0], k[1]}
		if b := best[bk]; b == nil || st.createdSeq > b.createdSeq {
			best[bk] = st
		}
	}
	var out []store.Record
	for _, st := range m {
		r := st.rec
		r.ReplicationStatus = store.ReplicationOverall(st.base, r.Replication)
		r.IsLatest = best[[2]string{r.Bucket, r.Key}] == st
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b store.Record) int {
		return strings.Compare(a.Bucket+"\x00"+a.Key+"\x00"+a.VersionID, b.Bucket+"\x00"+b.Key+"\x00"+b.VersionID)
	})
	return out
}

// shuffledBatches returns the history shuffled, with some events
// duplicated, cut into random batches.
func shuffledBatches(rng *rand.Rand, h []store.Event) [][]store.Event {
	evs := slices.Clone(h)
	for i := 0; i < len(h)/4; i++ {
		evs = append(evs, h[rng.IntN(len(h))])
	}
	rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	var out [][]store.Event
	for len(evs) > 0 {
		n := 1 + rng.IntN(min(len(evs), 40))
		out = append(out, evs[:n])
		evs = evs[n:]
	}
	return out
}

func testShuffled(t *testing.T, open Opener) {
	rng := rand.New(rand.NewPCG(1, 2))
	history := History(rng, 300)
	want := Model(history)
	inOrder := openStore(t, open)
	apply(t, inOrder, history...)
	sameRecords(t, "in order, one batch", Dump(t, inOrder), want)
	for round := 0; round < 4; round++ {
		s := openStore(t, open)
		for _, b := range shuffledBatches(rng, history) {
			apply(t, s, b...)
		}
		sameRecords(t, fmt.Sprintf("shuffle %d", round), Dump(t, s), want)
		_ = s.Close()
	}
}

func testConcurrent(t *testing.T, open Opener) {
	rng := rand.New(rand.NewPCG(3, 4))
	history := History(rng, 400)
	want := Model(history)
	s := openStore(t, open)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		batches := shuffledBatches(rand.New(rand.NewPCG(uint64(w), 9)), history)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, b := range batches {
				if _, err := s.Apply(context.Background(), b); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Apply: %v", err)
	}
	sameRecords(t, "concurrent", Dump(t, s), want)
}

func testReset(t *testing.T, open Opener) {
	s := openStore(t, open)
	e := put("a", "k", "v", 1)
	e.UserMetadata = map[string]string{"x": "1"}
	apply(t, s, e, put("b", "k", "v", 2),
		store.Event{Op: store.OpRemove, Bucket: "a", Key: "t", VersionID: "v", Sequencer: Seq(9), Time: at(9)})
	if err := s.DeclareTypes(context.Background(), "a", map[string]store.FieldType{"x-amz-meta-x": store.TypeInt}); err != nil {
		t.Fatal(err)
	}
	if err := s.ResetBucket(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if got := keysOf(Dump(t, s)); strings.Join(got, ",") != "b/k@v" {
		t.Fatalf("after reset: %v", got)
	}
	// The tombstone went too: an old event can be indexed again (a rebuild
	// lists the truth first).
	apply(t, s, put("a", "t", "v", 3))
	if got := keysOf(Dump(t, s)); len(got) != 2 {
		t.Fatalf("after reset and put: %v", got)
	}
	types, err := s.FieldTypes(context.Background(), "a")
	if err != nil || types["x-amz-meta-x"] != store.TypeInt {
		t.Fatalf("types after reset: %v %v", types, err)
	}
}

func testInvalid(t *testing.T, open Opener) {
	s := openStore(t, open)
	good := put("b", "k", "v", 1)
	long := strings.Repeat("x", store.MaxValueLen+1)
	for name, mut := range map[string]func(e *store.Event){
		"no op":             func(e *store.Event) { e.Op = 0 },
		"unknown op":        func(e *store.Event) { e.Op = 99 },
		"no bucket":         func(e *store.Event) { e.Bucket = "" },
		"no key":            func(e *store.Event) { e.Key = "" },
		"zero time":         func(e *store.Event) { e.Time = time.Time{} },
		"negative size":     func(e *store.Event) { e.Size = -1 },
		"NUL in key":        func(e *store.Event) { e.Key = "a\x00b" },
		"bad UTF-8 key":     func(e *store.Event) { e.Key = "a\xffb" },
		"long key":          func(e *store.Event) { e.Key = strings.Repeat("k", store.MaxKeyLen+1) },
		"long meta value":   func(e *store.Event) { e.UserMetadata = map[string]string{"m": long} },
		"empty meta name":   func(e *store.Event) { e.UserMetadata = map[string]string{"": "v"} },
		"bad tag value":     func(e *store.Event) { e.Tags = map[string]string{"t": "\xc3"} },
		"update no fields":  func(e *store.Event) { e.Op = store.OpUpdate },
		"empty results":     func(e *store.Event) { e.Op, e.Replication = store.OpReplication, nil },
		"non-hex sequencer": func(e *store.Event) { e.Sequencer = "00;A=1" },
		"long sequencer":    func(e *store.Event) { e.Sequencer = strings.Repeat("F", 33) },
	} {
		e := good
		mut(&e)
		_, err := s.Apply(context.Background(), []store.Event{good, e})
		if !errors.Is(err, store.ErrInvalidEvent) {
			t.Errorf("%s: got %v, want ErrInvalidEvent", name, err)
		}
	}
	if rs := Dump(t, s); len(rs) != 0 {
		t.Fatalf("an invalid batch was partly applied: %v", keysOf(rs))
	}
	if _, err := s.Search(context.Background(), store.SearchInput{Limit: store.MaxLimit + 1}); !errors.Is(err, store.ErrInvalidInput) {
		t.Fatalf("limit too large: %v", err)
	}
	if _, err := s.Aggregate(context.Background(), store.AggregateInput{By: "owner"}); !errors.Is(err, store.ErrInvalidInput) {
		t.Fatalf("bad group: %v", err)
	}
	if err := s.DeclareTypes(context.Background(), "b", map[string]store.FieldType{"key": store.TypeInt}); !errors.Is(err, store.ErrInvalidInput) {
		t.Fatalf("declare key: %v", err)
	}
	if err := s.DeclareTypes(context.Background(), "b", map[string]store.FieldType{"x-amz-meta-a": "bool"}); !errors.Is(err, store.ErrInvalidInput) {
		t.Fatalf("declare bool: %v", err)
	}
	if _, err := store.DecodeCursor("!!"); !errors.Is(err, store.ErrInvalidCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
}

func testClosed(t *testing.T, open Opener) {
	s := open(t)
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Apply(context.Background(), []store.Event{put("b", "k", "v", 1)}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Apply after Close: %v", err)
	}
	if _, err := s.Search(context.Background(), store.SearchInput{}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Search after Close: %v", err)
	}
	if _, err := s.PurgeTombstones(context.Background(), time.Now()); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("PurgeTombstones after Close: %v", err)
	}
}
