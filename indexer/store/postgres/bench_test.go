package postgres_test

import (
	"context"
	"testing"

	"github.com/sluice-io/sluice/indexer/store/postgres"
	"github.com/sluice-io/sluice/indexer/store/storetest"
	"github.com/sluice-io/sluice/services/pgtest"
)

// BenchmarkApply measures ingest into PostgreSQL: batches of 500 new
// objects per transaction. It reports events/s.
//
//	SLUICE_REQUIRE_POSTGRES=1 go test -run XXX -bench BenchmarkApply -benchtime 40x ./store/postgres/
func BenchmarkApply(b *testing.B) {
	s, err := postgres.Open(context.Background(), postgres.Config{DSN: pgtest.DSN(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchApply(b, s, 500)
}

// BenchmarkQuery measures search latency on PostgreSQL with
// SLUICE_INDEX_BENCH_OBJECTS objects (100000 by default), p50 and p99 in
// milliseconds. The index is built per run of the benchmark.
//
//	SLUICE_REQUIRE_POSTGRES=1 go test -run XXX -bench BenchmarkQuery -benchtime 200x -timeout 30m ./store/postgres/
func BenchmarkQuery(b *testing.B) {
	s, err := postgres.Open(context.Background(), postgres.Config{DSN: pgtest.DSN(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	n := storetest.BenchObjects(b, 100000)
	rate := storetest.FillBench(b, s, n)
	b.Logf("indexed %d objects at %.0f events/s (batches of 2000)", n, rate)
	for _, q := range storetest.BenchQueries {
		b.Run(q.Name, func(b *testing.B) { storetest.BenchQuery(b, s, n, q.Where, q.Mid) })
	}
}
