package events

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// runJetStream starts an embedded JetStream server on 127.0.0.1 and returns a
// connection to it; both are closed in t.Cleanup. (Deliberately independent
// of package natstest.)
func runJetStream(t *testing.T) *nats.Conn {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// TestNATSRoundTrip publishes an event on a real JetStream stream and reads it
// back: every attribute and the record must survive, and a second publish of
// the same event must be dropped as a duplicate thanks to Nats-Msg-Id.
func TestNATSRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	js, err := jetstream.New(runJetStream(t))
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "RT", Subjects: []string{"rt.>"}})
	if err != nil {
		t.Fatal(err)
	}

	rec := sampleRecord()
	want, err := ToCloudEvent(sampleID, rec)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := NewNATSMsg("rt.photos.ObjectCreated.Put", want)
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get(MsgIDHeader); got != sampleID {
		t.Errorf("Nats-Msg-Id = %q, want %q", got, sampleID)
	}
	if got := msg.Header.Get("ce-subject"); strings.ContainsAny(got, " \n\"ü") {
		t.Errorf("ce-subject not percent-encoded: %q", got)
	}
	for i, wantDup := range []bool{false, true} {
		ack, err := js.PublishMsg(ctx, msg)
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		if ack.Duplicate != wantDup {
			t.Errorf("publish %d: Duplicate = %v, want %v", i, ack.Duplicate, wantDup)
		}
	}

	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	e, err := EventFromNATS(got.Headers(), got.Data())
	if err != nil {
		t.Fatal(err)
	}
	assertSameEvent(t, e, want)
	back, err := RecordFromCloudEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, back, rec)
	if info, err := stream.Info(ctx); err != nil || info.State.Msgs != 1 {
		t.Errorf("stream holds %v messages (err %v), want 1", info.State.Msgs, err)
	}
}

// assertSameEvent compares every attribute and the data.
func assertSameEvent(t *testing.T, got, want event.Event) {
	t.Helper()
	for _, c := range []struct{ attr, got, want string }{
		{"specversion", got.SpecVersion(), want.SpecVersion()},
		{"id", got.ID(), want.ID()},
		{"source", got.Source(), want.Source()},
		{"type", got.Type(), want.Type()},
		{"subject", got.Subject(), want.Subject()},
		{"datacontenttype", got.DataContentType(), want.DataContentType()},
		{"dataschema", got.DataSchema(), want.DataSchema()},
		{"data", string(got.Data()), string(want.Data())},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.attr, c.got, c.want)
		}
	}
	if !got.Time().Equal(want.Time()) {
		t.Errorf("time = %v, want %v", got.Time(), want.Time())
	}
	if len(got.Extensions()) != len(want.Extensions()) {
		t.Errorf("extensions = %v, want %v", got.Extensions(), want.Extensions())
	}
	for k, v := range want.Extensions() {
		if got.Extensions()[k] != v {
			t.Errorf("extension %s = %v, want %v", k, got.Extensions()[k], v)
		}
	}
}

// goodHeaders is a minimal valid binary-mode header set.
func goodHeaders() nats.Header {
	return nats.Header{
		"ce-specversion": {"1.0"},
		"ce-id":          {"1"},
		"ce-source":      {"sluice:s3.r.b"},
		"ce-type":        {"com.amazonaws.s3.ObjectCreated:Put"},
		"content-type":   {"application/json"},
	}
}

var decodeCases = []struct {
	name   string
	mutate func(nats.Header)
	body   string
	want   error // nil: must decode
}{
	{"minimal", func(nats.Header) {}, `{}`, nil},
	{"no body", func(nats.Header) {}, ``, nil},
	{"mixed-case names", func(h nats.Header) { h["Ce-Id"] = h["ce-id"]; delete(h, "ce-id"); h["Ce-Sequencer"] = []string{"01"} }, `{}`, nil},
	{"percent-encoded subject", func(h nats.Header) { h["ce-subject"] = []string{"a%20b%0A%C3%BC"} }, `{}`, nil},
	{"time", func(h nats.Header) { h["ce-time"] = []string{"2024-05-01T12:34:56.789+02:00"} }, `{}`, nil},
	{"other headers ignored", func(h nats.Header) { h["Nats-Msg-Id"] = []string{"x", "y"}; h["traceparent"] = []string{"00-"} }, `{}`, nil},
	{"non-JSON body with non-JSON type", func(h nats.Header) { h["content-type"] = []string{"text/plain"} }, "\x00\xff", nil},
	{"no specversion", func(h nats.Header) { delete(h, "ce-specversion") }, `{}`, ErrMissingAttribute},
	{"specversion 0.3", func(h nats.Header) { h["ce-specversion"] = []string{"0.3"} }, `{}`, ErrSpecVersion},
	{"no id", func(h nats.Header) { delete(h, "ce-id") }, `{}`, ErrMissingAttribute},
	{"blank id", func(h nats.Header) { h["ce-id"] = []string{"%20"} }, `{}`, ErrMissingAttribute},
	{"no source", func(h nats.Header) { delete(h, "ce-source") }, `{}`, ErrMissingAttribute},
	{"no type", func(h nats.Header) { delete(h, "ce-type") }, `{}`, ErrMissingAttribute},
	{"bad time", func(h nats.Header) { h["ce-time"] = []string{"yesterday"} }, `{}`, ErrMalformed},
	{"bad source", func(h nats.Header) { h["ce-source"] = []string{"%25zz"} }, `{}`, ErrMalformed},
	{"bad dataschema", func(h nats.Header) { h["ce-dataschema"] = []string{"rel/only"} }, `{}`, ErrMalformed},
	{"bad percent", func(h nats.Header) { h["ce-subject"] = []string{"100%"} }, `{}`, ErrMalformed},
	{"bad utf-8", func(h nats.Header) { h["ce-subject"] = []string{"%FF"} }, `{}`, ErrMalformed},
	{"empty subject", func(h nats.Header) { h["ce-subject"] = []string{""} }, `{}`, ErrMalformed},
	{"repeated attribute", func(h nats.Header) { h["Ce-Id"] = []string{"2"} }, `{}`, ErrMalformed},
	{"two values", func(h nats.Header) { h["ce-id"] = []string{"1", "2"} }, `{}`, ErrMalformed},
	{"bad extension name", func(h nats.Header) { h["ce-bad_name"] = []string{"x"} }, `{}`, ErrMalformed},
	{"empty extension name", func(h nats.Header) { h["ce-"] = []string{"x"} }, `{}`, ErrMalformed},
	{"data header", func(h nats.Header) { h["ce-data"] = []string{"x"} }, `{}`, ErrMalformed},
	{"datacontenttype header", func(h nats.Header) { h["ce-datacontenttype"] = []string{"text/plain"} }, `{}`, ErrMalformed},
	{"bad content type", func(h nats.Header) { h["content-type"] = []string{"not a type"} }, `{}`, ErrMalformed},
	{"non-JSON body", func(nats.Header) {}, `{"Records":`, ErrMalformed},
	{"non-JSON body, no type", func(h nats.Header) { delete(h, "content-type") }, `<xml/>`, ErrMalformed},
}

func TestEventFromNATS(t *testing.T) {
	for _, c := range decodeCases {
		t.Run(c.name, func(t *testing.T) {
			h := goodHeaders()
			c.mutate(h)
			e, err := EventFromNATS(h, []byte(c.body))
			if c.want == nil {
				if err != nil {
					t.Fatalf("EventFromNATS: %v", err)
				}
				if string(e.Data()) != c.body {
					t.Errorf("data = %q, want %q", e.Data(), c.body)
				}
				return
			}
			if !errors.Is(err, c.want) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error = %v, want %v wrapped in ErrMalformed", err, c.want)
			}
		})
	}
	if _, err := EventFromNATSMsg(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("nil msg: %v", err)
	}
	// The decoded subject is percent-decoded.
	h := goodHeaders()
	h["ce-subject"] = []string{"a%20b%0A%C3%BC"}
	if e, err := EventFromNATSMsg(&nats.Msg{Header: h}); err != nil || e.Subject() != "a b\nü" {
		t.Errorf("subject = %q, %v", e.Subject(), err)
	}
}

func TestNewNATSMsgErrors(t *testing.T) {
	good, err := ToCloudEvent(sampleID, sampleRecord())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewNATSMsg("", good); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("empty subject: %v", err)
	}
	if _, err := NewNATSMsg("s", event.Event{}); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("no context: %v", err)
	}
	old := good.Clone()
	old.Context = old.Context.AsV03()
	if _, err := NewNATSMsg("s", old); !errors.Is(err, ErrSpecVersion) {
		t.Errorf("spec 0.3: %v", err)
	}
	noID := good.Clone()
	noID.Context.(*event.EventContextV1).ID = ""
	if _, err := NewNATSMsg("s", noID); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("no id: %v", err)
	}
	badCT := good.Clone()
	ct := "text/plain; a=\"ü\""
	badCT.Context.(*event.EventContextV1).DataContentType = &ct
	if _, err := NewNATSMsg("s", badCT); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("non-ASCII content type: %v", err)
	}
}

// FuzzDecodeNATS feeds arbitrary header blocks ("name: value" lines) and
// bodies. Decoding must never panic and must fail only with ErrMalformed;
// whatever decodes must encode again and decode to the same event.
func FuzzDecodeNATS(f *testing.F) {
	for _, c := range decodeCases {
		h := goodHeaders()
		c.mutate(h)
		f.Add(renderHeaders(h), []byte(c.body))
	}
	if e, err := ToCloudEvent(sampleID, sampleRecord()); err == nil {
		if m, err := NewNATSMsg("s", e); err == nil {
			f.Add(renderHeaders(m.Header), m.Data)
		}
	}
	f.Fuzz(func(t *testing.T, block string, body []byte) {
		h := nats.Header{}
		for _, line := range strings.Split(block, "\n") {
			k, v, _ := strings.Cut(line, ":")
			h[k] = append(h[k], strings.TrimPrefix(v, " "))
		}
		e, err := EventFromNATS(h, body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not wrapping ErrMalformed: %v", err)
			}
			return
		}
		m, err := NewNATSMsg("s", e)
		if err != nil {
			t.Fatalf("decoded event does not encode: %v", err)
		}
		again, err := EventFromNATSMsg(m)
		if err != nil {
			t.Fatalf("re-encoded event does not decode: %v\nheaders %v", err, m.Header)
		}
		assertSameEvent(t, again, e)
	})
}

// renderHeaders writes h as the fuzz target's "name: value" lines, sorted.
func renderHeaders(h nats.Header) string {
	var lines []string
	for k, vs := range h {
		for _, v := range vs {
			lines = append(lines, k+": "+v)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// BenchmarkNATSCodec measures one record through ToCloudEvent, NewNATSMsg,
// EventFromNATS and RecordFromCloudEvent.
func BenchmarkNATSCodec(b *testing.B) {
	rec := sampleRecord()
	for b.Loop() {
		e, err := ToCloudEvent(sampleID, rec)
		if err != nil {
			b.Fatal(err)
		}
		m, err := NewNATSMsg("s", e)
		if err != nil {
			b.Fatal(err)
		}
		got, err := EventFromNATS(m.Header, m.Data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := RecordFromCloudEvent(got); err != nil {
			b.Fatal(err)
		}
	}
}
