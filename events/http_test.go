package events

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

func TestStructuredRoundTrip(t *testing.T) {
	rec := sampleRecord()
	want, err := ToCloudEvent(sampleID, rec)
	if err != nil {
		t.Fatal(err)
	}
	b, err := MarshalStructured(want)
	if err != nil {
		t.Fatal(err)
	}
	// The record is embedded as a JSON object, not a string or base64.
	var doc struct {
		SpecVersion string          `json:"specversion"`
		Sequencer   string          `json:"sequencer"`
		Data        json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SpecVersion != "1.0" || doc.Sequencer != rec.S3.Object.Sequencer || !strings.HasPrefix(string(doc.Data), "{") {
		t.Errorf("structured document: %s", b)
	}
	got, err := UnmarshalStructured(b)
	if err != nil {
		t.Fatal(err)
	}
	assertSameEvent(t, got, want)
	back, err := RecordFromCloudEvent(got)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, back, rec)
}

var structuredErrors = []struct {
	name, doc string
	want      error
}{
	{"not json", `{`, ErrMalformed},
	{"no specversion", `{"id":"1","source":"s","type":"t"}`, ErrMalformed},
	{"spec 0.3", `{"specversion":"0.3","id":"1","source":"s","type":"t"}`, ErrSpecVersion},
	{"no id", `{"specversion":"1.0","source":"s","type":"t"}`, ErrMissingAttribute},
	{"no source", `{"specversion":"1.0","id":"1","type":"t"}`, ErrMissingAttribute},
	{"no type", `{"specversion":"1.0","id":"1","source":"s"}`, ErrMissingAttribute},
	{"bad time", `{"specversion":"1.0","id":"1","source":"s","type":"t","time":"noon"}`, ErrMalformed},
}

func TestUnmarshalStructuredErrors(t *testing.T) {
	for _, c := range structuredErrors {
		if _, err := UnmarshalStructured([]byte(c.doc)); !errors.Is(err, c.want) || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error = %v, want %v wrapped in ErrMalformed", c.name, err, c.want)
		}
	}
	if _, err := MarshalStructured(event.Event{}); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("MarshalStructured(empty): %v", err)
	}
}

func FuzzUnmarshalStructured(f *testing.F) {
	for _, c := range structuredErrors {
		f.Add([]byte(c.doc))
	}
	if e, err := ToCloudEvent(sampleID, sampleRecord()); err == nil {
		if b, err := MarshalStructured(e); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := UnmarshalStructured(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not wrapping ErrMalformed: %v", err)
			}
			return
		}
		if _, err := RecordFromCloudEvent(e); err != nil && !wrapsSentinel(err) {
			t.Fatalf("RecordFromCloudEvent: unwrapped error %v", err)
		}
	})
}

// TestHTTPRoundTrip POSTs an event in each mode to a real HTTP server on
// 127.0.0.1, which decodes it with EventFromHTTPRequest.
func TestHTTPRoundTrip(t *testing.T) {
	type result struct {
		e   event.Event
		err error
	}
	got := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := EventFromHTTPRequest(r)
		got <- result{e, err}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	client := srv.Client()

	rec := sampleRecord()
	want, err := ToCloudEvent(sampleID, rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []HTTPMode{HTTPBinary, HTTPStructured} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, err := NewHTTPRequest(ctx, srv.URL, want, mode)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		cancel()
		if err != nil {
			t.Fatalf("mode %d: %v", mode, err)
		}
		resp.Body.Close()
		r := <-got
		if r.err != nil {
			t.Fatalf("mode %d: server decode: %v", mode, r.err)
		}
		assertSameEvent(t, r.e, want)
		back, err := RecordFromCloudEvent(r.e)
		if err != nil {
			t.Fatal(err)
		}
		jsonEqual(t, back, rec)
	}
}

func TestHTTPRequestShape(t *testing.T) {
	e, err := ToCloudEvent(sampleID, sampleRecord())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req, err := NewHTTPRequest(ctx, "http://127.0.0.1:1/hook", e, HTTPBinary)
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodPost || req.Header.Get("Ce-Id") != sampleID ||
		req.Header.Get("Content-Type") != DataContentType || req.Header.Get("Ce-Sequencer") == "" || req.GetBody == nil {
		t.Errorf("binary request: %s %v", req.Method, req.Header)
	}
	req, err = NewHTTPRequest(ctx, "http://127.0.0.1:1/hook", e, HTTPStructured)
	if err != nil || req.Header.Get("Content-Type") != ContentTypeStructured || req.Header.Get("Ce-Id") != "" {
		t.Errorf("structured request: %v %v", err, req.Header)
	}
	if _, err := NewHTTPRequest(ctx, "http://127.0.0.1:1/hook", e, HTTPMode(9)); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("unknown mode: %v", err)
	}
	if _, err := NewHTTPRequest(ctx, "http://127.0.0.1:1/hook", event.Event{}, HTTPBinary); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("invalid event: %v", err)
	}
	// Batches and oversized bodies are refused.
	h := http.Header{"Content-Type": {"application/cloudevents-batch+json"}}
	if _, err := EventFromHTTP(h, strings.NewReader("[]")); !errors.Is(err, ErrMalformed) {
		t.Errorf("batch: %v", err)
	}
	h = http.Header{"Content-Type": {ContentTypeStructured}}
	if _, err := EventFromHTTP(h, strings.NewReader(strings.Repeat(" ", MaxHTTPBodySize+1))); !errors.Is(err, ErrMalformed) {
		t.Errorf("oversized: %v", err)
	}
	if _, err := EventFromHTTPRequest(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("nil request: %v", err)
	}
}

// TestHTTPInteropSDK checks that the sdk's own HTTP binding reads our binary
// requests and that we read its, for ASCII values (the sdk does not
// percent-encode).
func TestHTTPInteropSDK(t *testing.T) {
	rec := sampleRecord()
	rec.SetObjectKey("photos/cat.jpg")
	want, err := ToCloudEvent(sampleID, rec)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ours, err := NewHTTPRequest(ctx, "http://127.0.0.1:1/", want, HTTPBinary)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cehttp.NewEventFromHTTPRequest(ours)
	if err != nil {
		t.Fatalf("sdk reading ours: %v", err)
	}
	assertSameEvent(t, *got, want)

	theirs, err := cehttp.NewHTTPRequestFromEvent(ctx, "http://127.0.0.1:1/", want)
	if err != nil {
		t.Fatal(err)
	}
	e, err := EventFromHTTPRequest(theirs)
	if err != nil {
		t.Fatalf("reading the sdk's: %v", err)
	}
	assertSameEvent(t, e, want)
}
