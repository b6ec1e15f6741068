package fs

import (
	"bytes"
	"context"
	"errors"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sluice-io/sluice/services/location"
)

// internalNames are the only names New leaves in an empty root (paths with
// "/" separators).
var internalNames = func() []string {
	names := []string{lockName, layoutName, tmpDir}
	for i := range tmpShards {
		names = append(names, filepath.ToSlash(tmpShard(i)))
	}
	return names
}()

// rootNames lists every path under root, relative, with "/" separators.
func rootNames(t *testing.T, root string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(root, func(p string, _ iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			rel, _ := filepath.Rel(root, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

// requireOnlyInternal fails unless root holds nothing but the driver's own
// files and an empty temp directory.
func requireOnlyInternal(t *testing.T, root string) {
	t.Helper()
	requireOnlyInternalAnd(t, root)
}

// requireOnlyInternalAnd fails unless root holds nothing but the driver's own
// files, empty temp directories and the names more.
func requireOnlyInternalAnd(t *testing.T, root string, more ...string) {
	t.Helper()
	want := slices.Sorted(slices.Values(append(slices.Clone(internalNames), more...)))
	if got := rootNames(t, root); !slices.Equal(got, want) {
		t.Fatalf("root holds %q, want only %q", got, want)
	}
}

func put(t *testing.T, d location.Driver, key, data string) {
	t.Helper()
	if _, err := d.Put(t.Context(), key, strings.NewReader(data), location.PutOptions{Size: int64(len(data))}); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func getString(t *testing.T, d location.Driver, key string) string {
	t.Helper()
	rc, _, err := d.Get(t.Context(), key, nil)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return string(b)
}

func TestRegistered(t *testing.T) {
	if !slices.Contains(location.Types(), Type) {
		t.Fatalf("location.Types() = %q, want it to hold %q", location.Types(), Type)
	}
	root := t.TempDir()
	core, logs := observer.New(zap.InfoLevel)
	d, err := location.Open(t.Context(), "primary", location.Config{Type: Type, Path: root}, zap.New(core))
	if err != nil {
		t.Fatalf("location.Open: %v", err)
	}
	put(t, d, "via/registry", "hello")
	if got := getString(t, d, "via/registry"); got != "hello" {
		t.Fatalf("Get = %q", got)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	opened := logs.FilterMessage("fs location opened").All()
	if len(opened) != 1 || opened[0].ContextMap()["location"] != "primary" || opened[0].ContextMap()["root"] != root {
		t.Fatalf("start-up log = %+v, want one naming the location and root", opened)
	}
	if _, err := os.Stat(filepath.Join(root, "via", "registry~o")); err != nil {
		t.Fatalf("object file not where the layout says: %v", err)
	}
}

func TestNewRejects(t *testing.T) {
	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	badMarker := t.TempDir()
	if err := os.WriteFile(filepath.Join(badMarker, layoutName), []byte(`{"layout":99}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		root    string
		wantErr error
	}{
		{"no root", t.Context(), "", location.ErrInvalidConfig},
		{"foreign directory", t.Context(), foreign, location.ErrInvalidConfig},
		{"unknown layout", t.Context(), badMarker, location.ErrInvalidConfig},
		{"root is a file", t.Context(), file, nil},
		{"cancelled", cancelled, t.TempDir(), context.Canceled},
	}
	for _, tc := range tests {
		d, err := New(tc.ctx, Config{Root: tc.root})
		if err == nil {
			d.Close()
			t.Errorf("%s: New succeeded", tc.name)
			continue
		}
		if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: New error = %v, want %v", tc.name, err, tc.wantErr)
		}
	}
	if b, err := os.ReadFile(filepath.Join(foreign, "notes.txt")); err != nil || string(b) != "mine" {
		t.Errorf("foreign file changed: %q, %v", b, err)
	}
	if got := rootNames(t, foreign); !slices.Equal(got, []string{"notes.txt"}) {
		t.Errorf("refused directory now holds %q, want it untouched", got)
	}
}

func TestLockAndReopen(t *testing.T) {
	root := t.TempDir()
	d := newTestDriver(t, Config{Root: root})
	put(t, d, "persist/me", "still here")
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d2 := newTestDriver(t, Config{Root: root})
	defer d2.Close()
	if got := getString(t, d2, "persist/me"); got != "still here" {
		t.Fatalf("after reopening: %q", got)
	}
}

func TestTempFilesRemovedOnStart(t *testing.T) {
	root := t.TempDir()
	d := newTestDriver(t, Config{Root: root})
	put(t, d, "keep", "x")
	d.Close()
	// What a crash in the middle of three Puts leaves behind: two in shards,
	// and one where temp files lived before there were shards.
	for _, name := range []string{tmpShard(0) + "/ABCDEF", tmpShard(tmpShards-1) + "/GHIJKL", tmpDir + "/MNOPQR"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	core, logs := observer.New(zap.InfoLevel)
	d = newTestDriver(t, Config{Root: root, Logger: zap.New(core)})
	defer d.Close()
	requireOnlyInternalAnd(t, root, "keep~o")
	if n := logs.FilterMessage("fs location opened").All()[0].ContextMap()["tempFilesRemoved"]; n != int64(3) {
		t.Errorf("tempFilesRemoved = %v, want 3", n)
	}
	if got := getString(t, d, "keep"); got != "x" {
		t.Fatalf("object lost at start-up: %q", got)
	}
}

func TestFailedWritesLeaveNothing(t *testing.T) {
	root := t.TempDir()
	d := newTestDriver(t, Config{Root: root})
	defer d.Close()
	ctx := t.Context()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	boom := errors.New("boom")
	tests := []struct {
		name string
		ctx  context.Context
		r    io.Reader
		opts location.PutOptions
	}{
		{"reader error", ctx, iotest.ErrReader(boom), location.PutOptions{Size: -1}},
		{"reader error after data", ctx, io.MultiReader(strings.NewReader("some data"), iotest.ErrReader(boom)), location.PutOptions{Size: -1}},
		{"short body", ctx, strings.NewReader("abc"), location.PutOptions{Size: 10}},
		{"long body", ctx, strings.NewReader("abcdef"), location.PutOptions{Size: 3}},
		{"bad digest", ctx, strings.NewReader("abc"), location.PutOptions{Size: 3, ContentMD5: bytes.Repeat([]byte{1}, 16)}},
		{"cancelled", cancelled, strings.NewReader("abc"), location.PutOptions{Size: 3}},
		{"metadata too large", ctx, strings.NewReader("abc"), location.PutOptions{Size: 3, Metadata: map[string]string{"big": strings.Repeat("v", maxRecordLen)}}},
		{"no progress", ctx, zeroReader{}, location.PutOptions{Size: -1}},
	}
	for _, tc := range tests {
		if _, err := d.Put(tc.ctx, "deep/new/dirs/key", tc.r, tc.opts); err == nil {
			t.Errorf("%s: Put succeeded", tc.name)
		}
		requireOnlyInternal(t, root)
	}
	c := d.(location.Composer)
	if _, err := c.Compose(ctx, "deep/new/dirs/key", []string{"missing"}, location.ComposeOptions{}); !errors.Is(err, location.ErrNotFound) {
		t.Errorf("Compose of a missing source: %v", err)
	}
	requireOnlyInternal(t, root)
}

// zeroReader returns 0, nil forever.
type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestDeletePrunesEmptyDirectories(t *testing.T) {
	root := t.TempDir()
	d := newTestDriver(t, Config{Root: root})
	defer d.Close()
	put(t, d, "a/b/c/d", "1")
	put(t, d, "a/x", "2")
	if err := d.Delete(t.Context(), "a/b/c/d"); err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(internalNames), "a", "a/x~o")
	slices.Sort(want)
	if got := rootNames(t, root); !slices.Equal(got, want) {
		t.Fatalf("after Delete root holds %q, want %q", got, want)
	}
	if err := d.Delete(t.Context(), "a/x"); err != nil {
		t.Fatal(err)
	}
	requireOnlyInternal(t, root)
}

func TestCorruptObjects(t *testing.T) {
	root := t.TempDir()
	core, logs := observer.New(zap.WarnLevel)
	d := newTestDriver(t, Config{Root: root, Logger: zap.New(core)})
	defer d.Close()
	put(t, d, "good", "fine")
	put(t, d, "truncated", "will be cut")
	put(t, d, "moved", "I am moved")
	if err := os.Truncate(filepath.Join(root, "truncated~o"), 5); err != nil {
		t.Fatal(err)
	}
	// A file at the path of "impostor" that records another key.
	if err := os.Rename(filepath.Join(root, "moved~o"), filepath.Join(root, "impostor~o")); err != nil {
		t.Fatal(err)
	}
	// Strays the layout never produces.
	for _, name := range []string{"junk", "%41~o", "a b~o", ".hidden"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte("stray"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{"truncated", "impostor"} {
		if _, err := d.Stat(t.Context(), key); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Stat(%q) error = %v, want ErrCorrupt", key, err)
		}
		if _, _, err := d.Get(t.Context(), key, nil); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Get(%q) error = %v, want ErrCorrupt", key, err)
		}
	}
	page, err := d.List(t.Context(), "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(page); !slices.Equal(got, []string{"good"}) {
		t.Errorf("List = %q, want only the good object", got)
	}
	if n := logs.FilterMessage("fs list: skipping unreadable object file").Len(); n != 2 {
		t.Errorf("%d warnings about unreadable files, want 2", n)
	}
}

func keysOf(infos []location.ObjectInfo) []string {
	var keys []string
	for _, i := range infos {
		keys = append(keys, i.Key)
	}
	return keys
}

func TestFoldCaseLayout(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, layoutName), []byte(`{"layout":1,"foldCase":true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	d := newTestDriver(t, Config{Root: root})
	defer d.Close()
	put(t, d, "Cat", "upper")
	put(t, d, "cat", "lower")
	for _, name := range []string{"%43at~o", "cat~o"} {
		if _, err := os.Stat(filepath.Join(root, name)); err != nil {
			t.Errorf("with case folding, expected file %s: %v", name, err)
		}
	}
	page, err := d.List(t.Context(), "", "", 0)
	if err != nil || !slices.Equal(keysOf(page), []string{"Cat", "cat"}) {
		t.Fatalf("List = %q, %v", keysOf(page), err)
	}
}

func TestNewProbesCase(t *testing.T) {
	root := t.TempDir()
	d := newTestDriver(t, Config{Root: root})
	d.Close()
	b, err := os.ReadFile(filepath.Join(root, layoutName))
	if err != nil {
		t.Fatal(err)
	}
	// Test machines run Linux on case-sensitive filesystems.
	if string(b) != `{"layout":1,"foldCase":false}` {
		t.Fatalf("layout marker = %s", b)
	}
}

func TestSmallBufferAndOddReaders(t *testing.T) {
	d := newTestDriver(t, Config{BufferSize: 7})
	defer d.Close()
	data := strings.Repeat("0123456789abcdef", 6000)
	for name, r := range map[string]io.Reader{
		"one byte":  iotest.OneByteReader(strings.NewReader(data)),
		"half":      iotest.HalfReader(strings.NewReader(data)),
		"data+EOF":  iotest.DataErrReader(strings.NewReader(data)),
		"timeouts":  iotest.TimeoutReader(strings.NewReader(data)),
		"plain":     strings.NewReader(data),
		"truncated": io.LimitReader(strings.NewReader(data+"extra"), int64(len(data))),
	} {
		info, err := d.Put(t.Context(), "odd/"+name, r, location.PutOptions{Size: -1})
		if name == "timeouts" {
			if !errors.Is(err, iotest.ErrTimeout) {
				t.Errorf("%s: Put error = %v, want the reader's", name, err)
			}
			continue
		}
		if err != nil || info.Size != int64(len(data)) {
			t.Fatalf("%s: Put = %+v, %v", name, info, err)
		}
		if got := getString(t, d, "odd/"+name); got != data {
			t.Fatalf("%s: round trip lost data", name)
		}
	}
	c := d.(location.Composer)
	if _, err := c.Compose(t.Context(), "odd/composed", []string{"odd/plain", "odd/half"}, location.ComposeOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := getString(t, d, "odd/composed"); got != data+data {
		t.Fatal("compose with a small buffer lost data")
	}
}

func TestModTimeFromClock(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600))
	d := newTestDriver(t, Config{Now: func() time.Time { return at }})
	defer d.Close()
	info, err := d.Put(t.Context(), "clock", strings.NewReader(""), location.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.Stat(t.Context(), "clock")
	if err != nil {
		t.Fatal(err)
	}
	if !info.ModTime.Equal(at) || info.ModTime != st.ModTime || info.ModTime.Location() != time.UTC {
		t.Fatalf("ModTime: Put %v, Stat %v, want %v in UTC", info.ModTime, st.ModTime, at)
	}
}

func TestConcurrentPutDelete(t *testing.T) {
	// Deletes prune directories that concurrent Puts are about to rename
	// into; every Put must still land.
	root := t.TempDir()
	d := newTestDriver(t, Config{Root: root, Logger: zaptest.NewLogger(t)})
	defer d.Close()
	ctx := t.Context()
	done := make(chan struct{})
	deleted := make(chan error, 1)
	go func() {
		defer close(deleted)
		for {
			select {
			case <-done:
				return
			default:
			}
			if err := d.Delete(ctx, "p/q/r/churn"); err != nil {
				deleted <- err
				return
			}
			if _, err := d.Put(ctx, "p/q/r/churn", strings.NewReader("c"), location.PutOptions{Size: 1}); err != nil {
				deleted <- err
				return
			}
		}
	}()
	for i := range 200 {
		key := "p/q/r/" + strings.Repeat("k", i%7+1)
		put(t, d, key, "v")
		if err := d.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	if err := <-deleted; err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, "p/q/r/churn"); err != nil {
		t.Fatal(err)
	}
	requireOnlyInternal(t, root)
}

// TestSyncSlotsBoundWrites holds the only sync slot: a Put waits for it, its
// caller's cancellation ends the wait with nothing left behind, and a Put
// waiting when the slot is freed completes.
func TestSyncSlotsBoundWrites(t *testing.T) {
	root := t.TempDir()
	ld := newTestDriver(t, Config{Root: root, SyncConcurrency: 1})
	defer ld.Close()
	d := ld.(*handle).s.d
	if err := d.acquireSync(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := d.Put(ctx, "k", strings.NewReader("abc"), location.PutOptions{Size: 3}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put while the slot is held: %v, want the deadline", err)
	}
	requireOnlyInternal(t, root)
	done := make(chan error, 1)
	go func() {
		_, err := d.Put(t.Context(), "k", strings.NewReader("abc"), location.PutOptions{Size: 3})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Put finished while the slot was held: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	d.releaseSync()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := getString(t, d, "k"); got != "abc" {
		t.Fatalf("k = %q", got)
	}
}

// TestTempPathsUseEveryShard: temp files spread over all the shards New
// creates, and nowhere else.
func TestTempPathsUseEveryShard(t *testing.T) {
	seen := map[string]int{}
	for range 100 * tmpShards {
		seen[filepath.Dir(newTempPath())]++
	}
	for i := range tmpShards {
		if seen[tmpShard(i)] == 0 {
			t.Errorf("shard %s never used", tmpShard(i))
		}
		delete(seen, tmpShard(i))
	}
	if len(seen) > 0 {
		t.Errorf("temp paths outside the shards: %v", seen)
	}
}
