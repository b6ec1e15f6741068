package deliver_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/deliver"
)

// BenchmarkDeliveryLatency publishes b.N events at a fixed rate (open
// loop: each publish starts at its scheduled time) and measures, per
// event, the time from the start of its publish (which returns after the
// PubAck) to its receipt by a webhook on 127.0.0.1. It reports p50, p99
// and max in milliseconds. Run with a fixed count, e.g.
//
//	go test ./deliver -run '^$' -bench DeliveryLatency -benchtime 2000x
func BenchmarkDeliveryLatency(b *testing.B) {
	for _, rate := range []int{100, 1000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) { benchLatency(b, rate) })
	}
}

func benchLatency(b *testing.B, rate int) {
	e := newEnv(b)
	n := b.N
	var (
		mu       sync.Mutex
		received = make(map[string]time.Time, n)
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		id := r.Header.Get(deliver.HeaderEventID)
		mu.Lock()
		if _, dup := received[id]; !dup {
			received[id] = now
		}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(srv.Close)
	tc := deliver.TargetConfig{Name: "bench", Kind: deliver.KindWebhook, URL: srv.URL + "/hook", Secret: "bench-secret"}
	e.src.Set("bench", []deliver.Subscription{subscribe("bench", "all", tc.ARN().String(), []string{"s3:ObjectCreated:*"})})
	e.startDeliverer(b, deliver.Config{Targets: []deliver.TargetConfig{tc}}, runOpts{})

	ids := make([]string, n)
	sent := make([]time.Time, n)
	ctx := testCtx(b)
	interval := time.Second / time.Duration(rate)
	b.ResetTimer()
	start := time.Now()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		seq := e.seq.Add(1)
		ids[i] = fmt.Sprintf("ev-%06d", seq)
		m, _ := eventMsg(b, ev{bucket: "bench", name: events.ObjectCreatedPut, key: fmt.Sprintf("k%d", i)}, ids[i], seq)
		sent[i] = time.Now()
		if _, err := e.bus.Publish(ctx, m); err != nil {
			b.Fatalf("publish: %v", err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		got := len(received)
		mu.Unlock()
		if got >= n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d events received", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	lat := make([]time.Duration, n)
	mu.Lock()
	for i, id := range ids {
		lat[i] = received[id].Sub(sent[i])
	}
	mu.Unlock()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(n-1, int(p*float64(n)))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lat[n-1])/float64(time.Millisecond), "max-ms")
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
}
