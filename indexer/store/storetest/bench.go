package storetest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-io/sluice/indexer/query"
	"github.com/sluice-io/sluice/indexer/store"
)

// BenchObjectsEnv sets the size of the query benchmarks' index.
const BenchObjectsEnv = "SLUICE_INDEX_BENCH_OBJECTS"

// BenchObjects returns the index size of the query benchmarks: the
// environment variable BenchObjectsEnv, def when unset.
func BenchObjects(b *testing.B, def int) int {
	if v := os.Getenv(BenchObjectsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q", BenchObjectsEnv, v)
		}
		return n
	}
	return def
}

// BenchEvent returns the i-th object of the benchmark data set: one version
// per key, in one of four buckets, two metadata fields (color: 1000
// values, year: 35 values) and one tag (team: 50 values), like a typical
// upload.
func BenchEvent(i int) store.Event {
	return store.Event{
		Op: store.OpPut, Bucket: fmt.Sprintf("bucket-%d", i%4), Key: fmt.Sprintf("data/%07d/object-%d.bin", i/1000, i),
		VersionID: fmt.Sprintf("v%08x", i), Sequencer: Seq(i + 1), Time: T0.Add(time.Duration(i) * time.Second),
		Size: int64(i % 100000), ETag: fmt.Sprintf("%032x", i), ContentType: []string{"image/jpeg", "text/plain", "application/pdf"}[i%3],
		Location: []string{"local", "aws-east", "gcs-eu"}[i%3], Source: "sluice:s3",
		UserMetadata: map[string]string{"color": fmt.Sprintf("c%d", i%1000), "year": strconv.Itoa(1990 + i%35)},
		Tags:         map[string]string{"team": fmt.Sprintf("t%d", i%50)},
	}
}

// BenchApply measures ingest into s: batches of batch new objects per
// Apply. It reports events/s.
func BenchApply(b *testing.B, s store.Store, batch int) {
	evs := make([]store.Event, batch)
	n := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range evs {
			evs[j] = BenchEvent(n)
			n++
		}
		if _, err := s.Apply(context.Background(), evs); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchApplyAt measures ingest into s once it holds n objects: it loads
// n benchmark objects (untimed, FillBench, reported as fill-events/s), then
// runs one sub-benchmark per batch size, each timing b.N batches of that
// many new objects per Apply and reporting events/s. Each sub-benchmark
// adds its objects to the index, so later ones run on a slightly larger
// one.
func BenchApplyAt(b *testing.B, s store.Store, n int, batches ...int) {
	rate := FillBench(b, s, n)
	b.Logf("filled %d objects at %.0f events/s (batches of %d)", n, rate, fillBatch)
	next := n
	for _, batch := range batches {
		b.Run(fmt.Sprintf("batch-%d", batch), func(b *testing.B) {
			evs := make([]store.Event, batch)
			first := next
			cpu0 := processCPU()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range evs {
					evs[j] = BenchEvent(next)
					next++
				}
				if _, err := s.Apply(context.Background(), evs); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(next-first)/b.Elapsed().Seconds(), "events/s")
			// CPU time per event is steadier than the rate on a shared
			// machine.
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(next-first), "cpu-µs/event")
			b.ReportMetric(rate, "fill-events/s")
		})
	}
}

// processCPU returns the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fillBatch is the batch size of FillBench.
const fillBatch = 2000

// FillBench loads n benchmark objects into s (batches of 2000) and
// declares x-amz-meta-year an int in every bucket. It returns the ingest
// rate in events/s.
func FillBench(b *testing.B, s store.Store, n int) float64 {
	start := time.Now()
	const batch = fillBatch
	evs := make([]store.Event, 0, batch)
	for i := 0; i < n; i++ {
		evs = append(evs, BenchEvent(i))
		if len(evs) == batch || i == n-1 {
			if _, err := s.Apply(context.Background(), evs); err != nil {
				b.Fatal(err)
			}
			evs = evs[:0]
		}
	}
	for bk := 0; bk < 4; bk++ {
		if err := s.DeclareTypes(context.Background(), fmt.Sprintf("bucket-%d", bk), map[string]store.FieldType{"x-amz-meta-year": store.TypeInt}); err != nil {
			b.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

// BenchQueries are the benchmark's where clauses, each on bucket-1 (a
// quarter of the objects), first page of 100.
// Mid marks the queries that continue from the middle of the bucket (a
// cursor halfway through its keys) instead of its start.
var BenchQueries = []struct {
	Name, Where string
	Mid         bool
}{
	{"equality", `x-amz-meta-color = "c121"`, false},
	{"equality-no-match", `x-amz-meta-color = "none"`, false},
	{"equality-size-selective", `content-length = 12345`, false},
	{"equality-tag", `tags.team = "t7"`, false},
	{"equality-content-type", `content-type = "text/plain"`, false},
	{"range-typed", `x-amz-meta-year > 2022`, false},
	{"range-typed-narrow", `x-amz-meta-year >= 2000 AND x-amz-meta-year < 2001`, false},
	{"range-size", `content-length > 99900`, false},
	{"range-date", `last-modified >= 2024-03-02T00:00:00Z AND last-modified < 2024-03-02T00:10:00Z`, false},
	{"like-prefix", `key LIKE /^data\/000001[0-9]\//`, false},
	{"like-suffix", `key LIKE /object-1234[0-9]\.bin$/`, false},
	{"like-meta", `x-amz-meta-color LIKE /^c12[0-9]$/`, false},
	{"mid-page-equality", `x-amz-meta-color = "c121"`, true},
	{"mid-page-range-typed", `x-amz-meta-year > 2022`, true},
}

// BenchQuery runs one query b.N times on s, an index of n benchmark
// objects, and reports p50 and p99 latency in milliseconds, and the number
// of results of the page. With mid, the page starts halfway through the
// bucket's keys.
func BenchQuery(b *testing.B, s store.Store, n int, where string, mid bool) {
	e, err := query.Parse(where)
	if err != nil {
		b.Fatal(err)
	}
	in := store.SearchInput{Scope: store.Scope{Buckets: []string{"bucket-1"}, Where: e}, Limit: 100}
	if mid {
		in.After = &store.Cursor{Bucket: "bucket-1", Key: fmt.Sprintf("data/%07d/", n/2000)}
	}
	// One untimed run warms the caches.
	if _, err := s.Search(context.Background(), in); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	found := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		res, err := s.Search(context.Background(), in)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		found = len(res.Records)
	}
	b.StopTimer()
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[min(len(lat)-1, len(lat)*99/100)]), "p99-ms")
	b.ReportMetric(float64(found), "results")
}
