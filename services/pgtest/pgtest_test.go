package pgtest_test

import (
	"context"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-io/sluice/services/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestStartPostgres(t *testing.T) {
	ctx := context.Background()
	dsns := map[string]bool{}
	for range 2 {
		dsn := pgtest.StartPostgres(t)
		if dsns[dsn] {
			t.Fatalf("DSN %s handed out twice", dsn)
		}
		dsns[dsn] = true
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("fresh database has %d tables", n)
		}
		if _, err := conn.Exec(ctx, `CREATE TABLE t (x int)`); err != nil {
			t.Fatal(err)
		}
		var enc string
		if err := conn.QueryRow(ctx, `SHOW server_encoding`).Scan(&enc); err != nil || enc != "UTF8" {
			t.Fatalf("encoding %q, %v", enc, err)
		}
		_ = conn.Close(ctx)
	}
}

// TestExternalDSN: with SLUICE_TEST_PG_DSN set, databases are created on that
// server (here: the shared cluster, reached through its postgres database).
func TestExternalDSN(t *testing.T) {
	ctx := context.Background()
	u, err := url.Parse(pgtest.StartPostgres(t))
	if err != nil {
		t.Fatal(err)
	}
	admin := *u
	admin.Path = "/postgres"
	t.Setenv(pgtest.EnvDSN, admin.String())
	dsn := pgtest.StartPostgres(t)
	got, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if got.Host != u.Host || got.Path == u.Path || got.Path == "/postgres" {
		t.Fatalf("external DSN %s: want a new database on %s", dsn, u.Host)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var name string
	if err := conn.QueryRow(ctx, `SELECT current_database()`).Scan(&name); err != nil || "/"+name != got.Path {
		t.Fatalf("connected to %q (%v), want %s", name, err, got.Path)
	}
}
