package deliver

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/bus"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in    string
		limit time.Duration
		want  time.Duration
	}{
		{"", time.Hour, 0},
		{"0", time.Hour, 0},
		{"1", time.Hour, time.Second},
		{" 120 ", time.Hour, 2 * time.Minute},
		{"99999999999999999999", time.Hour, time.Hour},
		{"7200", time.Hour, time.Hour},
		{"-5", time.Hour, 0},
		{"1.5", time.Hour, 0},
		{"soon", time.Hour, 0},
		{now.Add(30 * time.Second).Format(http.TimeFormat), time.Hour, 30 * time.Second},
		{now.Add(-30 * time.Second).Format(http.TimeFormat), time.Hour, 0},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), time.Hour, time.Hour},
		{"Sunday, 05-Jan-25 03:04:35 GMT", 0, 72*time.Hour + 30*time.Second}, // RFC 850
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now, tt.limit); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "1", "120", "99999999999999999999", "-5", "soon",
		"Thu, 02 Jan 2025 03:04:35 GMT", "Sunday, 05-Jan-25 03:04:35 GMT"} {
		f.Add(s, int64(time.Hour))
	}
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string, limit int64) {
		got := parseRetryAfter(s, now, time.Duration(limit))
		if got < 0 {
			t.Fatalf("negative delay %v for %q", got, s)
		}
		if limit > 0 && got > time.Duration(limit) {
			t.Fatalf("delay %v above limit %v for %q", got, time.Duration(limit), s)
		}
	})
}

func testRecord(t testing.TB) (events.Record, delivery) {
	t.Helper()
	rec := events.Record{EventName: events.ObjectCreatedPut, EventTime: time.Now(), AWSRegion: "us-east-1",
		S3: events.S3Entity{Bucket: events.BucketEntity{Name: "b"}, Object: events.ObjectEntity{Size: 1, Sequencer: "0A"}}}
	rec.SetObjectKey("k")
	e, err := events.ToCloudEvent("id-1", rec)
	if err != nil {
		t.Fatal(err)
	}
	return rec, delivery{event: e, record: rec.WithDefaults(), attempt: 1}
}

// TestHTTPSenderContract checks how each answer of a webhook and a
// function is classified.
func TestHTTPSenderContract(t *testing.T) {
	var status atomic.Int32
	var retryAfter atomic.Value
	retryAfter.Store("")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ra := retryAfter.Load().(string); ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		w.WriteHeader(int(status.Load()))
		_, _ = w.Write([]byte("reason\nsecond line"))
	}))
	t.Cleanup(srv.Close)
	tests := []struct {
		kind       Kind
		status     int
		retryAfter string
		wantOK     bool
		permanent  bool
		wantDelay  time.Duration
	}{
		{KindFunction, 200, "", true, false, 0},
		{KindFunction, 204, "", true, false, 0},
		{KindFunction, 400, "", false, true, 0},
		{KindFunction, 404, "", false, true, 0},
		{KindFunction, 408, "", false, false, 0},
		{KindFunction, 429, "3", false, false, 3 * time.Second},
		{KindFunction, 500, "", false, false, 0},
		{KindFunction, 503, "7", false, false, 7 * time.Second},
		{KindFunction, 302, "", false, false, 0},
		{KindWebhook, 200, "", true, false, 0},
		{KindWebhook, 400, "", false, false, 0},
		{KindWebhook, 410, "", false, false, 0},
		{KindWebhook, 503, "2", false, false, 2 * time.Second},
	}
	_, d := testRecord(t)
	for _, tt := range tests {
		t.Run(string(tt.kind)+"/"+strconv.Itoa(tt.status), func(t *testing.T) {
			status.Store(int32(tt.status))
			retryAfter.Store(tt.retryAfter)
			tc := TargetConfig{Name: "t", Kind: tt.kind, URL: srv.URL + "/?code=SECRETKEY"}.WithDefaults()
			o := newHTTPSender(tc, srv.Client().Transport, time.Now).send(context.Background(), d)
			if (o.err == nil) != tt.wantOK || o.permanent != tt.permanent || o.retryAfter != tt.wantDelay {
				t.Fatalf("outcome = %+v, want ok=%v permanent=%v retryAfter=%v", o, tt.wantOK, tt.permanent, tt.wantDelay)
			}
			if o.err != nil {
				if !errors.Is(o.err, ErrDelivery) || !strings.Contains(o.err.Error(), strconv.Itoa(tt.status)) {
					t.Fatalf("error %q does not wrap ErrDelivery with the status", o.err)
				}
				if strings.Contains(o.err.Error(), "SECRETKEY") || strings.Contains(o.err.Error(), "\n") {
					t.Fatalf("error %q leaks the URL query or spans lines", o.err)
				}
			}
		})
	}
}

func TestHTTPSenderTimeoutIsTransient(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	_, d := testRecord(t)
	tc := TargetConfig{Name: "t", Kind: KindFunction, URL: srv.URL, Timeout: 50 * time.Millisecond}.WithDefaults()
	o := newHTTPSender(tc, srv.Client().Transport, time.Now).send(context.Background(), d)
	if o.err == nil || o.permanent || !strings.Contains(o.err.Error(), "timed out") {
		t.Fatalf("outcome = %+v, want a transient timeout", o)
	}
}

func TestBreakerOpensAndProbesOneAtATime(t *testing.T) {
	b := newBreaker(2, bus.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond})
	ctx := context.Background()
	if p, err := b.enter(ctx); p || err != nil {
		t.Fatalf("closed circuit: enter = %v, %v", p, err)
	}
	if b.failed(false, 0) {
		t.Fatal("open after one failure, threshold 2")
	}
	if !b.failed(false, 0) {
		t.Fatal("closed after two failures, threshold 2")
	}
	// One prober at a time: the first enter gets the token, a second one
	// waits until the first reports.
	p1, err := b.enter(ctx)
	if !p1 || err != nil {
		t.Fatalf("open circuit: enter = %v, %v; want a probe", p1, err)
	}
	second := make(chan bool, 1)
	go func() {
		p, _ := b.enter(ctx)
		second <- p
	}()
	select {
	case <-second:
		t.Fatal("a second probe ran while the first was out")
	case <-time.After(20 * time.Millisecond):
	}
	if !b.failed(true, 0) {
		t.Fatal("failed probe closed the circuit")
	}
	if p2 := <-second; !p2 {
		t.Fatal("second caller did not get the probe after the first failed")
	}
	b.answered(true)
	if b.isOpen() {
		t.Fatal("circuit still open after an answer")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.enter(cctx); err != nil {
		t.Fatalf("closed circuit must not wait: %v", err)
	}
}

func TestBreakerRetryAfterOpensForTheDelay(t *testing.T) {
	b := newBreaker(-1, bus.Backoff{Initial: time.Millisecond, Max: time.Millisecond})
	start := time.Now()
	if !b.failed(false, 100*time.Millisecond) {
		t.Fatal("Retry-After did not open the circuit")
	}
	p, err := b.enter(context.Background())
	if !p || err != nil {
		t.Fatalf("enter = %v, %v", p, err)
	}
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Fatalf("probe after %v, before the Retry-After of 100ms", waited)
	}
	b.answered(true)
}
