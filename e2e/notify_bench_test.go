package e2e

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-io/sluice/e2e/load"
	"github.com/sluice-io/sluice/e2e/notifybench"
	"github.com/sluice-io/sluice/e2e/stack"
)

// notifyBenchEnv, set to 1, enables BenchmarkNotifyLatency, which starts a real sluice
// process and sends thousands of PUTs: too much for `go test -bench .` by accident.
const notifyBenchEnv = "SLUICE_NOTIFY_BENCH"

// notifyBenchRatesEnv overrides BenchmarkNotifyLatency's rates (PUT/s, comma separated;
// default 100,1000).
const notifyBenchRatesEnv = "SLUICE_NOTIFY_BENCH_RATES"

// notifyBenchConcurrencyEnv sets the webhook target's concurrency (default: Sluice's).
const notifyBenchConcurrencyEnv = "SLUICE_NOTIFY_BENCH_CONCURRENCY"

// BenchmarkNotifyLatency measures PUT acknowledged → webhook receipt through one
// `sluice run all` (s3front, the outbox relay and the deliverer in one process, embedded
// NATS) with a signed binary-mode webhook on 127.0.0.1. PUTs of 1 KiB new keys are sent
// open loop at the sub-benchmark's rate (b.N of them: use -benchtime 2000x, 10000x); the
// webhook records when each key's event first arrived and the two are correlated by
// key. Reported: p50-ms, p99-ms, max-ms (latency), put/s (achieved acknowledgement
// rate), late (PUTs sent more than 10 ms behind schedule), early (events that
// arrived before their PUT's answer, counted as 0). /proc/loadavg is logged before and
// after each run: the machine may be shared. scripts/bench-notify.sh runs both rates.
func BenchmarkNotifyLatency(b *testing.B) {
	if os.Getenv(notifyBenchEnv) != "1" {
		b.Skipf("set %s=1 to run (starts sluice and sends thousands of PUTs)", notifyBenchEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	bin := sluiceBin.get(b)
	dir := b.TempDir()
	recv := notifybench.NewReceiver([]byte("bench-secret"), nil)
	if err := recv.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer recv.Close()
	target := notifybench.Target{Name: "bench", URL: recv.URL(), Secret: "bench-secret"}
	if v := os.Getenv(notifyBenchConcurrencyEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a positive number", notifyBenchConcurrencyEnv, v)
		}
		target.Concurrency = n
	}
	cfgPath := filepath.Join(dir, "sluice.yaml")
	if err := notifybench.WriteConfig(cfgPath, target); err != nil {
		b.Fatal(err)
	}
	s := stack.New(stack.Config{Bin: bin, Dir: dir, Env: []string{"SLUICE_CONFIG=" + cfgPath, "SLUICE_LOG_LEVEL=warn", "SLUICE_HTTP_PPROF=true"}})
	if err := s.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := s.Stop(context.Background()); err != nil {
			b.Errorf("stop sluice: %v", err)
		}
	}()
	client, closeClient := load.NewClient(load.Config{Endpoint: s.Endpoint, AccessKey: s.AccessKey, SecretKey: s.SecretKey,
		Region: s.Region, Concurrency: notifybench.DefaultOpenMaxInFlight})
	defer closeClient()
	const bucket = "notify-bench"
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		b.Fatal(err)
	}
	if err := notifybench.Subscribe(ctx, client, bucket, target); err != nil {
		b.Fatal(err)
	}

	rates := []float64{100, 1000}
	if v := os.Getenv(notifyBenchRatesEnv); v != "" {
		rates = nil
		for _, f := range strings.Split(v, ",") {
			r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || r <= 0 {
				b.Fatalf("%s=%q: want positive PUT rates separated by commas", notifyBenchRatesEnv, v)
			}
			rates = append(rates, r)
		}
	}
	run := 0
	for _, rate := range rates {
		b.Run(fmt.Sprintf("rate=%.0f", rate), func(b *testing.B) {
			run++
			prefix := fmt.Sprintf("r%.0f-%d/", rate, run)
			before := loadavg()
			m0 := scrape(ctx, s.HTTPURL)
			b.ResetTimer()
			g, err := notifybench.Generate(ctx, notifybench.GenConfig{Client: client, Bucket: bucket, KeyPrefix: prefix,
				Count: b.N, Rate: rate, Clock: time.Now})
			if err != nil {
				b.Fatal(err)
			}
			if g.Failed != 0 {
				b.Fatalf("%d of %d PUTs failed: %v", g.Failed, b.N, g.FirstErr())
			}
			keys := g.Keys()
			end := time.Now().Add(time.Minute)
			for len(recv.Missing(keys)) > 0 && time.Now().Before(end) {
				time.Sleep(20 * time.Millisecond)
			}
			b.StopTimer()
			lat, missing, early := notifybench.Correlate(g, recv)
			if len(missing) > 0 {
				b.Fatalf("%d of %d events never reached the webhook (e.g. %s)", len(missing), len(keys), missing[0])
			}
			sum := notifybench.Summarize(lat)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(sum.P50), "p50-ms")
			b.ReportMetric(ms(sum.P99), "p99-ms")
			b.ReportMetric(ms(sum.Max), "max-ms")
			b.ReportMetric(g.AckRate, "put/s")
			b.ReportMetric(float64(g.Late), "late")
			b.ReportMetric(float64(early), "early")
			b.Logf("rate %.0f/s, %d PUTs: sent at %.0f/s, acknowledged at %.0f/s, %d late; PUT %s; ack→webhook %s, %d early; loadavg before %q after %q",
				rate, b.N, g.IssueRate, g.AckRate, g.Late, notifybench.Summarize(g.PutLatencies()), sum, early, before, loadavg())
			logWorstSeconds(b, g, recv)
			logWarnings(b, s.LogPath)
			m1 := scrape(ctx, s.HTTPURL)
			for _, h := range []string{"sluice_s3_request_duration_seconds", "sluice_outbox_publish_lag_seconds", "sluice_deliver_latency_seconds"} {
				b.Logf("  %s over the run: %s", h, m1.histogram(h).minus(m0.histogram(h)))
			}
		})
	}
}

// logWorstSeconds logs the three seconds of the run (by send time) with the slowest
// ack → webhook latency, with their slowest PUT: it tells a stall of a moment from a
// backlog that built up over the run.
func logWorstSeconds(b *testing.B, g notifybench.GenResult, recv *notifybench.Receiver) {
	if len(g.Puts) == 0 {
		return
	}
	type second struct {
		n          int
		put, event time.Duration
	}
	start := g.Puts[0].Sent
	var secs []second
	for _, p := range g.Puts {
		if p.Err != nil {
			continue
		}
		i := int(p.Sent.Sub(start) / time.Second)
		for len(secs) <= i {
			secs = append(secs, second{})
		}
		s := &secs[i]
		s.n++
		s.put = max(s.put, p.Acked.Sub(p.Sent))
		if at, ok := recv.Received(p.Key); ok {
			s.event = max(s.event, at.Sub(p.Acked))
		}
	}
	order := make([]int, len(secs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, c int) int { return cmp.Compare(secs[c].event, secs[a].event) })
	var worst []string
	for _, i := range order[:min(3, len(order))] {
		worst = append(worst, fmt.Sprintf("second %d: %d PUTs, slowest PUT %v, ack→webhook %v", i, secs[i].n,
			secs[i].put.Round(time.Millisecond), secs[i].event.Round(time.Millisecond)))
	}
	b.Logf("  worst of %d seconds: %s", len(secs), strings.Join(worst, "; "))
}

// logWarnings logs how many warn and error lines the process log at path holds, and
// the first: a stall in a benchmark often has its cause there. (A benchmark's log is
// cut after 10 lines.)
func logWarnings(b *testing.B, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Logf("  process log: %v", err)
		return
	}
	var n int
	var first []string
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.Contains(line, `"level":"warn"`) && !strings.Contains(line, `"level":"error"`) {
			continue
		}
		if n++; len(first) < 1 {
			first = append(first, line[:min(len(line), 300)])
		}
	}
	if len(first) == 0 {
		b.Logf("  process log: no warn/error lines")
		return
	}
	b.Logf("  process log: %d warn/error lines so far, the first: %s", n, first[0])
}

// loadavg returns the first three fields of /proc/loadavg, or "" where there is none.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// metricsText is one scrape of a process's /metrics.
type metricsText string

// scrape reads url/metrics; "" when it cannot.
func scrape(ctx context.Context, url string) metricsText {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
	if err != nil {
		return ""
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return metricsText(b)
}

// histo is a Prometheus histogram summed over its label sets: cumulative counts per
// upper bound, the count and the sum.
type histo struct {
	le         []float64
	cum        map[float64]float64
	count, sum float64
}

// histogram extracts the histogram name from the scrape.
func (m metricsText) histogram(name string) histo {
	h := histo{cum: map[float64]float64{}}
	for _, line := range strings.Split(string(m), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(f[0], name+"_bucket{"):
			i := strings.Index(f[0], `le="`)
			if i < 0 {
				continue
			}
			ub, err := strconv.ParseFloat(strings.TrimSuffix(f[0][i+4:], `"}`), 64)
			if err != nil {
				continue
			}
			if _, ok := h.cum[ub]; !ok {
				h.le = append(h.le, ub)
			}
			h.cum[ub] += v
		case f[0] == name+"_count" || strings.HasPrefix(f[0], name+"_count{"):
			h.count += v
		case f[0] == name+"_sum" || strings.HasPrefix(f[0], name+"_sum{"):
			h.sum += v
		}
	}
	slices.Sort(h.le)
	return h
}

// minus returns h - o: what was observed between two scrapes.
func (h histo) minus(o histo) histo {
	out := histo{le: h.le, cum: map[float64]float64{}, count: h.count - o.count, sum: h.sum - o.sum}
	for _, ub := range h.le {
		out.cum[ub] = h.cum[ub] - o.cum[ub]
	}
	return out
}

// quantile returns the upper bound of the bucket holding quantile q.
func (h histo) quantile(q float64) float64 {
	for _, ub := range h.le {
		if h.cum[ub] >= q*h.count {
			return ub
		}
	}
	return math.Inf(1)
}

func (h histo) String() string {
	if h.count == 0 {
		return "no observations"
	}
	return fmt.Sprintf("n=%.0f mean=%.2fms p50<=%gs p99<=%gs", h.count, 1000*h.sum/h.count, h.quantile(0.5), h.quantile(0.99))
}
