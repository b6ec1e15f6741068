package locationtest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/sluice-io/sluice/services/location"
)

func (s *suite) testFailingReader(t *testing.T) {
	d := s.driver(t)
	const total = 4 << 20
	old := []byte("the previous version")
	tests := []struct {
		name   string
		failAt int64
		known  bool
	}{
		{"at once", 0, true},
		{"after 100 bytes", 100, true},
		{"after 3 MiB", 3<<20 + 5, true},
		{"at once, unknown size", 0, false},
		{"after 100 bytes, unknown size", 100, false},
		{"after 3 MiB, unknown size", 3<<20 + 5, false},
	}
	var survivors []string
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, existing := range []bool{false, true} {
				key := fmt.Sprintf("fail/%d-existing=%v", i, existing)
				if existing {
					put(t, d, key, old, location.PutOptions{})
					survivors = append(survivors, key)
				}
				size := int64(-1)
				if tc.known {
					size = total
				}
				r := &failingReader{r: newGen(7, total), n: tc.failAt, err: errBoom}
				_, err := d.Put(t.Context(), key, r, location.PutOptions{Size: size})
				if !errors.Is(err, errBoom) {
					t.Fatalf("Put with a reader failing after %d bytes: error = %v, want the reader's error", tc.failAt, err)
				}
				if existing {
					mustGetEqual(t, d, key, old)
				} else {
					mustNotExist(t, d, key)
				}
			}
		})
	}
	if got := keysOf(listAll(t, d, "")); !equalSets(got, survivors) {
		t.Errorf("List after failed Puts = %q, want only %q", got, survivors)
	}
}

func (s *suite) testCancelPut(t *testing.T) {
	d := s.driver(t)
	const total = 32 << 20
	old := []byte("the previous version")
	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := d.Put(ctx, "cancel/before", bytes.NewReader([]byte("x")), location.PutOptions{Size: 1})
		if !isCanceled(err) {
			t.Fatalf("Put with a cancelled context: error = %v, want context.Canceled", err)
		}
		mustNotExist(t, d, "cancel/before")
	})
	for _, known := range []bool{true, false} {
		for _, existing := range []bool{false, true} {
			t.Run(fmt.Sprintf("during known-size=%v existing=%v", known, existing), func(t *testing.T) {
				key := fmt.Sprintf("cancel/during-%v-%v", known, existing)
				if existing {
					put(t, d, key, old, location.PutOptions{})
				}
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				size := int64(-1)
				if known {
					size = total
				}
				// The reader cancels ctx part way and keeps yielding data.
				gen := newGen(8, total)
				r := &hookReader{r: gen, n: 2<<20 + 3, hook: cancel}
				_, err := d.Put(ctx, key, r, location.PutOptions{Size: size})
				if !isCanceled(err) {
					t.Fatalf("Put cancelled mid-stream: error = %v, want context.Canceled", err)
				}
				if gen.off == total {
					t.Errorf("Put read all %d bytes after ctx was cancelled at 2 MiB: it must stop early", total)
				}
				if existing {
					mustGetEqual(t, d, key, old)
				} else {
					mustNotExist(t, d, key)
				}
			})
		}
	}
}

func (s *suite) testCancelGet(t *testing.T) {
	d := s.driver(t)
	data := genBytes(10, 4<<20)
	put(t, d, "cancel/get", data, location.PutOptions{})
	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		rc, _, err := d.Get(ctx, "cancel/get", nil)
		if err == nil {
			rc.Close()
		}
		if !isCanceled(err) {
			t.Fatalf("Get with a cancelled context: error = %v, want context.Canceled", err)
		}
	})
	t.Run("during", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		rc, _, err := d.Get(ctx, "cancel/get", nil)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		defer rc.Close()
		head := make([]byte, 1024)
		if _, err := io.ReadFull(rc, head); err != nil {
			t.Fatalf("read: %v", err)
		}
		if !bytes.Equal(head, data[:1024]) {
			t.Fatal("first KiB differs")
		}
		cancel()
		n, err := io.Copy(io.Discard, rc)
		if !isCanceled(err) {
			t.Fatalf("reading after cancel: read %d more bytes, error = %v; want context.Canceled", n, err)
		}
	})
	mustGetEqual(t, d, "cancel/get", data)
}

func (s *suite) testConcurrentPut(t *testing.T) {
	d := s.driver(t)
	const key = "concurrent/key"
	const writers = 8
	versions := make([][]byte, writers)
	valid := map[string]bool{}
	for i := range versions {
		versions[i] = genBytes(uint64(20+i), 256<<10+i*1031)
		valid[md5Hex(versions[i])] = true
	}
	ctx := t.Context()
	done := make(chan struct{})
	var readers, puts sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if err := readOneVersion(ctx, d, key, valid); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := range versions {
		puts.Go(func() {
			info, err := d.Put(ctx, key, bytes.NewReader(versions[i]), location.PutOptions{Size: int64(len(versions[i]))})
			if err != nil {
				t.Errorf("writer %d: Put: %v", i, err)
			} else if info.ETag != md5Hex(versions[i]) {
				t.Errorf("writer %d: ETag %q, want %q", i, info.ETag, md5Hex(versions[i]))
			}
		})
	}
	puts.Wait()
	close(done)
	readers.Wait()
	got, info := get(t, d, key, nil)
	if sum := md5Hex(got); !valid[sum] || info.ETag != sum || info.Size != int64(len(got)) {
		t.Fatalf("after concurrent Puts: %d bytes, md5 %s, info %+v: not one complete version", len(got), sum, info)
	}
	st, err := d.Stat(ctx, key)
	if err != nil || st.ETag != info.ETag {
		t.Fatalf("Stat after concurrent Puts = %+v, %v; want ETag %s", st, err, info.ETag)
	}
}

// readOneVersion reads key and checks it is one complete version whose
// info matches its data; a missing key is fine before the first Put.
func readOneVersion(ctx context.Context, d location.Driver, key string, valid map[string]bool) error {
	rc, info, err := d.Get(ctx, key, nil)
	if errors.Is(err, location.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("concurrent Get: %w", err)
	}
	defer rc.Close()
	h := md5.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return fmt.Errorf("concurrent Get: read: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if !valid[sum] || info.ETag != sum || info.Size != n {
		return fmt.Errorf("concurrent Get saw %d bytes with md5 %s and info %+v: a partial or mixed version", n, sum, info)
	}
	return nil
}

func equalSets(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}
