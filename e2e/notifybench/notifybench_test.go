package notifybench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluice-io/sluice/e2e/load"
	"github.com/sluice-io/sluice/e2e/notifybench"
	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/deliver"
	"github.com/sluice-io/sluice/events/deliver/signature"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var secret = []byte("bench-secret")

// recordBody is the binary-mode body of an event of key in bucket.
func recordBody(t *testing.T, name events.EventName, bucket, key string) []byte {
	t.Helper()
	rec := events.Record{EventName: name, S3: events.S3Entity{Bucket: events.BucketEntity{Name: bucket}}}
	if key != "" {
		rec.SetObjectKey(key)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func startReceiver(t *testing.T) *notifybench.Receiver {
	t.Helper()
	r := notifybench.NewReceiver(secret, nil)
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func post(t *testing.T, url, id string, body []byte, sig string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(deliver.HeaderEventID, id)
	if sig != "" {
		req.Header.Set(signature.Header, sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestReceiver: each kind of request is answered and counted as the tests that rely
// on the receiver assume.
func TestReceiver(t *testing.T) {
	r := startReceiver(t)
	good := recordBody(t, "ObjectCreated:Put", "b", "dir/a b.txt")
	tests := []struct {
		name   string
		id     string
		body   []byte
		sig    string
		mode   notifybench.Mode
		status int
	}{
		{"signed event", "e1", good, signature.Sign(secret, good), notifybench.Up, http.StatusNoContent},
		{"duplicate", "e1", good, signature.Sign(secret, good), notifybench.Up, http.StatusNoContent},
		{"wrong secret", "e2", good, signature.Sign([]byte("other"), good), notifybench.Up, http.StatusUnauthorized},
		{"no signature", "e3", good, "", notifybench.Up, http.StatusUnauthorized},
		{"not a record", "e4", []byte("{"), signature.Sign(secret, []byte("{")), notifybench.Up, http.StatusBadRequest},
		{"test event", "t1", recordBody(t, events.TestEvent, "b", ""), signature.Sign(secret, recordBody(t, events.TestEvent, "b", "")), notifybench.Up, http.StatusNoContent},
		{"down", "e5", good, signature.Sign(secret, good), notifybench.Unavailable, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		r.SetMode(tt.mode)
		if got := post(t, r.URL(), tt.id, tt.body, tt.sig); got != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.status)
		}
	}
	want := notifybench.Stats{Requests: 7, Accepted: 3, Keys: 1, Duplicates: 1, TestEvents: 1, BadSignatures: 2, Undecodable: 1, Refused: 1}
	if got := r.Stats(); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	if _, ok := r.Received("dir/a b.txt"); !ok {
		t.Error("key not recorded under its decoded name")
	}
	if m := r.Missing([]string{"dir/a b.txt", "nope"}); len(m) != 1 || m[0] != "nope" {
		t.Errorf("Missing = %q", m)
	}
	if n := r.TestEvents("b"); n != 1 {
		t.Errorf("TestEvents(b) = %d", n)
	}
}

// TestReceiverHoldAndRestart: a held delivery is recorded but not answered until
// Release; after Close the receiver comes back on the same URL.
func TestReceiverHoldAndRestart(t *testing.T) {
	r := startReceiver(t)
	url := r.URL()
	body := recordBody(t, "ObjectCreated:Put", "b", "k")
	r.Hold()
	done := make(chan int, 1)
	go func() { done <- post(t, url, "h1", body, signature.Sign(secret, body)) }()
	deadline := time.Now().Add(10 * time.Second)
	for r.InFlight() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("held delivery never in flight")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case s := <-done:
		t.Fatalf("held delivery answered %d", s)
	default:
	}
	r.Release()
	if s := <-done; s != http.StatusNoContent {
		t.Fatalf("released delivery answered %d", s)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Post(url, "application/json", strings.NewReader("x")); err == nil {
		t.Fatal("closed receiver still answers")
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.URL() != url {
		t.Fatalf("URL after restart %s, want %s", r.URL(), url)
	}
	if s := post(t, url, "h2", body, signature.Sign(secret, body)); s != http.StatusNoContent {
		t.Fatalf("after restart: %d", s)
	}
}

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	seq := func(n int) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = time.Duration(n-i) * ms // reversed: Summarize sorts
		}
		return out
	}
	tests := []struct {
		name string
		in   []time.Duration
		want notifybench.Summary
	}{
		{"empty", nil, notifybench.Summary{}},
		{"one", []time.Duration{3 * ms}, notifybench.Summary{N: 1, Min: 3 * ms, P50: 3 * ms, P99: 3 * ms, Max: 3 * ms}},
		{"hundred", seq(100), notifybench.Summary{N: 100, Min: ms, P50: 50 * ms, P99: 99 * ms, Max: 100 * ms}},
		{"thousand", seq(1000), notifybench.Summary{N: 1000, Min: ms, P50: 500 * ms, P99: 990 * ms, Max: 1000 * ms}},
	}
	for _, tt := range tests {
		if got := notifybench.Summarize(tt.in); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestConfigYAML(t *testing.T) {
	got := notifybench.ConfigYAML(notifybench.Target{Name: "hook", URL: "http://127.0.0.1:1/hook", Secret: `s"x`,
		Concurrency: 4, AckWait: 2 * time.Second, BackoffInitial: 100 * time.Millisecond, BackoffMax: time.Second})
	for _, want := range []string{"ack_wait: 2s", `name: "hook"`, `secret: "s\"x"`, "concurrency: 4", "backoff: {initial: 100ms, max: 1s"} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %q:\n%s", want, got)
		}
	}
}

func TestGenerateRejectsBadConfig(t *testing.T) {
	if _, err := notifybench.Generate(context.Background(), notifybench.GenConfig{Bucket: "b", Count: 1}); err == nil {
		t.Fatal("Generate without a client succeeded")
	}
}

// TestGenerate: both loops send every PUT once, record each outcome under its key,
// and count failures, against an S3 stand-in that refuses one key.
func TestGenerate(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		seen[r.URL.Path]++
		mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/000003") {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("ETag", `"x"`)
	}))
	defer srv.Close()
	client, done := load.NewClient(load.Config{Endpoint: srv.URL, AccessKey: "a", SecretKey: "s", Region: "us-east-1", Concurrency: 4})
	defer done()
	tests := []struct {
		name string
		rate float64
	}{
		{"closed loop", 0},
		{"open loop", 2000},
	}
	for _, tt := range tests {
		prefix := strings.ReplaceAll(tt.name, " ", "-") + "/"
		g, err := notifybench.Generate(context.Background(), notifybench.GenConfig{Client: client, Bucket: "b", KeyPrefix: prefix,
			Count: 20, Rate: tt.rate, Concurrency: 4, Size: 10})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if g.Acked != 19 || g.Failed != 1 || len(g.Keys()) != 19 || len(g.PutLatencies()) != 19 || g.FirstErr() == nil {
			t.Errorf("%s: acked %d failed %d keys %d err %v", tt.name, g.Acked, g.Failed, len(g.Keys()), g.FirstErr())
		}
		for i, p := range g.Puts {
			if p.Key != notifybench.Key(prefix, i) || (p.Err == nil) == p.Acked.IsZero() {
				t.Errorf("%s: PUT %d = %+v", tt.name, i, p)
			}
		}
		mu.Lock()
		for i := range 20 {
			if n := seen["/b/"+notifybench.Key(prefix, i)]; n != 1 {
				t.Errorf("%s: key %d sent %d times", tt.name, i, n)
			}
		}
		mu.Unlock()
	}
}
