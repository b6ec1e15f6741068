package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

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

// v1Schema is the version 1 layout, as Sluice wrote it before attributes
// were keyed by value.
var v1Schema = []string{
	`CREATE TABLE versions (
		id INTEGER PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL, version_id TEXT NOT NULL,
		removed INTEGER NOT NULL DEFAULT 0, is_latest INTEGER NOT NULL DEFAULT 0, is_delete_marker INTEGER NOT NULL DEFAULT 0,
		size INTEGER NOT NULL DEFAULT 0, etag TEXT NOT NULL DEFAULT '', content_type TEXT NOT NULL DEFAULT '',
		last_modified INTEGER NOT NULL DEFAULT 0, location TEXT NOT NULL DEFAULT '', replication_status TEXT NOT NULL DEFAULT '',
		source TEXT NOT NULL DEFAULT '', seq TEXT NOT NULL DEFAULT '', seq_key TEXT NOT NULL DEFAULT '',
		life TEXT NOT NULL DEFAULT '', overrides TEXT NOT NULL DEFAULT '')`,
	`CREATE UNIQUE INDEX versions_key ON versions (bucket, key, version_id)`,
	`CREATE INDEX versions_size ON versions (bucket, size)`,
	`CREATE INDEX versions_last_modified ON versions (bucket, last_modified)`,
	`CREATE INDEX versions_content_type ON versions (bucket, content_type)`,
	`CREATE TABLE attrs (vid INTEGER NOT NULL, kind INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
		num REAL, tm INTEGER, bucket TEXT NOT NULL, PRIMARY KEY (vid, kind, name)) WITHOUT ROWID`,
	`CREATE INDEX attrs_value ON attrs (bucket, kind, name, value)`,
	`CREATE INDEX attrs_num ON attrs (bucket, kind, name, num) WHERE num IS NOT NULL`,
	`CREATE INDEX attrs_tm ON attrs (bucket, kind, name, tm) WHERE tm IS NOT NULL`,
	`CREATE TABLE buckets (bucket TEXT PRIMARY KEY) WITHOUT ROWID`,
	`CREATE TABLE field_types (bucket TEXT NOT NULL, field TEXT NOT NULL, type TEXT NOT NULL, PRIMARY KEY (bucket, field))`,
}

// TestUpgradeFromV1 opens an index written in the version 1 layout.
func TestUpgradeFromV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range v1Schema {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	storetest.FillV1(t, db, func(q string) string { return q })
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	opened := time.Now()
	s, err := sqlite.Open(context.Background(), sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	storetest.CheckV1Upgrade(t, s, opened)
	// Every attribute left belongs to a version (k1: color, year and its
	// two destinations).
	if n := countAttrs(t, path); n != 4 {
		t.Fatalf("%d attribute rows after the upgrade, want 4", n)
	}
}

// countAttrs counts the attribute rows of the index at path whose
// version exists, and fails on one whose version does not.
func countAttrs(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, dangling int
	if err := db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.id = attrs.vid)) FROM attrs`).
		Scan(&n, &dangling); err != nil {
		t.Fatal(err)
	}
	if dangling > 0 {
		t.Fatalf("%d attribute rows of versions that no longer exist", dangling)
	}
	return n
}

// TestPurgeRemovesAttributes checks that a purged version known only from
// updates leaves no attribute rows behind (searches cannot see them).
func TestPurgeRemovesAttributes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "index.db")
	s, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	up := store.Event{Op: store.OpUpdate, Set: store.SetTags | store.SetReplication, Bucket: "b", Key: "k", VersionID: "v",
		Sequencer: "0A", Time: storetest.T0, Tags: map[string]string{"a": "1", "b": "2"}, Replication: map[string]string{"aws": "FAILED"}}
	if _, err := s.Apply(ctx, []store.Event{up}); err != nil {
		t.Fatal(err)
	}
	if n := countAttrs(t, path); n != 3 {
		t.Fatalf("%d attribute rows, want 3", n)
	}
	if n, err := s.PurgeTombstones(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("purge: %d %v", n, err)
	}
	if n := countAttrs(t, path); n != 0 {
		t.Fatalf("%d attribute rows left", n)
	}
}
