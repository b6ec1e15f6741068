package bus

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Jitter: 0.5}
	tests := []struct {
		name      string
		b         Backoff
		delivered uint64
		r         float64
		want      time.Duration
	}{
		{"first failure", b, 1, 0, 100 * time.Millisecond},
		{"second failure doubles", b, 2, 0, 200 * time.Millisecond},
		{"fourth failure", b, 4, 0, 800 * time.Millisecond},
		{"capped", b, 5, 0, time.Second},
		{"huge count capped", b, 1 << 40, 0, time.Second},
		{"zero count as first", b, 0, 0, 100 * time.Millisecond},
		{"full jitter halves", b, 1, 1, 50 * time.Millisecond},
		{"jitter at cap", b, 9, 0.5, 750 * time.Millisecond},
		{"bad r ignored", b, 1, -3, 100 * time.Millisecond},
		{"no jitter", Backoff{Initial: time.Second, Max: time.Hour}, 3, 0.9, 4 * time.Second},
		{"overflow", Backoff{Initial: time.Hour, Max: time.Duration(1<<63 - 1)}, 200, 0, time.Duration(1<<63 - 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.b.Delay(tc.delivered, tc.r); got != tc.want {
				t.Fatalf("Delay(%d, %v) = %v, want %v", tc.delivered, tc.r, got, tc.want)
			}
		})
	}
}

func TestBackoffDefaults(t *testing.T) {
	tests := []struct {
		in, want Backoff
	}{
		{Backoff{}, DefaultBackoff},
		{Backoff{Initial: 5 * time.Millisecond}, Backoff{Initial: 5 * time.Millisecond, Max: DefaultBackoff.Max}},
		{Backoff{Max: 10 * time.Second}, Backoff{Initial: DefaultBackoff.Initial, Max: 10 * time.Second}},
		{Backoff{Initial: 2 * time.Hour}, Backoff{Initial: 2 * time.Hour, Max: 2 * time.Hour}},
	}
	for _, tc := range tests {
		if got := tc.in.withDefaults(); got != tc.want {
			t.Errorf("withDefaults(%+v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestPermanent(t *testing.T) {
	base := errors.New("bad record")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", base, false},
		{"marked", Permanent(base), true},
		{"marked twice", Permanent(Permanent(base)), true},
		{"wrapped mark", fmt.Errorf("handler: %w", Permanent(base)), true},
		{"joined", errors.Join(errors.New("x"), Permanent(base)), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsPermanent(tc.err); got != tc.want {
				t.Fatalf("IsPermanent = %v, want %v", got, tc.want)
			}
			if tc.want && !errors.Is(tc.err, base) {
				t.Fatal("the marked error no longer matches the original with errors.Is")
			}
		})
	}
	if Permanent(nil) != nil {
		t.Fatal("Permanent(nil) != nil")
	}
}

func TestOriginalSubject(t *testing.T) {
	h := func(orig string) nats.Header {
		x := nats.Header{}
		if orig != "" {
			x.Set(HeaderOriginalSubject, orig)
		}
		return x
	}
	tests := []struct {
		name, raw, header, want string
		redriven                bool
	}{
		{"event", "sluice.events.a.put", "", "sluice.events.a.put", false},
		{"event with spoofed header", "sluice.events.a.put", "sluice.events.other", "sluice.events.a.put", false},
		{"redriven", "sluice.redrive.idx", "sluice.events.a.put", "sluice.events.a.put", true},
		{"redriven without header", "sluice.redrive.idx", "", "sluice.redrive.idx", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, redriven := originalSubject(tc.raw, h(tc.header))
			if got != tc.want || redriven != tc.redriven {
				t.Fatalf("originalSubject = %q, %v; want %q, %v", got, redriven, tc.want, tc.redriven)
			}
		})
	}
}

var reasonSeeds = []string{
	"",
	"permanent: cannot parse",
	"line one\r\nline two",
	"nul\x00byte",
	"bad utf8 \xff\xfe",
	strings.Repeat("é", MaxReasonLen),
}

func TestOneLine(t *testing.T) {
	for _, s := range reasonSeeds {
		checkOneLine(t, s)
	}
}

func checkOneLine(t *testing.T, s string) {
	got := oneLine(s)
	if strings.ContainsAny(got, "\r\n\x00") || !utf8.ValidString(got) || len(got) > MaxReasonLen {
		t.Fatalf("oneLine(%q) = %q: not a safe one-line header value", s, got)
	}
}

// deadLetterOf builds a dead-letter entry as the stream would store it.
func deadLetterOf(m *Message, consumer, reason string, now time.Time, seq uint64) *jetstream.RawStreamMsg {
	dm := deadLetterMsg(m, consumer, reason, now)
	return &jetstream.RawStreamMsg{Subject: dm.Subject, Sequence: seq, Header: dm.Header, Data: dm.Data, Time: now}
}

func testMessage(subject, id string, numDelivered, streamSeq uint64) *Message {
	h := nats.Header{}
	if id != "" {
		h.Set(jetstream.MsgIDHeader, id)
	}
	h.Set("Nats-Expected-Stream", "SLUICE_EVENTS")
	h.Set("ce-id", "abc")
	return &Message{
		Subject: subject, RawSubject: subject, Headers: h, Data: []byte("body"),
		Metadata: Metadata{Stream: "SLUICE_EVENTS", StreamSeq: streamSeq, NumDelivered: numDelivered},
	}
}

func TestDeadLetterRoundTrip(t *testing.T) {
	for i, reason := range reasonSeeds {
		checkDeadLetterRoundTrip(t, "sluice.events.b.put", "evt-"+strconv.Itoa(i), reason, uint64(i+1), uint64(i*7))
	}
}

func checkDeadLetterRoundTrip(t *testing.T, subject, id, reason string, delivered, seq uint64) {
	t.Helper()
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	m := testMessage(subject, id, delivered, seq)
	d := parseDeadLetter(deadLetterOf(m, "idx", reason, now, 9))
	if d.Seq != 9 || d.Consumer != "idx" || d.Subject != subject || d.Stream != "SLUICE_EVENTS" ||
		d.StreamSeq != seq || d.Deliveries != delivered || !d.Time.Equal(now) || string(d.Data) != "body" {
		t.Fatalf("round trip of %q/%q: got %+v", subject, reason, d)
	}
	if d.Reason != oneLine(reason) {
		t.Fatalf("reason = %q, want %q", d.Reason, oneLine(reason))
	}
	if d.Headers.Get("ce-id") != "abc" || d.Headers.Get(HeaderOriginalMsgID) != id {
		t.Fatalf("headers lost: %v", d.Headers)
	}
	for k := range d.Headers {
		if isControlHeader(k) || isDLQHeader(k) {
			t.Fatalf("header %s must not be listed as an original header", k)
		}
	}
	// The redrive message carries a fresh id and the original subject.
	r := redriveMsg("SLUICE_DLQ", "idx", d)
	if r.Subject != RedriveSubject("idx") || r.Header.Get(jetstream.MsgIDHeader) != "sluice-redrive:SLUICE_DLQ:9" ||
		r.Header.Get(HeaderOriginalSubject) != subject || r.Header.Get("Nats-Expected-Stream") != "" {
		t.Fatalf("redrive message = %s %v", r.Subject, r.Header)
	}
	if got, redriven := originalSubject(r.Subject, r.Header); got != subject || !redriven {
		t.Fatalf("redriven message reads as subject %q", got)
	}
}

func FuzzDeadLetterRoundTrip(f *testing.F) {
	for i, r := range reasonSeeds {
		f.Add("sluice.events.b.put", "evt", r, uint64(i), uint64(i))
	}
	f.Fuzz(func(t *testing.T, subject, id, reason string, delivered, seq uint64) {
		checkOneLine(t, reason)
		// Subjects and ids come from NATS, which never carries CR/LF or
		// empty subjects in them.
		if subject == "" || strings.ContainsAny(subject+id, "\r\n\x00") || !utf8.ValidString(subject+id) ||
			strings.TrimSpace(subject) != subject || strings.TrimSpace(id) != id {
			return
		}
		checkDeadLetterRoundTrip(t, subject, id, reason, delivered, seq)
	})
}

// FuzzParseDeadLetter feeds arbitrary header values: parsing never panics.
func FuzzParseDeadLetter(f *testing.F) {
	f.Add("12", "3", "2026-01-02T03:04:05Z", "sluice.dlq.idx")
	f.Add("-1", "x", "yesterday", "")
	f.Add("18446744073709551616", "", "", "sluice.dlq.")
	f.Fuzz(func(t *testing.T, seq, deliveries, when, subject string) {
		h := nats.Header{}
		h.Set(HeaderDLQStreamSeq, seq)
		h.Set(HeaderDLQDeliveries, deliveries)
		h.Set(HeaderDLQTime, when)
		d := parseDeadLetter(&jetstream.RawStreamMsg{Subject: subject, Header: h})
		if d.Headers == nil {
			t.Fatal("nil headers")
		}
	})
}
