package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sluice-io/sluice/indexer/store"
	"github.com/sluice-io/sluice/indexer/store/sqlite"
	"github.com/sluice-io/sluice/indexer/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "index.db")})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
