package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/sluice-io/sluice/indexer/store"
	"github.com/sluice-io/sluice/indexer/store/internal/sqlstore"
	"github.com/sluice-io/sluice/indexer/store/sqlite"
	"github.com/sluice-io/sluice/indexer/store/storetest"
)

// TestPlans runs the conformance suite on SQLite with the search plan
// forced each way: always from the most selective driver (a huge probe
// bound), and always in key order (a bound no driver stays under). Every
// plan must give the same answers.
func TestPlans(t *testing.T) {
	for _, limit := range []int{0, 1 << 30} {
		t.Run(fmt.Sprintf("probe-limit-%d", limit), func(t *testing.T) {
			defer sqlstore.SetProbeLimit(limit)()
			storetest.Run(t, func(t *testing.T) store.Store {
				s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "index.db")})
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
		})
	}
}
