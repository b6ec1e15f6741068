package location

import (
	"errors"
	"math"
	"testing"
)

var rangeTests = []struct {
	rng        Range
	size       int64
	off, n     int64
	invalid    bool
	httpHeader string
}{
	{rng: Range{0, 1}, size: 10, off: 0, n: 1, httpHeader: "bytes=0-0"},
	{rng: Range{0, 0}, size: 10, off: 0, n: 10, httpHeader: "bytes=0-"},
	{rng: Range{3, 4}, size: 10, off: 3, n: 4, httpHeader: "bytes=3-6"},
	{rng: Range{8, 100}, size: 10, off: 8, n: 2, httpHeader: "bytes=8-107"},
	{rng: Range{9, 0}, size: 10, off: 9, n: 1, httpHeader: "bytes=9-"},
	{rng: Range{-3, 0}, size: 10, off: 7, n: 3, httpHeader: "bytes=-3"},
	{rng: Range{-30, 0}, size: 10, off: 0, n: 10, httpHeader: "bytes=-30"},
	{rng: Range{math.MinInt64, 0}, size: 10, off: 0, n: 10},
	{rng: Range{0, math.MaxInt64}, size: 10, off: 0, n: 10},
	{rng: Range{10, 1}, size: 10, invalid: true},
	{rng: Range{math.MaxInt64, 0}, size: 10, invalid: true},
	{rng: Range{0, -1}, size: 10, invalid: true},
	{rng: Range{-1, 1}, size: 10, invalid: true},
	{rng: Range{0, 0}, size: 0, invalid: true},
	{rng: Range{-1, 0}, size: 0, invalid: true},
}

func TestRangeResolve(t *testing.T) {
	for _, tc := range rangeTests {
		off, n, err := tc.rng.Resolve(tc.size)
		if tc.invalid {
			if !errors.Is(err, ErrInvalidRange) {
				t.Errorf("%+v.Resolve(%d) = %d, %d, %v; want ErrInvalidRange", tc.rng, tc.size, off, n, err)
			}
			continue
		}
		if err != nil || off != tc.off || n != tc.n {
			t.Errorf("%+v.Resolve(%d) = %d, %d, %v; want %d, %d", tc.rng, tc.size, off, n, err, tc.off, tc.n)
		}
		if tc.httpHeader != "" && tc.rng.String() != tc.httpHeader {
			t.Errorf("%+v.String() = %q, want %q", tc.rng, tc.rng.String(), tc.httpHeader)
		}
	}
}

func FuzzRangeResolve(f *testing.F) {
	for _, tc := range rangeTests {
		f.Add(tc.rng.Offset, tc.rng.Length, tc.size)
	}
	f.Fuzz(func(t *testing.T, offset, length, size int64) {
		if size < 0 {
			size = -(size + 1)
		}
		off, n, err := Range{offset, length}.Resolve(size)
		if err != nil {
			if !errors.Is(err, ErrInvalidRange) {
				t.Fatalf("error %v does not wrap ErrInvalidRange", err)
			}
			return
		}
		if off < 0 || n < 1 || off > size-n {
			t.Fatalf("Range{%d, %d}.Resolve(%d) = [%d, +%d): outside the object", offset, length, size, off, n)
		}
		if length > 0 && n > length || offset >= 0 && off != offset || offset < 0 && off+n != size {
			t.Fatalf("Range{%d, %d}.Resolve(%d) = [%d, +%d): not the requested bytes", offset, length, size, off, n)
		}
	})
}

func TestValidateKey(t *testing.T) {
	for _, tc := range []struct {
		key string
		ok  bool
	}{
		{"", false},
		{"a", true},
		{"../\x00\xff", true},
		{string(make([]byte, MaxKeyLen)), true},
		{string(make([]byte, MaxKeyLen+1)), false},
	} {
		if err := ValidateKey(tc.key); (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ValidateKey(%d bytes) = %v, want ok=%v", len(tc.key), err, tc.ok)
		}
	}
}
