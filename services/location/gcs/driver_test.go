package gcs

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sluice-io/sluice/services/emulators"
	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/internal/remote/remotetest"
	"github.com/sluice-io/sluice/services/location/locationtest"
)

// listKeys lists every key of d.
func listKeys(t *testing.T, d location.Driver, prefix, after string) []string {
	t.Helper()
	infos, err := d.List(t.Context(), prefix, after, 0)
	if err != nil {
		t.Fatalf("List(%q, %q): %v", prefix, after, err)
	}
	var keys []string
	for _, i := range infos {
		keys = append(keys, i.Key)
	}
	return keys
}

func TestRegistered(t *testing.T) {
	if !slices.Contains(location.Types(), Type) {
		t.Fatalf("location.Types() = %q, want it to hold %q", location.Types(), Type)
	}
	f := emulators.StartFakeGCS(t)
	bucket := f.NewBucket(t)
	cfg := f.Config(bucket, "reg/")
	cfg.Options = map[string]string{OptionChunkSize: "256KiB", OptionMemoryLimit: "1MiB"}
	core, logs := observer.New(zap.InfoLevel)
	d, err := location.Open(t.Context(), "replica", cfg, zap.New(core))
	if err != nil {
		t.Fatalf("location.Open: %v", err)
	}
	defer d.Close()
	data := remotetest.RandomBytes(1, 1<<20+1) // four chunks and a bit
	if _, err := d.Put(t.Context(), "k", bytes.NewReader(data), location.PutOptions{Size: int64(len(data))}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got, _ := remotetest.GetAll(t, d, "k"); !bytes.Equal(got, data) {
		t.Fatal("data differs")
	}
	opened := logs.FilterMessage("gcs location opened").All()
	if len(opened) != 1 {
		t.Fatalf("start-up logs = %d, want 1", len(opened))
	}
	if fields := opened[0].ContextMap(); fields["chunkSize"] != int64(256<<10) || fields["memoryLimit"] != int64(1<<20) || fields["auth"] != "none" {
		t.Fatalf("start-up log fields = %v", fields)
	}
	root := newTestDriver(t, fakeConfig(f, bucket, ""))
	if keys := listKeys(t, root, "", ""); !slices.Equal(keys, []string{"reg/k"}) {
		t.Fatalf("bucket holds %q, want [reg/k]", keys)
	}
}

func TestConfigInvalid(t *testing.T) {
	dir := t.TempDir()
	badType := filepath.Join(dir, "bad-type.json")
	notJSON := filepath.Join(dir, "not-json.json")
	if err := os.WriteFile(badType, []byte(`{"type":"mystery","secret":"s3cr3t"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(notJSON, []byte(`s3cr3t`), 0o600); err != nil {
		t.Fatal(err)
	}
	good := location.GCSConfig{Bucket: "b", Endpoint: "http://127.0.0.1:1/storage/v1/"}
	with := func(f func(*location.GCSConfig)) *location.GCSConfig {
		c := good
		f(&c)
		return &c
	}
	tests := []struct {
		name string
		cfg  location.Config
	}{
		{"no gcs settings", location.Config{Type: Type}},
		{"no bucket", location.Config{Type: Type, GCS: with(func(c *location.GCSConfig) { c.Bucket = "" })}},
		{"bucket with slash", location.Config{Type: Type, GCS: with(func(c *location.GCSConfig) { c.Bucket = "a/b" })}},
		{"both credentials", location.Config{Type: Type, GCS: with(func(c *location.GCSConfig) { c.CredentialsFile, c.CredentialsJSON = badType, "{}" })}},
		{"missing credentials file", location.Config{Type: Type, GCS: with(func(c *location.GCSConfig) { c.CredentialsFile = filepath.Join(dir, "none") })}},
		{"credentials of unknown type", location.Config{Type: Type, GCS: with(func(c *location.GCSConfig) { c.CredentialsFile = badType })}},
		{"credentials not JSON", location.Config{Type: Type, GCS: with(func(c *location.GCSConfig) { c.CredentialsFile = notJSON })}},
		{"credentials JSON not JSON", location.Config{Type: Type, GCS: with(func(c *location.GCSConfig) { c.CredentialsJSON = "s3cr3t" })}},
		{"endpoint without scheme", location.Config{Type: Type, GCS: with(func(c *location.GCSConfig) { c.Endpoint = "127.0.0.1:4443" })}},
		{"prefix with CR", location.Config{Type: Type, GCS: with(func(c *location.GCSConfig) { c.Prefix = "a\r/" })}},
		{"unknown option", location.Config{Type: Type, GCS: &good, Options: map[string]string{"chunksize": "1MiB"}}},
		{"chunk size malformed", location.Config{Type: Type, GCS: &good, Options: map[string]string{OptionChunkSize: "big"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := location.Open(t.Context(), "bad", tc.cfg, nil)
			if err == nil {
				d.Close()
			}
			if !errors.Is(err, location.ErrInvalidConfig) {
				t.Fatalf("Open error = %v, want ErrInvalidConfig", err)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error %q quotes the credentials", err)
			}
		})
	}
	t.Run("good config sends nothing", func(t *testing.T) {
		d, err := location.Open(t.Context(), "good", location.Config{Type: Type, GCS: &good}, nil)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		d.Close()
	})
}

func TestOddKeys(t *testing.T) {
	f := emulators.StartFakeGCS(t)
	d := newTestDriver(t, fakeConfig(f, f.NewBucket(t), ""))
	refused := func(k string) bool {
		return !utf8.ValidString(k) || strings.ContainsAny(k, "\x00\r\n") || k == "." || k == ".."
	}
	var stored []string
	for _, k := range locationtest.OddKeys() {
		data := []byte("odd: " + k.Key)
		_, err := d.Put(t.Context(), k.Key, bytes.NewReader(data), location.PutOptions{Size: int64(len(data))})
		switch {
		case refused(k.Key):
			if !errors.Is(err, location.ErrInvalidKey) {
				t.Errorf("Put(%s key %q): error = %v, want ErrInvalidKey", k.Name, k.Key, err)
			}
		case err != nil:
			t.Errorf("Put(%s key %q): %v", k.Name, k.Key, err)
		default:
			stored = append(stored, k.Key)
		}
	}
	for _, k := range stored {
		if got, info := remotetest.GetAll(t, d, k); string(got) != "odd: "+k || info.Key != k || info.ETag != remotetest.MD5Hex(got) {
			t.Errorf("Get(%q) = %q, %+v", k, got, info)
		}
	}
	if got, want := listKeys(t, d, "", ""), slices.Sorted(slices.Values(stored)); !slices.Equal(got, want) {
		t.Errorf("List\n got %q\nwant %q", got, want)
	}
	// GCS's own reserved names.
	for _, k := range []string{".well-known/acme-challenge/x", "a\rb", "a\nb"} {
		if _, err := d.Put(t.Context(), k, strings.NewReader("x"), location.PutOptions{Size: 1}); !errors.Is(err, location.ErrInvalidKey) {
			t.Errorf("Put(%q): %v, want ErrInvalidKey", k, err)
		}
	}
}

func TestUploads(t *testing.T) {
	f := emulators.StartFakeGCS(t)
	bucket := f.NewBucket(t)
	const chunk = MinChunkSize
	tests := []struct {
		name     string
		size     int
		known    bool
		withMD5  bool
		wrongMD5 bool
		failAt   int // reader fails after this many bytes; -1 body one byte short
		longBody bool
		wantErr  error
	}{
		{name: "empty", size: 0, known: true},
		{name: "within the first read, unknown size", size: peekSize - 1},
		{name: "exactly the first read, unknown size", size: peekSize},
		{name: "several chunks, known size", size: 5*chunk + 7, known: true},
		{name: "several chunks, known size, with MD5", size: 5*chunk + 7, known: true, withMD5: true},
		{name: "several chunks, unknown size", size: 5*chunk + 3},
		{name: "chunk boundary, unknown size", size: 4 * chunk},
		{name: "wrong MD5, small", size: 100, known: true, withMD5: true, wrongMD5: true, wantErr: location.ErrBadDigest},
		{name: "wrong MD5, several chunks", size: 5*chunk + 7, withMD5: true, wrongMD5: true, wantErr: location.ErrBadDigest},
		{name: "reader fails in the fourth chunk", size: 5 * chunk, known: true, failAt: 3*chunk + 100, wantErr: remotetest.ErrBoom},
		{name: "reader fails in the fourth chunk, unknown size", size: 5 * chunk, failAt: 3*chunk + 100, wantErr: remotetest.ErrBoom},
		{name: "body longer than declared", size: 5*chunk + 7, known: true, longBody: true, wantErr: location.ErrSizeMismatch},
		{name: "body shorter than declared", size: 5*chunk + 7, known: true, failAt: -1, wantErr: location.ErrSizeMismatch},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fakeConfig(f, bucket, fmt.Sprintf("up%d/", i))
			cfg.ChunkSize = chunk
			d := newTestDriver(t, cfg)
			data := remotetest.RandomBytes(uint64(i), tc.size)
			meta := map[string]string{"kind": "upload", "Note": "Zürich ☕"}
			opts := location.PutOptions{Size: -1, ContentType: "application/x-test", Metadata: meta}
			if tc.known {
				opts.Size = int64(tc.size)
			}
			if tc.withMD5 {
				sum := md5.Sum(data)
				if tc.wrongMD5 {
					sum[0]++
				}
				opts.ContentMD5 = sum[:]
			}
			var r io.Reader = remotetest.OnlyReader(bytes.NewReader(data))
			switch {
			case tc.failAt > 0:
				r = remotetest.FailAfter(data, tc.failAt)
			case tc.failAt < 0:
				r = remotetest.OnlyReader(bytes.NewReader(data[:len(data)-1]))
			case tc.longBody:
				r = remotetest.OnlyReader(io.MultiReader(bytes.NewReader(data), strings.NewReader("extra")))
			}
			// An older version stays when the Put fails.
			if _, err := d.Put(t.Context(), "obj", strings.NewReader("old"), location.PutOptions{Size: 3}); err != nil {
				t.Fatal(err)
			}
			info, err := d.Put(t.Context(), "obj", r, opts)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Put error = %v, want %v", err, tc.wantErr)
				}
				if got, _ := remotetest.GetAll(t, d, "obj"); string(got) != "old" {
					t.Fatalf("after a failed Put the key holds %d bytes, want the old version", len(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			want := remotetest.MD5Hex(data)
			if info.ETag != want || info.Size != int64(tc.size) {
				t.Fatalf("Put = %+v, want ETag %s size %d", info, want, tc.size)
			}
			got, gi := remotetest.GetAll(t, d, "obj")
			if !bytes.Equal(got, data) {
				t.Fatalf("Get returned %d bytes (md5 %s), want %d (md5 %s)", len(got), remotetest.MD5Hex(got), len(data), want)
			}
			st, err := d.Stat(t.Context(), "obj")
			if err != nil {
				t.Fatal(err)
			}
			for op, oi := range map[string]location.ObjectInfo{"Put": info, "Get": gi, "Stat": st} {
				if oi.ETag != want || oi.ContentType != "application/x-test" || !maps.Equal(oi.Metadata, meta) {
					t.Errorf("%s = %+v, want ETag %s, the content type and metadata %v", op, oi, want, meta)
				}
			}
		})
	}
}

func TestPrefixes(t *testing.T) {
	f := emulators.StartFakeGCS(t)
	bucket := f.NewBucket(t)
	root := newTestDriver(t, fakeConfig(f, bucket, ""))
	one := newTestDriver(t, fakeConfig(f, bucket, "one/"))
	two := newTestDriver(t, fakeConfig(f, bucket, "two/"))
	for d, keys := range map[location.Driver][]string{root: {"top", "one-sibling", "one"}, one: {"a", "b/c"}, two: {"a", "z"}} {
		for _, k := range keys {
			if _, err := d.Put(t.Context(), k, strings.NewReader(k), location.PutOptions{Size: int64(len(k))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name          string
		d             location.Driver
		prefix, after string
		want          []string
	}{
		{"root sees all", root, "", "", []string{"one", "one-sibling", "one/a", "one/b/c", "top", "two/a", "two/z"}},
		{"root by prefix", root, "one", "", []string{"one", "one-sibling", "one/a", "one/b/c"}},
		{"root after", root, "", "one/a", []string{"one/b/c", "top", "two/a", "two/z"}},
		{"one sees its own", one, "", "", []string{"a", "b/c"}},
		{"one by prefix", one, "b", "", []string{"b/c"}},
		{"one after", one, "", "a", []string{"b/c"}},
		{"two sees its own", two, "", "", []string{"a", "z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := listKeys(t, tc.d, tc.prefix, tc.after); !slices.Equal(got, tc.want) {
				t.Fatalf("List(%q, %q) = %q, want %q", tc.prefix, tc.after, got, tc.want)
			}
		})
	}
	if err := one.Delete(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := two.Stat(t.Context(), "a"); err != nil {
		t.Fatalf("deleting one/a touched two/a: %v", err)
	}
	if got, _ := remotetest.GetAll(t, root, "one/b/c"); string(got) != "b/c" {
		t.Fatalf("root reads one/b/c as %q", got)
	}
	if _, err := one.Put(t.Context(), strings.Repeat("k", location.MaxKeyLen-3), strings.NewReader("x"), location.PutOptions{Size: 1}); !errors.Is(err, location.ErrInvalidKey) {
		t.Fatalf("Put of a key too long with the prefix: %v, want ErrInvalidKey", err)
	}
}

func TestMetadata(t *testing.T) {
	f := emulators.StartFakeGCS(t)
	d := newTestDriver(t, fakeConfig(f, f.NewBucket(t), ""))
	tests := []struct {
		name    string
		meta    map[string]string
		wantErr bool
	}{
		{name: "any UTF-8", meta: map[string]string{"Upper": "U", "ключ": "значение", "sp ace": " spaced ", "empty": "", "word": "=?UTF-8?B?aGk=?="}},
		{name: "empty key", meta: map[string]string{"": "x"}, wantErr: true},
		{name: "key not UTF-8", meta: map[string]string{"\xff": "x"}, wantErr: true},
		{name: "value not UTF-8", meta: map[string]string{"k": "\xff"}, wantErr: true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("meta/%d", i)
			_, err := d.Put(t.Context(), key, strings.NewReader("x"), location.PutOptions{Size: 1, Metadata: tc.meta})
			if tc.wantErr {
				if !errors.Is(err, location.ErrInvalidArgument) {
					t.Fatalf("Put error = %v, want ErrInvalidArgument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st, err := d.Stat(t.Context(), key)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(st.Metadata, tc.meta) {
				t.Fatalf("Stat metadata = %q, want %q", st.Metadata, tc.meta)
			}
		})
	}
}

func TestMemoryLimitShared(t *testing.T) {
	f := emulators.StartFakeGCS(t)
	cfg := fakeConfig(f, f.NewBucket(t), "")
	// Room for one chunk only: concurrent resumable Puts take turns.
	cfg.ChunkSize, cfg.MemoryLimit = MinChunkSize, MinChunkSize
	d := newTestDriver(t, cfg)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			data := remotetest.RandomBytes(uint64(100+i), 3*MinChunkSize+i)
			key := fmt.Sprintf("shared/%d", i)
			info, err := d.Put(t.Context(), key, remotetest.OnlyReader(bytes.NewReader(data)), location.PutOptions{Size: -1})
			if err != nil || info.ETag != remotetest.MD5Hex(data) {
				t.Errorf("Put(%s) = %+v, %v", key, info, err)
			}
		})
	}
	wg.Wait()
	// A Put waiting for memory stops when its ctx ends.
	mem := d.(*driver).mem
	if err := mem.reserve(t.Context(), mem.limit); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	big := remotetest.RandomBytes(9, peekSize+1) // past the first read: resumable
	_, err := d.Put(ctx, "waits", remotetest.OnlyReader(bytes.NewReader(big)), location.PutOptions{Size: -1})
	mem.release(mem.limit)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put without memory: error = %v, want context.DeadlineExceeded", err)
	}
}

func TestStoreDown(t *testing.T) {
	f := emulators.StartFakeGCS(t, emulators.FakeGCSOnDisk())
	d := newTestDriver(t, fakeConfig(f, f.NewBucket(t), ""))
	if _, err := d.Put(t.Context(), "before", strings.NewReader("x"), location.PutOptions{Size: 1}); err != nil {
		t.Fatal(err)
	}
	f.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// Errors while GCS is down are not "not found": a replicator must
	// retry them, not conclude the object is gone.
	if _, err := d.Stat(ctx, "before"); err == nil || errors.Is(err, location.ErrNotFound) {
		t.Fatalf("Stat with the server down: %v, want a transport error", err)
	}
	if _, err := d.Put(ctx, "during", strings.NewReader("x"), location.PutOptions{Size: 1}); err == nil {
		t.Fatal("Put with the server down succeeded")
	}
	f.Restart(t)
	if _, err := d.Put(t.Context(), "after", strings.NewReader("x"), location.PutOptions{Size: 1}); err != nil {
		t.Fatalf("Put after the server came back: %v", err)
	}
	if _, err := d.Stat(t.Context(), "before"); err != nil {
		t.Fatalf("Stat after the server came back: %v", err)
	}
}

func TestMissingBucket(t *testing.T) {
	f := emulators.StartFakeGCS(t)
	d := newTestDriver(t, fakeConfig(f, "no-such-bucket", ""))
	if _, err := d.Put(t.Context(), "k", strings.NewReader("x"), location.PutOptions{Size: 1}); err == nil {
		t.Fatal("Put into a missing bucket succeeded")
	}
	if _, err := d.List(t.Context(), "", "", 0); err == nil || errors.Is(err, location.ErrNotFound) {
		t.Fatalf("List of a missing bucket: %v, want an error other than ErrNotFound", err)
	}
}
