package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/meta/metatest"
	"github.com/sluice-io/sluice/s3front/meta/sqlite"
)

func newStore(t *testing.T) meta.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "meta.db")})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	metatest.Run(t, newStore)
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateBucket(ctx, meta.Bucket{Name: "b", Owner: "o", Location: "l"}); err != nil {
		t.Fatal(err)
	}
	r, err := s.PutObject(ctx, meta.Object{Bucket: "b", Key: "k", DataKey: "d"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.GetObject(ctx, "b", "k", "")
	if err != nil || got.Sequencer != r.Object.Sequencer {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	r2, err := s2.PutObject(ctx, meta.Object{Bucket: "b", Key: "k2"}, nil)
	if err != nil || r2.Object.Sequencer <= r.Object.Sequencer {
		t.Fatalf("sequencer after reopen %s, before %s (%v)", r2.Object.Sequencer, r.Object.Sequencer, err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
	}{
		{"empty path", ""},
		{"query characters", filepath.Join(dir, "a?b.db")},
		{"missing directory", filepath.Join(dir, "no", "such", "dir", "meta.db")},
	}
	for _, tc := range tests {
		s, err := sqlite.Open(ctx, sqlite.Config{Path: tc.path})
		if err == nil {
			_ = s.Close()
			t.Errorf("%s: Open succeeded", tc.name)
		}
	}
}

// TestNewerSchemaRefused: a binary must not run on a schema it does not know.
func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	if s, err := sqlite.Open(ctx, sqlite.Config{Path: path}); err == nil {
		_ = s.Close()
		t.Fatal("Open accepted a newer schema")
	}
}

func benchStore(b *testing.B, versioning string) meta.Store {
	b.Helper()
	s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(b.TempDir(), "meta.db")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	if _, err := s.CreateBucket(context.Background(), meta.Bucket{Name: "b", Owner: "o", Location: "l", Versioning: versioning}); err != nil {
		b.Fatal(err)
	}
	return s
}

func benchEvent(_ context.Context, ch meta.Change) ([]meta.OutboxMsg, error) {
	return []meta.OutboxMsg{{ID: ch.Object.Sequencer, Subject: "sluice.b", Body: make([]byte, 512)}}, nil
}

func BenchmarkPutObject(b *testing.B) {
	for _, bc := range []struct {
		name       string
		versioning string
		sameKey    bool
	}{
		{"unversioned/new-keys", "", false},
		{"unversioned/same-key", "", true},
		{"versioned/same-key", meta.VersioningEnabled, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := benchStore(b, bc.versioning)
			ctx := context.Background()
			i := 0
			for b.Loop() {
				key := "k"
				if !bc.sameKey {
					key = fmt.Sprintf("dir/%08d", i)
				}
				i++
				if _, err := s.PutObject(ctx, meta.Object{Bucket: "b", Key: key, Size: 1, ETag: "e", DataKey: key}, benchEvent); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkListObjects(b *testing.B) {
	s := benchStore(b, "")
	ctx := context.Background()
	// 100 "directories" of 100 keys each, plus 1,000 flat keys.
	for d := range 100 {
		for k := range 100 {
			if _, err := s.PutObject(ctx, meta.Object{Bucket: "b", Key: fmt.Sprintf("dir%03d/%04d", d, k)}, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	for k := range 1000 {
		if _, err := s.PutObject(ctx, meta.Object{Bucket: "b", Key: fmt.Sprintf("flat%04d", k)}, nil); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name string
		in   meta.ListObjectsInput
		want int
	}{
		{"flat-page-1000", meta.ListObjectsInput{Bucket: "b", MaxKeys: 1000}, 1000},
		{"prefix-page-100", meta.ListObjectsInput{Bucket: "b", Prefix: "dir050/", MaxKeys: 100}, 100},
		{"delimiter-skips-prefixes", meta.ListObjectsInput{Bucket: "b", Delimiter: "/", MaxKeys: 1000}, 1000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				r, err := s.ListObjects(ctx, bc.in)
				if err != nil {
					b.Fatal(err)
				}
				if n := len(r.Objects) + len(r.CommonPrefixes); n != bc.want {
					b.Fatalf("got %d entries, want %d", n, bc.want)
				}
			}
		})
	}
}

// BenchmarkPutObjectParallel measures PutObject with events from 16 concurrent
// writers on new keys, as an S3 front end under load issues them: with a
// durable (synchronous=FULL) commit each, grouping decides the throughput.
func BenchmarkPutObjectParallel(b *testing.B) {
	for _, relaxed := range []bool{false, true} {
		name := "sync-full"
		if relaxed {
			name = "sync-normal"
		}
		b.Run(name, func(b *testing.B) {
			s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(b.TempDir(), "meta.db"), RelaxedSync: relaxed})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			if _, err := s.CreateBucket(context.Background(), meta.Bucket{Name: "b", Owner: "o", Location: "l"}); err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			b.SetParallelism(8) // 16 writers on 2 CPUs
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					key := fmt.Sprintf("dir/%08d", n.Add(1))
					if _, err := s.PutObject(ctx, meta.Object{Bucket: "b", Key: key, Size: 1, ETag: "e", DataKey: key}, benchEvent); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkGetObject measures the reads every S3 GET makes: the bucket, then the
// object's latest version.
func BenchmarkGetObject(b *testing.B) {
	s := benchStore(b, "")
	ctx := context.Background()
	if _, err := s.PutObject(ctx, meta.Object{Bucket: "b", Key: "k", Size: 1, ETag: "e", DataKey: "d"}, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.GetBucket(ctx, "b"); err != nil {
			b.Fatal(err)
		}
		if _, err := s.GetObject(ctx, "b", "k", ""); err != nil {
			b.Fatal(err)
		}
	}
}
