package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-io/sluice/indexer/store"
	"github.com/sluice-io/sluice/indexer/store/sqlite"
	"github.com/sluice-io/sluice/indexer/store/storetest"
)

// BenchmarkApply measures ingest: batches of 500 new objects (two metadata
// fields and a tag each) per transaction. It reports events/s.
//
//	go test -run XXX -bench BenchmarkApply -benchtime 40x ./store/sqlite/
func BenchmarkApply(b *testing.B) {
	s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(b.TempDir(), "index.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchApply(b, s, 500)
}

// BenchmarkApplyAtSize measures ingest once the index holds
// SLUICE_INDEX_BENCH_OBJECTS objects (100000 by default), with batches of
// 500 (the service's default) and 2000 new objects per transaction. It
// reports events/s at that size and the rate of the fill (batches of 2000)
// as fill-events/s.
//
//	SLUICE_INDEX_BENCH_OBJECTS=1000000 go test -run XXX -bench BenchmarkApplyAtSize -benchtime 100x -timeout 30m ./store/sqlite/
func BenchmarkApplyAtSize(b *testing.B) {
	s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(b.TempDir(), "index.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchApplyAt(b, s, storetest.BenchObjects(b, 100000), 500, 2000)
}

// BenchmarkQuery measures search latency (first page of 100 in one
// bucket) on an index of SLUICE_INDEX_BENCH_OBJECTS objects (100000 by
// default), and reports p50 and p99 in milliseconds. The index is built
// once per process.
//
//	SLUICE_INDEX_BENCH_OBJECTS=1000000 go test -run XXX -bench BenchmarkQuery -benchtime 200x -timeout 30m ./store/sqlite/
func BenchmarkQuery(b *testing.B) {
	n := storetest.BenchObjects(b, 100000)
	s := queryStore(b, n)
	for _, q := range storetest.BenchQueries {
		b.Run(q.Name, func(b *testing.B) { storetest.BenchQuery(b, s, n, q.Where, q.Mid) })
	}
}

var (
	benchStore store.Store
	benchDir   string
)

// queryStore returns the shared query benchmark store, building it on
// first use (it outlives one benchmark, so TestMain removes it).
func queryStore(b *testing.B, n int) store.Store {
	if benchStore != nil {
		return benchStore
	}
	dir, err := os.MkdirTemp("", "sluice-index-bench-")
	if err != nil {
		b.Fatal(err)
	}
	benchDir = dir
	s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(dir, "index.db")})
	if err != nil {
		b.Fatal(err)
	}
	rate := storetest.FillBench(b, s, n)
	b.Logf("indexed %d objects at %.0f events/s (batches of 2000)", n, rate)
	benchStore = s
	return s
}

// TestMain removes the query benchmark's index.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchStore != nil {
		_ = benchStore.Close()
	}
	if benchDir != "" {
		_ = os.RemoveAll(benchDir)
	}
	os.Exit(code)
}
