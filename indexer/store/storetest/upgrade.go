package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/indexer/store"
)

// v1Key is an order key as version 1 wrote it: the sequencer padded to 32
// hexadecimal digits, then the event time.
func v1Key(seq int) string {
	return fmt.Sprintf("%032X/%016X", seq, uint64(at(seq).UnixMicro())+1<<62)
}

// FillV1 writes a small version 1 index through db, whose tables the
// caller created with the version 1 schema; rebind turns "?" placeholders
// into the driver's. CheckV1Upgrade checks a store opened on it.
func FillV1(t *testing.T, db *sql.DB, rebind func(string) string) {
	t.Helper()
	ctx := context.Background()
	versions := [][]any{
		// id, key, removed, latest, status, life
		{1, "k1", 0, 1, "PENDING", v1Key(1)},
		{2, "k2", 0, 1, "REPLICA", v1Key(2)},
		{3, "k3", 1, 0, "", v1Key(3)}, // a tombstone
		{4, "k4", 0, 1, "", ""},       // known only from an update
	}
	for _, v := range versions {
		_, err := db.ExecContext(ctx, rebind(`INSERT INTO versions (id, bucket, key, version_id, removed, is_latest, size, etag,
			content_type, last_modified, location, replication_status, source, seq, seq_key, life, overrides)
			VALUES (?, 'b', ?, 'v1', ?, ?, 7, 'e', 'text/plain', ?, 'local', ?, 'sluice:s3', ?, ?, ?, '')`),
			v[0], v[1], v[2], v[3], at(1).UnixMicro(), v[4], Seq(v[0].(int)), v[5], v[5])
		if err != nil {
			t.Fatalf("v1 version: %v", err)
		}
	}
	attrs := [][]any{
		{1, 1, "color", "blue", nil}, {1, 1, "year", "2021", 2021.0}, {1, 2, "team", "data", nil},
		{1, 3, "aws", "COMPLETED", nil}, {1, 3, "gcs", "FAILED", nil}, {4, 2, "t", "x", nil},
	}
	for _, a := range attrs {
		if _, err := db.ExecContext(ctx, rebind(`INSERT INTO attrs (vid, kind, name, value, num, tm, bucket) VALUES (?, ?, ?, ?, ?, NULL, 'b')`),
			a...); err != nil {
			t.Fatalf("v1 attribute: %v", err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO buckets (bucket) VALUES ('b')`); err != nil {
		t.Fatalf("v1 bucket: %v", err)
	}
}

// CheckV1Upgrade checks a store opened on the index FillV1 wrote, at or
// after opened: the records, their maps and derived replication status,
// queries on every attribute kind, tombstone ages starting at the upgrade,
// and updates of the upgraded rows.
func CheckV1Upgrade(t *testing.T, s store.Store, opened time.Time) {
	t.Helper()
	ctx := context.Background()
	want := []store.Record{
		{Bucket: "b", Key: "k1", VersionID: "v1", IsLatest: true, Size: 7, ETag: "e", ContentType: "text/plain",
			LastModified: at(1), Location: "local", Source: "sluice:s3", Sequencer: Seq(1),
			UserMetadata: map[string]string{"color": "blue", "year": "2021"}, Tags: map[string]string{"team": "data"},
			Replication: map[string]string{"aws": "COMPLETED", "gcs": "FAILED"}, ReplicationStatus: "FAILED"},
		{Bucket: "b", Key: "k2", VersionID: "v1", IsLatest: true, Size: 7, ETag: "e", ContentType: "text/plain",
			LastModified: at(1), Location: "local", Source: "sluice:s3", Sequencer: Seq(2), ReplicationStatus: "REPLICA"},
	}
	sameRecords(t, "upgraded", Dump(t, s), want)
	for q, keys := range map[string]string{
		`x-amz-meta-color = "blue"`:              "k1",
		`x-amz-meta-year >= "2021"`:              "k1",
		`tags.team = "data"`:                     "k1",
		`replication-status.gcs = "FAILED"`:      "k1",
		`replication-status = "REPLICA"`:         "k2",
		`tags.t = "x"`:                           "",
		`replication-status.aws LIKE /^COMPLET/`: "k1",
	} {
		var got []string
		for _, r := range searchAll(t, s, store.Scope{Where: mustParse(t, q), Versions: true}, 10) {
			got = append(got, r.Key)
		}
		if strings.Join(got, ",") != keys {
			t.Errorf("%s after upgrade: %v, want %q", q, got, keys)
		}
	}
	// Typed declarations still work on upgraded values.
	if err := s.DeclareTypes(ctx, "b", map[string]store.FieldType{"x-amz-meta-year": store.TypeInt}); err != nil {
		t.Fatal(err)
	}
	if rs := searchAll(t, s, store.Scope{Where: mustParse(t, `x-amz-meta-year > 2020`)}, 10); len(rs) != 1 {
		t.Fatalf("typed query after upgrade: %v", keysOf(rs))
	}
	// An upgraded row takes updates; its old attributes go.
	apply(t, s, dest("b", "k1", "v1", 1, 50, "aws", "FAILED"),
		store.Event{Op: store.OpUpdate, Set: store.SetTags, Bucket: "b", Key: "k1", VersionID: "v1", Sequencer: Seq(5), Time: at(5)})
	rs := searchAll(t, s, store.Scope{Where: mustParse(t, `replication-status.aws = "FAILED"`)}, 10)
	if len(rs) != 1 || rs[0].Tags != nil || rs[0].Replication["gcs"] != "FAILED" {
		t.Fatalf("update after upgrade: %+v", rs)
	}
	for _, q := range []string{`replication-status.aws = "COMPLETED"`, `tags.team = "data"`} {
		if rs := searchAll(t, s, store.Scope{Where: mustParse(t, q)}, 10); len(rs) != 0 {
			t.Fatalf("%s: stale attribute after update: %v", q, keysOf(rs))
		}
	}
	// Tombstones and update-only versions age from the upgrade.
	if n, err := s.PurgeTombstones(ctx, opened.Add(-time.Second)); err != nil || n != 0 {
		t.Fatalf("purge before the upgrade: %d %v", n, err)
	}
	if n, err := s.PurgeTombstones(ctx, time.Now().Add(time.Hour)); err != nil || n != 2 {
		t.Fatalf("purge after the upgrade: %d %v (want the tombstone and the update-only version)", n, err)
	}
}
