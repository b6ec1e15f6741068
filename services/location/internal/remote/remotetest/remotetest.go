// Package remotetest holds the test scaffolding the remote location
// drivers' (s3, azure, gcs) tests share: deterministic data, readers that
// fail or hide methods on purpose, and helpers that open and read a
// driver. Only tests import it.
package remotetest

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/sluice-io/sluice/services/location"
)

// RandomBytes returns n bytes determined by seed.
func RandomBytes(seed uint64, n int) []byte {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(s).Read(b) // never fails
	return b
}

// MD5Hex returns the hex MD5 of b: the ETag drivers report for it.
func MD5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// ErrBoom is what FailAfter's readers return.
var ErrBoom = errors.New("reader failed on purpose")

// FailAfter returns a reader that yields the first n bytes of data, then
// ErrBoom.
func FailAfter(data []byte, n int) io.Reader { return &failAfter{data: data, n: n} }

type failAfter struct {
	data []byte
	n    int
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, ErrBoom
	}
	c := copy(p[:min(len(p), f.n)], f.data)
	f.data, f.n = f.data[c:], f.n-c
	return c, nil
}

// OnlyReader returns r with only its Read method, hiding the others (such
// as bytes.Reader's Seek and Len) from a driver.
func OnlyReader(r io.Reader) io.Reader { return onlyReader{r} }

type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// GetAll reads key whole from d, failing t on any error.
func GetAll(t testing.TB, d location.Driver, key string) ([]byte, location.ObjectInfo) {
	t.Helper()
	rc, info, err := d.Get(t.Context(), key, nil)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q): read: %v", key, err)
	}
	return b, info
}

// Open opens a driver with open, passing it a logger that writes to t, and
// closes the driver when t ends. It fails t if open fails.
func Open(t testing.TB, open func(ctx context.Context, logger *zap.Logger) (location.Driver, error)) location.Driver {
	t.Helper()
	d, err := open(context.Background(), zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}
