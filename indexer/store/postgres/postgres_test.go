package postgres_test

import (
	"context"
	"os"
	"testing"

	"github.com/sluice-io/sluice/indexer/store"
	"github.com/sluice-io/sluice/indexer/store/postgres"
	"github.com/sluice-io/sluice/indexer/store/storetest"
	"github.com/sluice-io/sluice/services/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), postgres.Config{DSN: pgtest.DSN(t)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestOpenErrors(t *testing.T) {
	if _, err := postgres.Open(context.Background(), postgres.Config{}); err == nil {
		t.Fatal("empty DSN accepted")
	}
	if _, err := postgres.Open(context.Background(), postgres.Config{DSN: "postgres://u:secret@127.0.0.1:1/db?connect_timeout=1"}); err == nil {
		t.Fatal("unreachable server accepted")
	} else if contains(err.Error(), "secret") {
		t.Fatalf("error leaks the password: %v", err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
