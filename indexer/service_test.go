package indexer_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/natstest"
	"github.com/sluice-io/sluice/indexer"
	"github.com/sluice-io/sluice/indexer/store"
	"github.com/sluice-io/sluice/indexer/store/sqlite"
	"github.com/sluice-io/sluice/indexer/store/storetest"
	"github.com/sluice-io/sluice/services/config"
)

// history returns the messages of a random history over a few keys (object
// events and replication results), and the index state it must end in.
func history(t *testing.T, seed uint64, n int) ([]message, []store.Record) {
	t.Helper()
	h := storetest.History(rand.New(rand.NewPCG(seed, seed)), n)
	msgs := make([]message, len(h))
	for i, e := range h {
		msgs[i] = messageFor(e)
	}
	return msgs, storetest.Model(expected(t, msgs))
}

// waitForIndex polls the store until it holds want.
func waitForIndex(t *testing.T, st store.Store, want []store.Record) {
	t.Helper()
	natstest.CheckFor(t, 60*time.Second, 50*time.Millisecond, func() error {
		res, err := st.Search(context.Background(), store.SearchInput{Scope: store.Scope{Versions: true}, Limit: store.MaxLimit})
		if err != nil {
			return err
		}
		if d := diff(res.Records, want); d != "" {
			return errors.New(d)
		}
		return nil
	})
}

// diff describes how got differs from want ("" when equal).
func diff(got, want []store.Record) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d records, want %d", len(got), len(want))
	}
	norm := func(r store.Record) string {
		r.LastModified = time.UnixMicro(r.LastModified.UnixMicro()).UTC()
		for _, m := range []*map[string]string{&r.UserMetadata, &r.Tags, &r.Replication} {
			if len(*m) == 0 {
				*m = nil
			}
		}
		return fmt.Sprintf("%+v", r)
	}
	for i := range got {
		if g, w := norm(got[i]), norm(want[i]); g != w {
			return fmt.Sprintf("record %d:\n got %s\nwant %s", i, g, w)
		}
	}
	return ""
}

func TestServiceIndexesEvents(t *testing.T) {
	e := newEnv(t)
	set, admin := e.settings(t)
	r := start(t, testConfig("indexer-basic"), set)
	recs, want := history(t, 1, 150)
	results := 0
	for i, m := range recs {
		e.send(t, eventID(i), m)
		if m.result != nil {
			results++
		}
	}
	if results == 0 {
		t.Fatal("the history holds no replication result")
	}
	// Redeliveries under other ids (what an outbox crash between publish
	// and delete can cause after the duplicate window) change nothing.
	for i := 0; i < 30; i++ {
		j := rand.IntN(len(recs))
		e.send(t, fmt.Sprintf("dup-%d", i), recs[j])
	}
	// Events the index ignores, and a message that is not an event.
	test := events.Record{EventName: events.TestEvent, EventTime: time.Now(), S3: events.S3Entity{Bucket: events.BucketEntity{Name: "b1"}}}
	e.publish(t, "test-event", test)
	bad := &nats.Msg{Subject: "sluice.events.b1.ObjectCreated.Put", Header: nats.Header{"Nats-Msg-Id": {"bad-1"}}, Data: []byte("not an event")}
	if _, err := e.bus.Publish(context.Background(), bad); err != nil {
		t.Fatal(err)
	}
	waitForIndex(t, r.svc.Store(), want)

	// The undecodable message went to the dead letters, once.
	natstest.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		dl, err := e.bus.ListDeadLetters(context.Background(), "indexer-basic", 10)
		if err != nil {
			return err
		}
		if len(dl) != 1 {
			return fmt.Errorf("%d dead letters, want 1", len(dl))
		}
		return nil
	})
	reg := set.Registry
	natstest.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		applied := counterValue(t, reg, "applied")
		skipped := counterValue(t, reg, "skipped")
		ignored := counterValue(t, reg, "ignored")
		invalid := counterValue(t, reg, "invalid")
		if applied+skipped < float64(len(recs)+30) || ignored < 1 || invalid < 1 {
			return fmt.Errorf("counters applied %v skipped %v ignored %v invalid %v", applied, skipped, ignored, invalid)
		}
		return nil
	})
	if n := histogramCount(t, reg, "sluice_indexer_lag_seconds"); n < uint64(len(recs)) {
		t.Fatalf("lag histogram has %d observations", n)
	}
	if n := histogramCount(t, reg, "sluice_indexer_batch_size"); n == 0 {
		t.Fatal("no batch observed")
	}
	// The admin search sees the same.
	rec := get(admin, "GET", "/admin/index/search?versions=true&limit=10000", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"results"`) {
		t.Fatalf("admin search: %d %s", rec.Code, rec.Body)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
}

func TestRunErrors(t *testing.T) {
	e := newEnv(t)
	set, _ := e.settings(t)
	r := start(t, testConfig("indexer-twice"), set)
	if err := r.svc.Run(context.Background()); !errors.Is(err, indexer.ErrAlreadyRunning) {
		t.Fatalf("second Run: %v", err)
	}
	set2, _ := e.settings(t)
	set2.JetStream = nil
	svc, err := indexer.New(testConfig("indexer-nojs"), set2)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Run(context.Background()); !errors.Is(err, indexer.ErrNoJetStream) {
		t.Fatalf("Run without JetStream: %v", err)
	}
	// A second service on the same admin mux cannot mount its routes.
	set3, admin := e.settings(t)
	if _, err := indexer.New(testConfig("a"), set3); err != nil {
		t.Fatal(err)
	}
	set4, _ := e.settings(t)
	set4.Admin = admin
	if _, err := indexer.New(testConfig("b"), set4); err == nil {
		t.Fatal("routes mounted twice")
	}
}

func TestConfig(t *testing.T) {
	var c indexer.Config
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if c.Durable != "indexer" || c.StatusDurable != "indexer-status" || c.BatchSize != indexer.DefaultBatchSize ||
		c.Store.Driver != "sqlite" || c.TombstoneRetention != 24*time.Hour || c.CleanupInterval != time.Hour {
		t.Fatalf("defaults: %+v", c)
	}
	for name, mut := range map[string]func(*indexer.Config){
		"durable with dot":     func(c *indexer.Config) { c.Durable = "a.b" },
		"batch too large":      func(c *indexer.Config) { c.BatchSize = 100000 },
		"negative wait":        func(c *indexer.Config) { c.BatchWait = -1 },
		"short ack wait":       func(c *indexer.Config) { c.AckWait = time.Millisecond },
		"unknown driver":       func(c *indexer.Config) { c.Store.Driver = "mysql" },
		"postgres without dsn": func(c *indexer.Config) { c.Store.Driver = "postgres" },
		"sqlite with dsn":      func(c *indexer.Config) { c.Store.DSN = "postgres://x" },
		"status durable":       func(c *indexer.Config) { c.StatusDurable = "a>b" },
		"same durables":        func(c *indexer.Config) { c.StatusDurable = c.Durable },
		"burst below batch":    func(c *indexer.Config) { c.MaxBatchSize = c.BatchSize - 1 },
		"burst too large":      func(c *indexer.Config) { c.MaxBatchSize = 1 << 20 },
		"short retention":      func(c *indexer.Config) { c.TombstoneRetention = time.Minute },
		"short cleanup":        func(c *indexer.Config) { c.CleanupInterval = time.Millisecond },
	} {
		c := indexer.Config{}
		c.SetDefaults()
		mut(&c)
		if err := c.Validate(); !errors.Is(err, config.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The SQLite path defaults under the data directory.
	dir := t.TempDir()
	st, err := indexer.OpenStore(context.Background(), indexer.Config{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	st, err = sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(dir, indexer.DefaultSQLitePath)})
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
}

// gate wraps a store: the first Apply holding at least min events reports
// itself on started and then behaves as mode says.
type gate struct {
	store.Store
	min     int
	mode    string // "fail-on-release": block, then fail; "commit-then-hang": commit, then block
	started chan struct{}
	release chan struct{}
	once    sync.Once
	armed   sync.Once
}

func newGate(st store.Store, min int, mode string) *gate {
	return &gate{Store: st, min: min, mode: mode, started: make(chan struct{}), release: make(chan struct{})}
}

func (g *gate) Apply(ctx context.Context, evs []store.Event) (store.ApplyStats, error) {
	caught := false
	if len(evs) >= g.min {
		g.armed.Do(func() { caught = true })
	}
	if !caught {
		select {
		case <-g.release:
			return store.ApplyStats{}, errors.New("replica is dead")
		default:
			return g.Store.Apply(ctx, evs)
		}
	}
	var stats store.ApplyStats
	var err error
	if g.mode == "commit-then-hang" {
		stats, err = g.Store.Apply(ctx, evs)
		if err != nil {
			return stats, err
		}
	}
	g.once.Do(func() { close(g.started) })
	select {
	case <-g.release:
	case <-ctx.Done():
	}
	return stats, errors.New("replica is dead")
}

func (g *gate) Close() error { return nil } // the test closes the real store

// TestKilledReplicaMidBatch runs two replicas on one durable consumer and
// one index; one dies in the middle of a batch. Every event still ends up
// indexed exactly as the history says.
func TestKilledReplicaMidBatch(t *testing.T) {
	for _, tc := range []struct {
		name, mode string
		kill       string // "cancel": the replica's Run is cancelled; "connection": its NATS connection dies
	}{
		{"cancelled before commit", "fail-on-release", "cancel"},
		{"connection lost before commit", "fail-on-release", "connection"},
		{"connection lost after commit, before ack", "commit-then-hang", "connection"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			path := filepath.Join(t.TempDir(), "index.db")
			open := func() store.Store {
				st, err := sqlite.Open(context.Background(), sqlite.Config{Path: path})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = st.Close() })
				return st
			}
			cfg := testConfig("indexer-shared")
			cfg.AckWait = 2 * time.Second
			cfg.DrainWait = 2 * time.Second
			recs, want := history(t, 7, 400)

			victimStore := newGate(open(), 20, tc.mode)
			vset, _ := e.settings(t)
			victim := start(t, cfg, vset, indexer.WithStore(victimStore))
			t.Cleanup(func() { // before the victim's stop: its batch must end
				select {
				case <-victimStore.release:
				default:
					close(victimStore.release)
				}
			})
			for i, m := range recs {
				e.send(t, eventID(i), m)
			}
			select {
			case <-victimStore.started:
			case <-time.After(30 * time.Second):
				t.Fatal("the victim never held a batch")
			}
			sset, _ := e.settings(t)
			survivorStore := open()
			start(t, cfg, sset, indexer.WithStore(survivorStore))
			switch tc.kill {
			case "cancel":
				close(victimStore.release) // its batch fails: nothing committed
				if err := victim.stop(); err != nil {
					t.Fatal(err)
				}
			case "connection":
				vset.Conn.Close() // no ack, no heartbeat: AckWait hands its messages over
			}
			waitForIndex(t, survivorStore, want)
		})
	}
}

// memLister is a Lister over fixed versions.
type memLister map[string][]indexer.ListedVersion

func (l memLister) ListBuckets(context.Context) ([]string, error) {
	var out []string
	for b := range l {
		out = append(out, b)
	}
	return out, nil
}

func (l memLister) ListVersions(_ context.Context, bucket string, fn func(indexer.ListedVersion) error) error {
	for _, v := range l[bucket] {
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}

func TestRebuild(t *testing.T) {
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "i.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	// Stale records from before: the rebuild removes them.
	if _, err := st.Apply(ctx, []store.Event{{Op: store.OpPut, Bucket: "b", Key: "stale", Sequencer: "01", Time: t0}}); err != nil {
		t.Fatal(err)
	}
	l := memLister{
		"b": {
			{Key: "k", VersionID: "v2", Size: 2, ETag: `"e2"`, LastModified: t0.Add(2 * time.Hour), ContentType: "text/plain",
				Location: "aws", UserMetadata: map[string]string{"Year": "2020"}, Tags: map[string]string{"t": "x"}},
			{Key: "k", VersionID: "v1", Size: 1, LastModified: t0.Add(time.Hour)},
			{Key: "gone", VersionID: "v9", IsDeleteMarker: true, LastModified: t0},
			{Key: "bad\x00key", VersionID: "null", LastModified: t0},
		},
		"c": {{Key: "x", VersionID: "null", LastModified: t0}},
	}
	stats, err := indexer.Rebuild(ctx, st, l, "b", indexer.RebuildOptions{BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Buckets != 1 || stats.Versions != 3 {
		t.Fatalf("stats %+v", stats)
	}
	res, err := st.Search(ctx, store.SearchInput{Scope: store.Scope{Versions: true}})
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, r := range res.Records {
		got += fmt.Sprintf("%s@%s latest=%v dm=%v;", r.Key, r.VersionID, r.IsLatest, r.IsDeleteMarker)
	}
	if got != "gone@v9 latest=true dm=true;k@v1 latest=false dm=false;k@v2 latest=true dm=false;" {
		t.Fatalf("after rebuild: %s", got)
	}
	if r := res.Records[2]; r.ETag != "e2" || r.UserMetadata["year"] != "2020" || r.Tags["t"] != "x" || r.Location != "aws" || r.Source != "sluice:s3" {
		t.Fatalf("listed record: %+v", r)
	}
	// Then the stream: any real event wins over the listing.
	if _, err := st.Apply(ctx, []store.Event{
		{Op: store.OpUpdate, Bucket: "b", Key: "k", VersionID: "v2", Sequencer: "0000000000000002", Time: t0, Set: store.SetTags, Tags: map[string]string{"t": "y"}},
		{Op: store.OpPut, Bucket: "b", Key: "k", VersionID: "v2", Sequencer: "0000000000000001", Time: t0.Add(2 * time.Hour), Size: 2},
	}); err != nil {
		t.Fatal(err)
	}
	res, err = st.Search(ctx, store.SearchInput{Scope: store.Scope{Where: mustParse(t, `key = "k"`)}})
	if err != nil || len(res.Records) != 1 || res.Records[0].Tags["t"] != "y" {
		t.Fatalf("after events: %+v %v", res.Records, err)
	}
	// Every bucket.
	stats, err = indexer.Rebuild(ctx, st, l, "", indexer.RebuildOptions{})
	if err != nil || stats.Buckets != 2 || stats.Versions != 4 {
		t.Fatalf("rebuild all: %+v %v", stats, err)
	}
}
