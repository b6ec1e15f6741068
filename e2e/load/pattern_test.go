package load

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestPatternReader(t *testing.T) {
	for _, size := range []int64{1, 100, patternBlockLen - 1, patternBlockLen, patternBlockLen + 1, 3*patternBlockLen + 17} {
		var r patternReader
		r.Reset("k", size)
		all, err := io.ReadAll(&r)
		if err != nil || int64(len(all)) != size {
			t.Fatalf("size %d: read %d bytes, %v", size, len(all), err)
		}
		// iotest.TestReader reads, seeks and re-reads, checking it gets the same bytes.
		r.Reset("k", size)
		if err := iotest.TestReader(&r, all); err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if _, err := verifyContent(bytes.NewReader(all), "k", size, make([]byte, 4096)); err != nil {
			t.Fatalf("size %d: own content does not verify: %v", size, err)
		}
	}
}

func TestPatternDiffersByKey(t *testing.T) {
	var a, b patternReader
	a.Reset("load/obj-1", 4096)
	b.Reset("load/obj-2", 4096)
	x, _ := io.ReadAll(&a)
	y, _ := io.ReadAll(&b)
	if bytes.Equal(x, y) {
		t.Fatal("two keys got the same content")
	}
}

func TestPatternSeek(t *testing.T) {
	var r patternReader
	r.Reset("k", 10)
	for _, tc := range []struct {
		off    int64
		whence int
		want   int64
		ok     bool
	}{
		{0, io.SeekStart, 0, true},
		{4, io.SeekStart, 4, true},
		{2, io.SeekCurrent, 6, true},
		{0, io.SeekEnd, 10, true},
		{-3, io.SeekEnd, 7, true},
		{5, io.SeekEnd, 15, true},
		{-11, io.SeekEnd, 0, false},
		{0, 42, 0, false},
	} {
		got, err := r.Seek(tc.off, tc.whence)
		if tc.ok && (err != nil || got != tc.want) {
			t.Errorf("Seek(%d, %d) = %d, %v; want %d", tc.off, tc.whence, got, err, tc.want)
		}
		if !tc.ok && err == nil {
			t.Errorf("Seek(%d, %d) = %d; want an error", tc.off, tc.whence, got)
		}
	}
	if _, err := r.Seek(100, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Fatalf("read past end = %d, %v; want 0, EOF", n, err)
	}
}

func TestVerifyContent(t *testing.T) {
	const size = 100_000
	var r patternReader
	r.Reset("key", size)
	good, _ := io.ReadAll(&r)
	flipped := bytes.Clone(good)
	flipped[size/2] ^= 1
	var other patternReader
	other.Reset("other", size)
	otherContent, _ := io.ReadAll(&other)
	for _, tc := range []struct {
		name    string
		body    io.Reader
		want    error
		wantLen int64
	}{
		{"good", bytes.NewReader(good), nil, size},
		{"good one byte at a time", iotest.OneByteReader(bytes.NewReader(good)), nil, size},
		{"flipped bit", bytes.NewReader(flipped), ErrContentMismatch, -1},
		{"short", bytes.NewReader(good[:size-1]), ErrContentMismatch, size - 1},
		{"long", bytes.NewReader(append(bytes.Clone(good), 0)), ErrContentMismatch, -1},
		{"other key", bytes.NewReader(otherContent), ErrContentMismatch, 0},
		{"read error", iotest.TimeoutReader(bytes.NewReader(good)), iotest.ErrTimeout, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := verifyContent(tc.body, "key", size, make([]byte, 8192))
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.wantLen >= 0 && n != tc.wantLen {
				t.Fatalf("n = %d, want %d", n, tc.wantLen)
			}
		})
	}
}

func BenchmarkPatternRead(b *testing.B) {
	var r patternReader
	buf := make([]byte, 64<<10)
	b.SetBytes(4 << 20)
	for b.Loop() {
		r.Reset("bench", 4<<20)
		_, _ = io.CopyBuffer(io.Discard, &r, buf)
	}
}
