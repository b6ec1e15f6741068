// Package locationtest is the conformance suite every location.Driver must
// pass, after the watermill pub/sub test suite: one Run per driver, the
// driver's location.Features deciding which subtests apply.
//
//	func TestConformance(t *testing.T) {
//		locationtest.Run(t, func(t *testing.T) location.Driver {
//			d, err := fs.New(t.Context(), fs.Config{Root: t.TempDir()})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return d
//		}, location.Features{NULKeys: true, BinaryKeys: true, PathLikeKeys: true, NestedKeys: true, UnicodeMetadata: true})
//	}
//
// Subtests run one after another, each on a fresh driver from newDriver
// (which must return an empty location); the suite closes it when the
// subtest ends. The streaming subtest measures allocations with
// runtime.ReadMemStats, so do not run other tests in parallel with Run.
package locationtest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/sluice-io/sluice/services/location"
)

// DefaultLargeObjectSize is the size of the streamed object when neither
// Features.LargeObjectSize nor LargeSizeEnv sets one.
const DefaultLargeObjectSize = 64 << 20

// LargeSizeEnv names the environment variable that sets the size of the
// streamed object, overriding Features.LargeObjectSize: a byte count with an
// optional KiB, MiB or GiB suffix, such as "2GiB".
const LargeSizeEnv = "SLUICE_LOCATION_LARGE_SIZE"

// suite carries what every subtest needs.
type suite struct {
	newDriver func(t *testing.T) location.Driver
	features  location.Features
}

// Run runs the conformance suite as subtests of t. newDriver is called once
// per subtest and must return an open driver on an empty location; it may
// register its own cleanups on the t it is given.
func Run(t *testing.T, newDriver func(t *testing.T) location.Driver, features location.Features) {
	s := &suite{newDriver: newDriver, features: features}
	subtests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"PutGet", s.testPutGet},
		{"Overwrite", s.testOverwrite},
		{"Range", s.testRange},
		{"Stat", s.testStat},
		{"Delete", s.testDelete},
		{"NotFound", s.testNotFound},
		{"Metadata", s.testMetadata},
		{"List", s.testList},
		{"ListPaging", s.testListPaging},
		{"OddKeys", s.testOddKeys},
		{"NestedKeys", s.testNestedKeys},
		{"InvalidKeys", s.testInvalidKeys},
		{"PutChecks", s.testPutChecks},
		{"FailingReader", s.testFailingReader},
		{"CancelPut", s.testCancelPut},
		{"CancelGet", s.testCancelGet},
		{"ConcurrentPut", s.testConcurrentPut},
		{"LargeObject", s.testLargeObject},
		{"Compose", s.testCompose},
		{"Close", s.testClose},
	}
	for _, st := range subtests {
		t.Run(st.name, st.run)
	}
}

// driver returns a fresh driver that is closed when t ends.
func (s *suite) driver(t *testing.T) location.Driver {
	t.Helper()
	d := s.newDriver(t)
	if d == nil {
		t.Fatal("newDriver returned nil")
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d
}

// put stores data under key with a known size and checks the returned info.
func put(t *testing.T, d location.Driver, key string, data []byte, opts location.PutOptions) location.ObjectInfo {
	t.Helper()
	opts.Size = int64(len(data))
	info, err := d.Put(t.Context(), key, bytes.NewReader(data), opts)
	if err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", key, len(data), err)
	}
	checkInfo(t, "Put", info, key, data)
	return info
}

// get reads key whole (rng == nil) or in part.
func get(t *testing.T, d location.Driver, key string, rng *location.Range) ([]byte, location.ObjectInfo) {
	t.Helper()
	rc, info, err := d.Get(t.Context(), key, rng)
	if err != nil {
		t.Fatalf("Get(%q, %v): %v", key, rng, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q, %v): read: %v", key, rng, err)
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("Get(%q): close: %v", key, err)
	}
	return data, info
}

// checkInfo checks the fields of info that every method must fill.
func checkInfo(t *testing.T, op string, info location.ObjectInfo, key string, data []byte) {
	t.Helper()
	if info.Key != key {
		t.Errorf("%s: Key = %q, want %q", op, info.Key, key)
	}
	if info.Size != int64(len(data)) {
		t.Errorf("%s(%q): Size = %d, want %d", op, key, info.Size, len(data))
	}
	if want := md5Hex(data); info.ETag != want {
		t.Errorf("%s(%q): ETag = %q, want %q", op, key, info.ETag, want)
	}
	if info.ModTime.IsZero() {
		t.Errorf("%s(%q): ModTime is zero", op, key)
	}
}

// mustGetEqual checks that key holds exactly want.
func mustGetEqual(t *testing.T, d location.Driver, key string, want []byte) {
	t.Helper()
	got, info := get(t, d, key, nil)
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %d bytes (md5 %s), want %d bytes (md5 %s)", key, len(got), md5Hex(got), len(want), md5Hex(want))
	}
	checkInfo(t, "Get", info, key, want)
}

// mustNotExist checks that Stat and Get report ErrNotFound for key.
func mustNotExist(t *testing.T, d location.Driver, key string) {
	t.Helper()
	if info, err := d.Stat(t.Context(), key); !errors.Is(err, location.ErrNotFound) {
		t.Errorf("Stat(%q) = %+v, %v; want ErrNotFound", key, info, err)
	}
	rc, _, err := d.Get(t.Context(), key, nil)
	if err == nil {
		rc.Close()
	}
	if !errors.Is(err, location.ErrNotFound) {
		t.Errorf("Get(%q) error = %v, want ErrNotFound", key, err)
	}
}

// listAll lists every key with prefix, paging with a small limit.
func listAll(t *testing.T, d location.Driver, prefix string) []location.ObjectInfo {
	t.Helper()
	var out []location.ObjectInfo
	after := ""
	for {
		page, err := d.List(t.Context(), prefix, after, 7)
		if err != nil {
			t.Fatalf("List(%q, %q): %v", prefix, after, err)
		}
		out = append(out, page...)
		if len(page) < 7 {
			return out
		}
		after = page[len(page)-1].Key
	}
}

func keysOf(infos []location.ObjectInfo) []string {
	keys := make([]string, len(infos))
	for i, info := range infos {
		keys[i] = info.Key
	}
	return keys
}

func md5Hex(data []byte) string {
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:])
}

// isCanceled reports whether err says a context was cancelled.
func isCanceled(err error) bool {
	return errors.Is(err, context.Canceled)
}

// largeSize is the size of the streamed object.
func (s *suite) largeSize(t *testing.T) int64 {
	if v, ok := os.LookupEnv(LargeSizeEnv); ok && v != "" {
		n, err := parseSize(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", LargeSizeEnv, v, err)
		}
		return n
	}
	if s.features.LargeObjectSize > 0 {
		return s.features.LargeObjectSize
	}
	return DefaultLargeObjectSize
}
