package replbench

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluice-io/sluice/e2e/load"
	"github.com/sluice-io/sluice/e2e/peers"
	"github.com/sluice-io/sluice/e2e/stack"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var loadAvgCases = []struct {
	name, in string
	want     LoadAvg
	ok       bool
}{
	{"linux", "0.52 0.58 0.59 1/123 4567\n", LoadAvg{0.52, 0.58, 0.59}, true},
	{"three fields", "1 2.5 10", LoadAvg{1, 2.5, 10}, true},
	{"idle", "0.00 0.00 0.00 1/1 1", LoadAvg{}, true},
	{"empty", "", LoadAvg{}, false},
	{"two fields", "0.1 0.2", LoadAvg{}, false},
	{"not a number", "a 0.2 0.3 1/2 3", LoadAvg{}, false},
	{"negative", "-1 0.2 0.3", LoadAvg{}, false},
	{"nan", "NaN 0.2 0.3", LoadAvg{}, false},
	{"infinite", "0.1 +Inf 0.3", LoadAvg{}, false},
}

func TestParseLoadAvg(t *testing.T) {
	for _, tc := range loadAvgCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseLoadAvg(tc.in)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrLoadAvg)) {
				t.Fatalf("ParseLoadAvg(%q) error %v, want ok=%t", tc.in, err, tc.ok)
			}
			if got != tc.want {
				t.Fatalf("ParseLoadAvg(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzParseLoadAvg(f *testing.F) {
	for _, tc := range loadAvgCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLoadAvg(s)
		if err != nil {
			if !errors.Is(err, ErrLoadAvg) || l != (LoadAvg{}) {
				t.Fatalf("ParseLoadAvg(%q) = %+v, %v", s, l, err)
			}
			return
		}
		for _, v := range []float64{l.One, l.Five, l.Fifteen} {
			if v < 0 || v != v || v > 1e9 {
				t.Fatalf("ParseLoadAvg(%q) accepted %v", s, v)
			}
		}
		if again, err := ParseLoadAvg(l.String()); err != nil || again.String() != l.String() {
			t.Fatalf("ParseLoadAvg(String()) of %q = %+v, %v", s, again, err)
		}
	})
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestSectionSeeker(t *testing.T) {
	const size = 1000
	whole, err := io.ReadAll(load.Content("k", size))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		off, n      int64
		seek        int64 // position to seek to after a first full read
		whence      int
		wantSeekPos int64
	}{
		{"start", 0, 100, 0, io.SeekStart, 0},
		{"middle", 400, 300, 50, io.SeekStart, 50},
		{"tail", 900, 100, -10, io.SeekEnd, 90},
		{"current", 10, 20, -5, io.SeekCurrent, 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &sectionSeeker{r: load.Content("k", size), off: tc.off, n: tc.n}
			got, err := io.ReadAll(s)
			if err != nil || string(got) != string(whole[tc.off:tc.off+tc.n]) {
				t.Fatalf("read %d bytes, err %v; want bytes %d..%d", len(got), err, tc.off, tc.off+tc.n)
			}
			pos, err := s.Seek(tc.seek, tc.whence)
			if err != nil || pos != tc.wantSeekPos {
				t.Fatalf("Seek(%d, %d) = %d, %v; want %d", tc.seek, tc.whence, pos, err, tc.wantSeekPos)
			}
			rest, err := io.ReadAll(s)
			if err != nil || string(rest) != string(whole[tc.off+pos:tc.off+tc.n]) {
				t.Fatalf("after seek read %d bytes, err %v", len(rest), err)
			}
		})
	}
	if _, err := (&sectionSeeker{r: load.Content("k", size), n: 10}).Seek(-1, io.SeekStart); err == nil {
		t.Fatal("seek before the start succeeded")
	}
}

// benchEnv is the variable that turns TestReplicationBench on.
const benchEnv = "SLUICE_REPL_BENCH"

// TestReplicationBench measures replication lag and throughput on a real deployment
// (see the package documentation). It runs only with SLUICE_REPL_BENCH=1, normally
// through scripts/bench-replication.sh, and fails only when a measurement could not be
// completed. Settings come from the environment (defaults in brackets):
//
//	SLUICE_REPL_BENCH_ONLY         lag or throughput [both]
//	SLUICE_REPL_BENCH_RATE         offered PUTs per second [200]
//	SLUICE_REPL_BENCH_DURATION     offered-load duration [60s]
//	SLUICE_REPL_BENCH_LAG_SIZE     lag object size [64KiB]
//	SLUICE_REPL_BENCH_OBJECTS      throughput objects [16]
//	SLUICE_REPL_BENCH_SIZE         throughput object size [64MiB]
//	SLUICE_REPL_BENCH_CONCURRENCY  replicator and plain-copy concurrency [32]
//	SLUICE_REPL_BENCH_ROUNDS       throughput rounds, alternating which copy goes first [3]
//	SLUICE_REPL_BENCH_MULTIPART    1: throughput source objects are multipart uploads
//	SLUICE_REPL_BENCH_DEST_OPTIONS "minio" location options, e.g. partSize=16MiB,concurrency=4
//	SLUICE_REPL_BENCH_OUT          also write the results as JSON to this file
func TestReplicationBench(t *testing.T) {
	if os.Getenv(benchEnv) != "1" {
		t.Skipf("set %s=1 to run the replication measurements (scripts/bench-replication.sh)", benchEnv)
	}
	cfg := benchConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	binDir := t.TempDir()
	bin, err := stack.Binary(ctx, binDir)
	if err != nil {
		t.Fatal(err)
	}
	minio := peers.StartTest(t, peers.MinIO)
	d, err := Start(ctx, Options{Bin: bin, Dir: t.TempDir(), MinIO: minio, Concurrency: cfg.concurrency,
		DestinationOptions: cfg.destOptions, LogLevel: "warn"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replicator log tail:\n%s", d.Replicator.LogTail(4000))
		}
		if err := d.Close(context.Background()); err != nil {
			t.Errorf("stop deployment: %v", err)
		}
	})
	out := map[string]any{"concurrency": cfg.concurrency, "destinationOptions": cfg.destOptions}
	if cfg.only == "" || cfg.only == "lag" {
		res, err := MeasureLag(ctx, d, cfg.lag)
		t.Logf("lag: offered %.0f PUT/s of %s for %s: %d scheduled, %d acknowledged, %d errors, achieved %.1f PUT/s, %d started late",
			res.Options.Rate, load.FormatSize(res.Options.Size), res.Options.Duration, res.Scheduled, res.Acked, res.Errors, res.AchievedRate, res.Late)
		t.Logf("lag: PUT latency from due time: %s", res.Put)
		t.Logf("lag: %d replicated; PUT ack -> COMPLETED status received: %s", res.Replicated, res.Lag)
		t.Logf("lag: replicator's own lag (event time -> replica written): %s", res.ReplicatorLag)
		for _, w := range res.Windows {
			t.Logf("lag:   from %3.0fs: %4d acknowledged; lag %s; PUT p99 %.0f ms", w.Start.Seconds(), w.Acked, w.Lag,
				float64(w.Put.P99)/float64(time.Millisecond))
		}
		t.Logf("lag: load average before %s, after %s", res.LoadBefore, res.LoadAfter)
		out["lag"] = res
		if err != nil {
			t.Error(err)
		}
	}
	if cfg.only == "" || cfg.only == "throughput" {
		res, err := MeasureThroughput(ctx, d, cfg.throughput)
		o := res.Options
		t.Logf("throughput: %d x %s per round, concurrency %d, multipart source %t, load average before %s",
			o.Objects, load.FormatSize(o.Size), o.Concurrency, o.Multipart, res.LoadBefore)
		for i, r := range res.Rounds {
			first := "replication first"
			if r.PlainFirst {
				first = "plain copy first"
			}
			t.Logf("throughput:   round %d (%s): replication %.1f MiB/s (%s), plain copy %.1f MiB/s (%s), ratio %.2f, load %s",
				i+1, first, r.ReplicationMiBs, r.Replication.Round(time.Millisecond), r.PlainMiBs, r.Plain.Round(time.Millisecond), r.Ratio, r.Load)
		}
		t.Logf("throughput: median replication %.1f MiB/s, plain copy %.1f MiB/s, median ratio %.2f", res.ReplicationMiBs, res.PlainMiBs, res.Ratio)
		out["throughput"] = res
		if err != nil {
			t.Error(err)
		}
	}
	if path := os.Getenv("SLUICE_REPL_BENCH_OUT"); path != "" {
		b, err := json.MarshalIndent(out, "", "  ")
		if err == nil {
			err = os.WriteFile(path, b, 0o644)
		}
		if err != nil {
			t.Errorf("write %s: %v", path, err)
		}
	}
}

type benchSettings struct {
	only        string
	concurrency int
	destOptions map[string]string
	lag         LagOptions
	throughput  ThroughputOptions
}

// benchConfig reads TestReplicationBench's settings; a malformed one fails t.
func benchConfig(t *testing.T) benchSettings {
	t.Helper()
	env := func(name string) string { return strings.TrimSpace(os.Getenv("SLUICE_REPL_BENCH_" + name)) }
	num := func(name string, def int) int {
		if v := env(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				t.Fatalf("SLUICE_REPL_BENCH_%s=%q: want a positive integer", name, v)
			}
			return n
		}
		return def
	}
	size := func(name string, def int64) int64 {
		if v := env(name); v != "" {
			n, err := load.ParseSize(v)
			if err != nil || n <= 0 {
				t.Fatalf("SLUICE_REPL_BENCH_%s=%q: %v", name, v, err)
			}
			return n
		}
		return def
	}
	s := benchSettings{only: env("ONLY"), concurrency: num("CONCURRENCY", 32)}
	if s.only != "" && s.only != "lag" && s.only != "throughput" {
		t.Fatalf("SLUICE_REPL_BENCH_ONLY=%q: want lag or throughput", s.only)
	}
	s.lag = LagOptions{Rate: float64(num("RATE", 200)), Size: size("LAG_SIZE", 64<<10)}
	if v := env("DURATION"); v != "" {
		dur, err := time.ParseDuration(v)
		if err != nil || dur <= 0 {
			t.Fatalf("SLUICE_REPL_BENCH_DURATION=%q: want a positive duration", v)
		}
		s.lag.Duration = dur
	}
	s.throughput = ThroughputOptions{Objects: num("OBJECTS", 16), Size: size("SIZE", 64<<20),
		Concurrency: s.concurrency, Rounds: num("ROUNDS", 3), Multipart: env("MULTIPART") == "1"}
	if v := env("DEST_OPTIONS"); v != "" {
		s.destOptions = map[string]string{}
		for _, kv := range strings.Split(v, ",") {
			k, val, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("SLUICE_REPL_BENCH_DEST_OPTIONS: %q is not key=value", kv)
			}
			s.destOptions[strings.TrimSpace(k)] = strings.TrimSpace(val)
		}
	}
	return s
}
