package deliver_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/deliver"
	"github.com/sluice-io/sluice/events/deliver/admin"
	"github.com/sluice-io/sluice/events/filter"
	"github.com/sluice-io/sluice/events/natstest"
	"github.com/sluice-io/sluice/events/subject"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fastBackoff keeps retries quick in tests.
var fastBackoff = deliver.BackoffConfig{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond, Jitter: 0.2}

// env is one test's embedded JetStream with the standard streams.
type env struct {
	srv *natstest.Server
	bus *bus.Bus
	src *deliver.MemorySource
	reg *prometheus.Registry
	seq atomic.Int64
}

func testLogger(t testing.TB) *zap.Logger {
	return zaptest.NewLogger(t, zaptest.Level(testLogLevel()))
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func newEnv(t testing.TB) *env {
	t.Helper()
	srv := natstest.RunJetStream(t)
	return &env{srv: srv, bus: newBus(t, srv.JetStream()), src: deliver.NewMemorySource(), reg: prometheus.NewRegistry()}
}

func newBus(t testing.TB, js jetstream.JetStream) *bus.Bus {
	t.Helper()
	b, err := bus.New(js, bus.Options{Logger: testLogger(t), PublishAttemptTimeout: 2 * time.Second, PublishRetryWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("bus.New: %v", err)
	}
	ctx := testCtx(t)
	for _, spec := range []bus.StreamSpec{bus.EventsStreamSpec(), bus.DLQStreamSpec()} {
		if _, err := b.EnsureStream(ctx, spec); err != nil {
			t.Fatalf("EnsureStream %s: %v", spec.Name, err)
		}
	}
	return b
}

// runOpts tune startDeliverer.
type runOpts struct {
	bus     *bus.Bus
	src     deliver.SubscriptionSource
	ackWait time.Duration
}

// startDeliverer runs a Deliverer until the test ends (or stop is called)
// and waits until every target's loop runs.
func (e *env) startDeliverer(t testing.TB, cfg deliver.Config, o runOpts) (d *deliver.Deliverer, stop func()) {
	t.Helper()
	if o.bus == nil {
		o.bus = e.bus
	}
	if o.src == nil {
		o.src = e.src
	}
	if o.ackWait == 0 {
		o.ackWait = 5 * time.Second
	}
	if cfg.StatusInterval == 0 {
		cfg.StatusInterval = 200 * time.Millisecond
	}
	d, err := deliver.New(cfg, deliver.Settings{
		Logger: testLogger(t), Bus: o.bus, Registry: e.reg, Source: o.src, AckWait: o.ackWait,
	})
	if err != nil {
		t.Fatalf("deliver.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("Run did not return within 30s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	natstest.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		for _, tc := range cfg.Targets {
			st, err := d.Status(testCtx(t), tc.Name)
			if err != nil {
				return err
			}
			if !st.Running {
				return fmt.Errorf("target %s not running", tc.Name)
			}
		}
		return nil
	})
	return d, stop
}

// subscribe is a subscription of bucket's events to arn.
func subscribe(bucket, id, arn string, evs []string, key ...filter.FilterRule) deliver.Subscription {
	return deliver.Subscription{Bucket: bucket, ID: id, TargetARN: arn, Rule: filter.Rule{ID: id, Events: evs, Key: key}}
}

// ev describes an event to publish.
type ev struct {
	bucket string
	name   events.EventName
	key    string
	tags   map[string]string
	meta   map[string]string
	ctype  string
}

// record builds the record of ev with sequencer seq.
func (x ev) record(seq int64) events.Record {
	rec := events.Record{
		EventName: x.name, EventTime: time.Now(), AWSRegion: "us-east-1",
		UserIdentity:      events.UserIdentity{PrincipalID: "sluiceadmin"},
		RequestParameters: events.RequestParameters{SourceIPAddress: "127.0.0.1"},
		ResponseElements:  events.ResponseElements{RequestID: fmt.Sprintf("req-%d", seq), HostID: "host"},
		S3: events.S3Entity{
			Bucket: events.BucketEntity{Name: x.bucket, OwnerIdentity: events.UserIdentity{PrincipalID: "sluiceadmin"}},
			Object: events.ObjectEntity{Size: 42, ETag: "d41d8cd98f00b204e9800998ecf8427e", Sequencer: fmt.Sprintf("%016X", seq)},
		},
		Sluice: &events.SluiceData{Location: "local", ContentType: x.ctype, Tags: x.tags, UserMetadata: x.meta},
	}
	rec.SetObjectKey(x.key)
	return rec
}

// eventMsg returns the NATS message of ev with id and sequencer seq.
func eventMsg(t testing.TB, x ev, id string, seq int64) (*nats.Msg, events.Record) {
	t.Helper()
	rec := x.record(seq)
	ce, err := events.ToCloudEvent(id, rec)
	if err != nil {
		t.Fatalf("ToCloudEvent: %v", err)
	}
	subj, err := subject.ForEvent(x.bucket, string(x.name))
	if err != nil {
		t.Fatalf("subject: %v", err)
	}
	m, err := events.NewNATSMsg(subj, ce)
	if err != nil {
		t.Fatalf("NewNATSMsg: %v", err)
	}
	return m, rec
}

// publish stores one event and returns its id.
func (e *env) publish(t testing.TB, x ev) string {
	t.Helper()
	seq := e.seq.Add(1)
	id := fmt.Sprintf("ev-%06d", seq)
	m, _ := eventMsg(t, x, id, seq)
	if _, err := e.bus.Publish(testCtx(t), m); err != nil {
		t.Fatalf("publish: %v", err)
	}
	return id
}

// publishMany stores n events (keys from keyOf) with pipelined publishes
// and returns their ids in order.
func (e *env) publishMany(t testing.TB, n int, x ev, keyOf func(i int) string) []string {
	t.Helper()
	js := e.srv.JetStream()
	ids := make([]string, 0, n)
	for start := 0; start < n; start += 500 {
		for i := start; i < min(start+500, n); i++ {
			seq := e.seq.Add(1)
			id := fmt.Sprintf("ev-%06d", seq)
			y := x
			y.key = keyOf(i)
			m, _ := eventMsg(t, y, id, seq)
			if _, err := js.PublishMsgAsync(m, jetstream.WithMsgID(id)); err != nil {
				t.Fatalf("publish async: %v", err)
			}
			ids = append(ids, id)
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(30 * time.Second):
			t.Fatalf("async publishes not acked within 30s")
		}
	}
	return ids
}

// delivery is one request a receiver got.
type delivery struct {
	id     string
	header http.Header
	body   []byte
	status int
	at     time.Time
}

// receiver is a webhook/function endpoint on 127.0.0.1 that records every
// request and answers with respond (200 when nil).
type receiver struct {
	t       testing.TB
	srv     *httptest.Server
	respond atomic.Pointer[func(n int, d *delivery) reply]
	check   func(d *delivery) error // validates each request; failures are test errors

	mu       sync.Mutex
	all      []*delivery
	accepted map[string]int
	order    []string // ids of accepted requests in order
}

func newReceiver(t testing.TB, check func(d *delivery) error) *receiver {
	r := &receiver{t: t, check: check, accepted: map[string]int{}}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.srv.Start()
	t.Cleanup(r.srv.Close)
	return r
}

// newReceiverAt is newReceiver not started; call start to listen on addr.
func newReceiverAt(t testing.TB, check func(d *delivery) error) *receiver {
	r := &receiver{t: t, check: check, accepted: map[string]int{}}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	return r
}

// startAt listens on addr (retrying while the port is still held).
func (r *receiver) startAt(addr string) {
	r.t.Helper()
	var ln net.Listener
	natstest.CheckFor(r.t, 10*time.Second, 20*time.Millisecond, func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	r.srv.Listener = ln
	r.srv.Start()
	r.t.Cleanup(r.srv.Close)
}

// reply is a receiver's answer.
type reply struct {
	status     int
	retryAfter string
}

// setRespond sets how the receiver answers request number n (from 0).
func (r *receiver) setRespond(f func(n int, d *delivery) reply) { r.respond.Store(&f) }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	d := &delivery{id: req.Header.Get(deliver.HeaderEventID), header: req.Header.Clone(), body: body, at: time.Now()}
	r.mu.Lock()
	n := len(r.all)
	r.all = append(r.all, d)
	r.mu.Unlock()
	if r.check != nil {
		if err := r.check(d); err != nil {
			r.t.Errorf("request %d (%s) invalid: %v", n, d.id, err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
	}
	rep := reply{status: http.StatusOK}
	if f := r.respond.Load(); f != nil {
		rep = (*f)(n, d)
	}
	status := rep.status
	r.mu.Lock()
	d.status = status
	r.mu.Unlock()
	if rep.retryAfter != "" {
		w.Header().Set("Retry-After", rep.retryAfter)
	}
	if status/100 == 2 {
		r.mu.Lock()
		r.accepted[d.id]++
		r.order = append(r.order, d.id)
		r.mu.Unlock()
	}
	w.WriteHeader(status)
}

func (r *receiver) url() string { return r.srv.URL + "/hook" }

func (r *receiver) acceptedCount(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.accepted[id]
}

func (r *receiver) requests() []*delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*delivery(nil), r.all...)
}

func (r *receiver) acceptedOrder() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.order...)
}

// waitAccepted waits until every id was accepted at least once.
func (r *receiver) waitAccepted(t testing.TB, ids []string, within time.Duration) {
	t.Helper()
	natstest.CheckFor(t, within, 20*time.Millisecond, func() error {
		r.mu.Lock()
		defer r.mu.Unlock()
		missing := 0
		first := ""
		for _, id := range ids {
			if r.accepted[id] == 0 {
				if missing == 0 {
					first = id
				}
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d events not accepted yet (e.g. %s); %d requests so far", missing, len(ids), first, len(r.all))
		}
		return nil
	})
}

// checkExactlyOnce fails unless every id was accepted exactly once.
func (r *receiver) checkExactlyOnce(t testing.TB, ids []string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if n := r.accepted[id]; n != 1 {
			t.Errorf("event %s accepted %d times, want exactly 1", id, n)
			return
		}
	}
}

// waitIdle waits until the target has no backlog.
func waitIdle(t testing.TB, d *deliver.Deliverer, name string) deliver.Status {
	t.Helper()
	var st deliver.Status
	natstest.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		var err error
		st, err = d.Status(testCtx(t), name)
		if err != nil {
			return err
		}
		if st.Backlog != 0 {
			return fmt.Errorf("target %s backlog %d (pending %d, unacked %d)", name, st.Backlog, st.Pending, st.AckPending)
		}
		return nil
	})
	return st
}

// metric returns the value of a counter or gauge for target.
func metric(t testing.TB, reg *prometheus.Registry, name, target string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "target" && l.GetValue() == target {
					switch {
					case m.Counter != nil:
						return m.Counter.GetValue()
					case m.Gauge != nil:
						return m.Gauge.GetValue()
					case m.Histogram != nil:
						return float64(m.Histogram.GetSampleCount())
					}
				}
			}
		}
	}
	return 0
}

func adminHandler(d *deliver.Deliverer) http.Handler { return admin.NewHandler(d, nil) }

func adminClient(t testing.TB, base string) *admin.Client {
	t.Helper()
	c, err := admin.NewClient(base, nil)
	if err != nil {
		t.Fatalf("admin.NewClient: %v", err)
	}
	return c
}

// testLogLevel is Warn, or Debug when SLUICE_TEST_LOG=debug.
func testLogLevel() zapcore.Level {
	if os.Getenv("SLUICE_TEST_LOG") == "debug" {
		return zap.DebugLevel
	}
	return zap.WarnLevel
}
