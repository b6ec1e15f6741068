package locationtest

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"io"
	"runtime"
	"testing"

	"github.com/sluice-io/sluice/services/location"
)

// allocated returns the bytes the process allocated while fn ran.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func (s *suite) testLargeObject(t *testing.T) {
	size := s.largeSize(t)
	limit := uint64(size / 4)
	d := s.driver(t)
	buf := make([]byte, 64<<10) // the test's own copy buffer, allocated up front
	for _, known := range []bool{true, false} {
		name := "known size"
		if !known {
			name = "unknown size"
		}
		t.Run(name, func(t *testing.T) {
			key := "large/" + name
			gen := newGen(30, size)
			h := md5.New()
			opts := location.PutOptions{Size: -1, ContentType: "application/octet-stream"}
			if known {
				opts.Size = size
			}
			var info location.ObjectInfo
			var err error
			n := allocated(func() {
				info, err = d.Put(t.Context(), key, io.TeeReader(gen, h), opts)
			})
			if err != nil {
				t.Fatalf("Put of %d bytes: %v", size, err)
			}
			want := hex.EncodeToString(h.Sum(nil))
			if info.Size != size || info.ETag != want {
				t.Fatalf("Put = size %d etag %s, want %d %s", info.Size, info.ETag, size, want)
			}
			t.Logf("Put of %d bytes allocated %d bytes", size, n)
			if n > limit {
				t.Errorf("Put of %d bytes allocated %d bytes (limit %d): it does not stream", size, n, limit)
			}

			h.Reset()
			var copied int64
			n = allocated(func() {
				var rc io.ReadCloser
				if rc, info, err = d.Get(t.Context(), key, nil); err != nil {
					return
				}
				defer rc.Close()
				copied, err = io.CopyBuffer(onlyWriter{h}, rc, buf)
			})
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if got := hex.EncodeToString(h.Sum(nil)); copied != size || got != want || info.ETag != want {
				t.Fatalf("Get = %d bytes md5 %s (info ETag %s), want %d bytes md5 %s", copied, got, info.ETag, size, want)
			}
			t.Logf("Get of %d bytes allocated %d bytes", size, n)
			if n > limit {
				t.Errorf("Get of %d bytes allocated %d bytes (limit %d): it does not stream", size, n, limit)
			}

			// Ranges deep inside the object.
			for _, rng := range []location.Range{
				{Offset: size - 1<<20},
				{Offset: size/2 - 12345, Length: 1<<20 + 7},
				{Offset: -1000},
			} {
				off, length, err := rng.Resolve(size)
				if err != nil {
					t.Fatal(err)
				}
				wantH := md5.New()
				if _, err := io.CopyBuffer(onlyWriter{wantH}, gen.section(off, length), buf); err != nil {
					t.Fatal(err)
				}
				rc, _, err := d.Get(t.Context(), key, &rng)
				if err != nil {
					t.Fatalf("Get(%+v): %v", rng, err)
				}
				h.Reset()
				n, err := io.CopyBuffer(onlyWriter{h}, rc, buf)
				rc.Close()
				if err != nil || n != length || !bytes.Equal(h.Sum(nil), wantH.Sum(nil)) {
					t.Fatalf("Get(%+v) = %d bytes, %v; want %d bytes of the object", rng, n, err, length)
				}
			}
			if err := d.Delete(t.Context(), key); err != nil {
				t.Fatalf("Delete: %v", err)
			}
		})
	}
}

// onlyWriter hides every method but Write, so io.CopyBuffer uses the given
// buffer.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }
