package indexer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/natstest"
	"github.com/sluice-io/sluice/events/replication/status"
	"github.com/sluice-io/sluice/events/subject"
	"github.com/sluice-io/sluice/indexer"
	"github.com/sluice-io/sluice/indexer/query"
	"github.com/sluice-io/sluice/indexer/store"
	"github.com/sluice-io/sluice/services/health"
	"github.com/sluice-io/sluice/services/runtime"
)

// env is an embedded JetStream server with the standard streams.
type env struct {
	srv *natstest.Server
	bus *bus.Bus
}

func newEnv(t *testing.T) *env { return newEnvB(t) }

func newEnvB(t testing.TB) *env {
	t.Helper()
	srv := natstest.RunJetStream(t)
	b, err := bus.New(srv.JetStream(), bus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, spec := range []bus.StreamSpec{bus.EventsStreamSpec(), bus.DLQStreamSpec()} {
		if _, err := b.EnsureStream(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	return &env{srv: srv, bus: b}
}

// settings returns the settings of one process: its own connection,
// registry and admin mux.
func (e *env) settings(t testing.TB) (runtime.Settings, *health.Handler) {
	t.Helper()
	set := e.settingsB(t)
	set.Logger = zaptest.NewLogger(t)
	return set, set.Admin.(*health.Handler)
}

// settingsB is settings without a test logger (benchmarks).
func (e *env) settingsB(t testing.TB) runtime.Settings {
	t.Helper()
	nc, js := e.srv.Connect(t)
	reg := prometheus.NewRegistry()
	h, err := health.New(reg, health.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return runtime.Settings{
		Logger: zap.NewNop(), Conn: nc, JetStream: js, Registry: reg, Clock: runtime.SystemClock{},
		Admin: h, Ready: h, DataDir: t.TempDir(), StreamReplicas: 1,
	}
}

// publish sends a record as Sluice's outbox would: a CloudEvent in NATS
// binary mode with the event id as Nats-Msg-Id.
func (e *env) publish(t testing.TB, id string, rec events.Record) {
	t.Helper()
	ce, err := events.ToCloudEvent(id, rec)
	if err != nil {
		t.Fatalf("event %s: %v", id, err)
	}
	subj, err := subject.ForEvent(rec.Bucket(), string(rec.EventName))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := events.NewNATSMsg(subj, ce)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.bus.Publish(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
}

// running is a service running in the background until stop (or the
// test's end).
type running struct {
	svc  *indexer.Service
	stop func() error
}

func start(t testing.TB, cfg indexer.Config, set runtime.Settings, opts ...indexer.Option) *running {
	t.Helper()
	svc, err := indexer.New(cfg, set, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	select {
	case <-svc.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("Run: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("service not ready after 30s")
	}
	var stopped bool
	var runErr error
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			runErr = <-done
		}
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &running{svc: svc, stop: stop}
}

// testConfig is a fast configuration: small batches, short waits.
func testConfig(durable string) indexer.Config {
	var c indexer.Config
	c.SetDefaults()
	c.Durable = durable
	c.BatchSize = 50
	c.BatchWait = 10 * time.Millisecond
	return c
}

// message is one message of a generated history: an object event (on the
// events stream) or a replication result (on the status stream).
type message struct {
	rec    events.Record
	result *status.Event
}

// messageFor turns a store event of a generated history into the message
// Sluice would publish for it.
func messageFor(e store.Event) message {
	if e.Op == store.OpReplication {
		for d, st := range e.Replication {
			vid := e.VersionID
			if vid == store.NullVersion {
				vid = ""
			}
			return message{result: &status.Event{Bucket: e.Bucket, Key: e.Key, VersionID: vid, Sequencer: e.Sequencer,
				Destination: d, Status: st, Time: e.Time}}
		}
	}
	return message{rec: recordFor(e)}
}

// send publishes a message of a generated history.
func (e *env) send(t testing.TB, id string, m message) {
	t.Helper()
	if m.result != nil {
		e.publishResult(t, id, *m.result)
		return
	}
	e.publish(t, id, m.rec)
}

// publishResult sends a replication result as the replicator does: JSON
// on the bucket's status subject.
func (e *env) publishResult(t testing.TB, id string, st status.Event) {
	t.Helper()
	subj, err := status.Subject(st.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	msg := &nats.Msg{Subject: subj, Header: nats.Header{}, Data: body}
	msg.Header.Set(events.MsgIDHeader, "result-"+id)
	if _, err := e.bus.Publish(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
}

// recordFor turns a store event of a generated history into the S3 event
// record s3front would publish for it.
func recordFor(e store.Event) events.Record {
	r := events.Record{
		EventSource: "sluice:s3", AWSRegion: "us-east-1", EventTime: e.Time,
		S3: events.S3Entity{Bucket: events.BucketEntity{Name: e.Bucket},
			Object: events.ObjectEntity{Sequencer: e.Sequencer}},
	}
	if e.VersionID != "" && e.VersionID != store.NullVersion {
		r.S3.Object.VersionID = e.VersionID
	}
	r.SetObjectKey(e.Key)
	switch e.Op {
	case store.OpPut:
		r.EventName = events.ObjectCreatedPut
		r.S3.Object.Size, r.S3.Object.ETag = e.Size, e.ETag
		r.Sluice = &events.SluiceData{Location: e.Location, ContentType: e.ContentType, UserMetadata: e.UserMetadata,
			Tags: e.Tags, ReplicationStatus: e.ReplicationStatus}
	case store.OpUpdate:
		r.EventName = events.ObjectTaggingPut
		r.Sluice = &events.SluiceData{Tags: e.Tags}
	case store.OpDeleteMarker:
		r.EventName = events.ObjectRemovedDeleteMarkerCreated
	case store.OpRemove:
		r.EventName = events.ObjectRemovedDelete
	}
	return r
}

// expected maps messages to the index events they imply (as the indexer
// does), for storetest.Model.
func expected(t *testing.T, msgs []message) []store.Event {
	t.Helper()
	var out []store.Event
	for _, m := range msgs {
		var e store.Event
		var err error
		if m.result != nil {
			e, err = indexer.EventFromStatus(*m.result)
		} else {
			e, err = indexer.EventFromRecord(m.rec.WithDefaults())
		}
		if err != nil {
			t.Fatalf("map %+v: %v", m, err)
		}
		out = append(out, e)
	}
	return out
}

// get runs a request against a handler and returns the recorder.
func get(h http.Handler, method, target string, body string) *httptest.ResponseRecorder {
	var req *http.Request
	if body == "" {
		req = httptest.NewRequest(method, target, nil)
	} else {
		req = httptest.NewRequest(method, target, strings.NewReader(body))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func eventID(i int) string { return fmt.Sprintf("ev-%06d", i) }

// counterValue reads sluice_indexer_events_indexed_total{outcome}.
func counterValue(t *testing.T, reg *prometheus.Registry, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "sluice_indexer_events_indexed_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// histogramCount reads the sample count of a histogram without labels.
func histogramCount(t *testing.T, reg *prometheus.Registry, name string) uint64 {
	return histogramCountB(t, reg, name)
}

func histogramCountB(t testing.TB, reg *prometheus.Registry, name string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			var n uint64
			for _, m := range mf.GetMetric() {
				n += m.GetHistogram().GetSampleCount()
			}
			return n
		}
	}
	return 0
}

func mustParse(t *testing.T, q string) query.Expr {
	t.Helper()
	e, err := query.ParseCatalog(q)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// metricValue reads a counter of reg: the series with label=value, or the
// only series when label is "".
func metricValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label == "" {
				return m.GetCounter().GetValue()
			}
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
