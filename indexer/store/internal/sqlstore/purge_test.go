package sqlstore_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/sluice-io/sluice/indexer/store"
	"github.com/sluice-io/sluice/indexer/store/internal/sqlstore"
	"github.com/sluice-io/sluice/indexer/store/postgres"
	"github.com/sluice-io/sluice/indexer/store/storetest"
	"github.com/sluice-io/sluice/services/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestPurgeRacesRecreation re-creates a removed null version between the
// moment a purge chooses its tombstone and the moment it removes it
// (PostgreSQL: the writers run at once). The purge must check the row again
// under the key's lock and leave the live version.
func TestPurgeRacesRecreation(t *testing.T) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, postgres.Config{DSN: pgtest.DSN(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	t0 := storetest.T0
	ev := func(op store.Op, seq int) store.Event {
		return store.Event{Op: op, Bucket: "b", Key: "k", Sequencer: storetest.Seq(seq), Time: t0.Add(time.Duration(seq) * time.Second),
			Size: int64(seq), Source: "sluice:s3"}
	}
	if _, err := s.Apply(ctx, []store.Event{ev(store.OpPut, 1), ev(store.OpRemove, 2)}); err != nil {
		t.Fatal(err)
	}
	cutoff := time.Now().Add(time.Hour) // every row is older
	var hookErr error
	defer sqlstore.SetPurgeHook(func() {
		_, hookErr = s.Apply(ctx, []store.Event{ev(store.OpPut, 3)})
	})()
	n, err := s.PurgeTombstones(ctx, cutoff)
	if err != nil || hookErr != nil {
		t.Fatalf("purge: %v, re-creation: %v", err, hookErr)
	}
	rs, err := s.Search(ctx, store.SearchInput{})
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 || len(rs.Records) != 1 || rs.Records[0].Size != 3 {
		t.Fatalf("purge removed %d rows; the index holds %+v, want the re-created version", n, rs.Records)
	}
}
