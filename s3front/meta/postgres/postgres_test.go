package postgres_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/meta/metatest"
	"github.com/sluice-io/sluice/s3front/meta/postgres"
	"github.com/sluice-io/sluice/services/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func open(t *testing.T, dsn string) meta.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), postgres.Config{DSN: dsn})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.Store { return open(t, pgtest.StartPostgres(t)) })
}

// TestTwoStoresOneDatabase runs two stores (as two s3front replicas would) on one
// database: migrations are idempotent and writes through one are visible to the
// other.
func TestTwoStoresOneDatabase(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.StartPostgres(t)
	a, b := open(t, dsn), open(t, dsn)
	if _, err := a.CreateBucket(ctx, meta.Bucket{Name: "shared", Owner: "o", Location: "l"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateBucket(ctx, meta.Bucket{Name: "shared", Owner: "o", Location: "l"}); err == nil {
		t.Fatal("second replica created an existing bucket")
	}
	r, err := b.PutObject(ctx, meta.Object{Bucket: "shared", Key: "k", DataKey: "d"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.GetObject(ctx, "shared", "k", "")
	if err != nil || got.Sequencer != r.Object.Sequencer {
		t.Fatalf("get via other replica = %+v, %v", got, err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{"", "postgres://user:s3cret@127.0.0.1:1/db?connect_timeout=1", "::not a dsn::password=s3cret"} {
		s, err := postgres.Open(ctx, postgres.Config{DSN: dsn})
		if err == nil {
			_ = s.Close()
			t.Fatalf("Open(%q) succeeded", dsn)
		}
		if dsn != "" && strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("error leaks the password: %v", err)
		}
	}
}
