package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/sluice-io/sluice/events/natstest"
	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/meta/postgres"
	"github.com/sluice-io/sluice/s3front/meta/sqlite"
	"github.com/sluice-io/sluice/s3front/outbox"
	"github.com/sluice-io/sluice/services/pgtest"
)

func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

const stream = "EVENTS"

// setup returns a SQLite store with bucket "b", a JetStream server with a stream
// capturing "sluice.>" (2-minute duplicate window), and the server.
func setup(t *testing.T) (meta.Store, *natstest.Server) {
	t.Helper()
	s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "meta.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.CreateBucket(context.Background(), meta.Bucket{Name: "b", Owner: "o", Location: "l"}); err != nil {
		t.Fatal(err)
	}
	return s, startNATS(t)
}

func startNATS(t *testing.T) *natstest.Server {
	t.Helper()
	ns := natstest.RunJetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := ns.JetStream().CreateStream(ctx, jetstream.StreamConfig{
		Name: stream, Subjects: []string{"sluice.>"}, Duplicates: 2 * time.Minute, Storage: jetstream.FileStorage,
	}); err != nil {
		t.Fatal(err)
	}
	return ns
}

// eventFunc emits one event per change with id "evt-<sequencer>".
func eventFunc(_ context.Context, ch meta.Change) ([]meta.OutboxMsg, error) {
	return []meta.OutboxMsg{{
		ID:      "evt-" + ch.Object.Sequencer,
		Subject: "sluice.b." + string(ch.Kind),
		Headers: map[string][]string{"ce-subject": {ch.Object.Key}, "ce-sequencer": {ch.Object.Sequencer}},
		Body:    []byte(`{"key":"` + ch.Object.Key + `"}`),
	}}, nil
}

// write puts n objects and returns their event ids in commit order.
func write(t *testing.T, s meta.Store, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, 0, n)
	for i := range n {
		r, err := s.PutObject(context.Background(), meta.Object{Bucket: "b", Key: fmt.Sprintf("%s%04d", prefix, i), DataKey: "d"}, eventFunc)
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		ids = append(ids, "evt-"+r.Object.Sequencer)
	}
	return ids
}

// runRelay runs a relay until the returned stop is called (or the test ends) and
// returns stop, which reports Run's result.
func runRelay(t *testing.T, cfg outbox.Config) (stop func() error) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = zaptest.NewLogger(t)
	}
	r, err := outbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	var res error
	stop = func() error {
		once.Do(func() { cancel(); res = <-done })
		return res
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// streamIDs returns the Nats-Msg-Id of every message in the stream, in order.
func streamIDs(t *testing.T, js jetstream.JetStream) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get msg %d: %v", seq, err)
		}
		ids = append(ids, m.Header.Get(jetstream.MsgIDHeader))
	}
	return ids
}

func streamCount(js jetstream.JetStream) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}

func waitFor(t *testing.T, js jetstream.JetStream, s meta.Store, n uint64) {
	t.Helper()
	natstest.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		c, err := streamCount(js)
		if err != nil {
			return err
		}
		st, err := s.OutboxStats(context.Background())
		if err != nil {
			return err
		}
		if c != n || st.Pending != 0 {
			return fmt.Errorf("stream has %d messages (want %d), outbox has %d pending", c, n, st.Pending)
		}
		return nil
	})
}

func TestNewValidates(t *testing.T) {
	s, ns := setup(t)
	tests := []struct {
		name string
		cfg  outbox.Config
	}{
		{"no store", outbox.Config{Publisher: ns.JetStream()}},
		{"no publisher", outbox.Config{Store: s}},
		{"negative batch", outbox.Config{Store: s, Publisher: ns.JetStream(), BatchSize: -1}},
	}
	for _, tc := range tests {
		if _, err := outbox.New(tc.cfg); err == nil {
			t.Errorf("%s: New succeeded", tc.name)
		}
	}
}

func TestRelayPublishesInOrder(t *testing.T) {
	s, ns := setup(t)
	js := ns.JetStream()
	reg := prometheus.NewRegistry()
	m, err := outbox.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := outbox.NewMetrics(reg); err == nil {
		t.Fatal("registering metrics twice succeeded")
	}
	ids := write(t, s, "before", 30) // written before the relay starts
	runRelay(t, outbox.Config{Store: s, Publisher: js, Metrics: m, BatchSize: 7, PollInterval: time.Hour})
	ids = append(ids, write(t, s, "after", 30)...) // woken by OutboxNotify, not polling
	waitFor(t, js, s, uint64(len(ids)))

	got := streamIDs(t, js)
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("stream order:\n got %v\nwant %v", got, ids)
	}
	ctx := context.Background()
	st, _ := js.Stream(ctx, stream)
	msg, err := st.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Subject != "sluice.b.Created" || string(msg.Data) != `{"key":"before0000"}` || msg.Header.Get("ce-subject") != "before0000" {
		t.Fatalf("message = %s %q %v", msg.Subject, msg.Data, msg.Header)
	}
	if v := testutil.ToFloat64(m.Published); v != float64(len(ids)) {
		t.Fatalf("published counter = %v", v)
	}
	if v := testutil.ToFloat64(m.PublishErrors); v != 0 {
		t.Fatalf("publish errors = %v", v)
	}
	natstest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if v := testutil.ToFloat64(m.Pending); v != 0 {
			return fmt.Errorf("pending gauge = %v", v)
		}
		return nil
	})
}

// TestRelayCrashBetweenPublishAndDelete simulates a crash after JetStream
// acknowledged a batch and before the rows were deleted: the restarted relay
// republishes them and the stream keeps each event exactly once.
func TestRelayCrashBetweenPublishAndDelete(t *testing.T) {
	s, ns := setup(t)
	js := ns.JetStream()
	ids := write(t, s, "k", 25)
	crash := errors.New("simulated crash")
	var hookRows atomic.Int64
	stop := runRelay(t, outbox.Config{Store: s, Publisher: js, BatchSize: 10,
		AfterPublish: func(_ context.Context, rows []meta.OutboxRow) error {
			hookRows.Add(int64(len(rows)))
			return crash
		}})
	natstest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if hookRows.Load() == 0 {
			return errors.New("hook not called yet")
		}
		return nil
	})
	if err := stop(); !errors.Is(err, crash) {
		t.Fatalf("Run returned %v, want the hook's error", err)
	}
	// The crashed batch is in the stream and still in the outbox.
	if c, _ := streamCount(js); c != 10 {
		t.Fatalf("stream has %d messages after the crash, want 10", c)
	}
	if st, _ := s.OutboxStats(context.Background()); st.Pending != 25 {
		t.Fatalf("outbox has %d rows after the crash, want 25", st.Pending)
	}
	m, _ := outbox.NewMetrics(nil)
	runRelay(t, outbox.Config{Store: s, Publisher: js, Metrics: m, BatchSize: 10})
	waitFor(t, js, s, 25)
	if got := streamIDs(t, js); fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("stream:\n got %v\nwant %v", got, ids)
	}
	if d := testutil.ToFloat64(m.Duplicates); d != 10 {
		t.Fatalf("duplicates = %v, want 10", d)
	}
}

// flaky fails the first n publishes of one event id, then passes through.
type flaky struct {
	outbox.Publisher
	id    string
	fails atomic.Int64
	seen  sync.Map
}

func (f *flaky) PublishMsg(ctx context.Context, m *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	if m.Header.Get(jetstream.MsgIDHeader) == f.id && f.fails.Add(-1) >= 0 {
		return nil, errors.New("injected publish failure")
	}
	return f.Publisher.PublishMsg(ctx, m, opts...)
}

func TestRelayRetriesWithoutSkipping(t *testing.T) {
	s, ns := setup(t)
	js := ns.JetStream()
	ids := write(t, s, "k", 20)
	p := &flaky{Publisher: js, id: ids[5]}
	p.fails.Store(3)
	m, _ := outbox.NewMetrics(nil)
	runRelay(t, outbox.Config{Store: s, Publisher: p, Metrics: m, BatchSize: 8, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	waitFor(t, js, s, 20)
	if got := streamIDs(t, js); fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("stream order after retries:\n got %v\nwant %v", got, ids)
	}
	if v := testutil.ToFloat64(m.PublishErrors); v != 3 {
		t.Fatalf("publish errors = %v, want 3", v)
	}
}

// TestRelayNATSDown: writes succeed while NATS is down; the relay catches up
// once it is back.
func TestRelayNATSDown(t *testing.T) {
	s, ns := setup(t)
	js := ns.JetStream()
	runRelay(t, outbox.Config{Store: s, Publisher: js, PublishTimeout: 300 * time.Millisecond,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, PollInterval: 50 * time.Millisecond})
	first := write(t, s, "up", 5)
	waitFor(t, js, s, 5)

	ns.Shutdown()
	const n = 1000
	ids := append(first, write(t, s, "down", n)...)
	if st, err := s.OutboxStats(context.Background()); err != nil || st.Pending == 0 {
		t.Fatalf("outbox while NATS is down: %+v, %v", st, err)
	}
	ns.Restart()
	waitFor(t, js, s, uint64(len(ids)))
	got := streamIDs(t, js)
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Fatalf("event %s stored twice", id)
		}
		seen[id] = true
	}
	for _, id := range ids {
		if !seen[id] {
			t.Fatalf("event %s missing", id)
		}
	}
}

// countingPublisher counts publishes per event id.
type countingPublisher struct {
	outbox.Publisher
	mu     sync.Mutex
	counts map[string]int
}

func (c *countingPublisher) PublishMsg(ctx context.Context, m *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	ack, err := c.Publisher.PublishMsg(ctx, m, opts...)
	if err == nil {
		c.mu.Lock()
		c.counts[m.Header.Get(jetstream.MsgIDHeader)]++
		c.mu.Unlock()
	}
	return ack, err
}

// TestRelayReplicasOnPostgres runs three relays, each with its own store, on one
// PostgreSQL database, while two writers commit events: every event is published
// exactly once (no double publishing in normal operation).
func TestRelayReplicasOnPostgres(t *testing.T) {
	dsn := pgtest.StartPostgres(t)
	ctx := context.Background()
	ns := startNATS(t)
	js := ns.JetStream()
	var stores []meta.Store
	for range 3 {
		s, err := postgres.Open(ctx, postgres.Config{DSN: dsn})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		stores = append(stores, s)
	}
	if _, err := stores[0].CreateBucket(ctx, meta.Bucket{Name: "b", Owner: "o", Location: "l"}); err != nil {
		t.Fatal(err)
	}
	pub := &countingPublisher{Publisher: js, counts: map[string]int{}}
	for _, s := range stores {
		runRelay(t, outbox.Config{Store: s, Publisher: pub, BatchSize: 5, PollInterval: 20 * time.Millisecond})
	}
	var wg sync.WaitGroup
	idsCh := make(chan []string, 2)
	for i, s := range stores[:2] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ids []string
			for j := range 100 {
				r, err := s.PutObject(ctx, meta.Object{Bucket: "b", Key: fmt.Sprintf("w%d/%03d", i, j)}, eventFunc)
				if err != nil {
					t.Errorf("put: %v", err)
					return
				}
				ids = append(ids, "evt-"+r.Object.Sequencer)
			}
			idsCh <- ids
		}()
	}
	wg.Wait()
	close(idsCh)
	var all []string
	for ids := range idsCh {
		all = append(all, ids...)
	}
	waitFor(t, js, stores[0], uint64(len(all)))
	pub.mu.Lock()
	defer pub.mu.Unlock()
	for _, id := range all {
		if c := pub.counts[id]; c != 1 {
			t.Fatalf("event %s published %d times", id, c)
		}
	}
}

// TestPendingGaugeIsLive checks that the pending gauge reads the outbox at scrape
// time: rows committed a moment ago count at once, before the relay has claimed
// anything, so a scrape of 0 really means an empty outbox.
func TestPendingGaugeIsLive(t *testing.T) {
	s, ns := setup(t)
	m, err := outbox.NewMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := testutil.ToFloat64(m.Pending); v != 0 {
		t.Fatalf("pending gauge without a relay = %v, want 0", v)
	}
	if _, err := outbox.New(outbox.Config{Store: s, Publisher: ns.JetStream(), Metrics: m}); err != nil {
		t.Fatal(err)
	}
	write(t, s, "k", 12) // nothing relays them
	natstest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if v := testutil.ToFloat64(m.Pending); v != 12 {
			return fmt.Errorf("pending gauge = %v, want 12", v)
		}
		if v := testutil.ToFloat64(m.OldestAge); v <= 0 {
			return fmt.Errorf("oldest age gauge = %v, want > 0", v)
		}
		return nil
	})
}

// TestRelayPipelinedStopsAtRefusal: with the pipelined publisher, a stream that
// refuses messages part-way through a batch (a message limit, DiscardNew) leaves
// exactly the refused rows in the outbox; once the limit is lifted every event is
// stored once, in commit order.
func TestRelayPipelinedStopsAtRefusal(t *testing.T) {
	s, ns := setup(t)
	js := ns.JetStream()
	ctx := context.Background()
	setLimit := func(n int64) {
		t.Helper()
		st, err := js.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cfg := info.Config
		cfg.MaxMsgs, cfg.Discard = n, jetstream.DiscardNew
		if _, err := js.UpdateStream(ctx, cfg); err != nil {
			t.Fatal(err)
		}
	}
	setLimit(25)
	ids := write(t, s, "k", 60)
	m, _ := outbox.NewMetrics(nil)
	stop := runRelay(t, outbox.Config{Store: s, Publisher: js, Metrics: m, BatchSize: 40,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	natstest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		c, err := streamCount(js)
		if err != nil {
			return err
		}
		st, err := s.OutboxStats(ctx)
		if err != nil {
			return err
		}
		if c != 25 || st.Pending != 35 || testutil.ToFloat64(m.PublishErrors) == 0 {
			return fmt.Errorf("stream %d (want 25), outbox %d (want 35), errors %v", c, st.Pending, testutil.ToFloat64(m.PublishErrors))
		}
		return nil
	})
	setLimit(-1)
	waitFor(t, js, s, 60)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := streamIDs(t, js); fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("stream order:\n got %v\nwant %v", got, ids)
	}
}
