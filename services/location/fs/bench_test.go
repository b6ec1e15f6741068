package fs

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/sluice-io/sluice/services/location"
)

var benchSizes = []int{64 << 10, 4 << 20}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

// BenchmarkFSPut measures durable writes (each Put fsyncs) of 64 KiB and
// 4 MiB objects, cycling over 16 keys.
func BenchmarkFSPut(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			d := benchDriver(b)
			data := bytes.Repeat([]byte("sluice!"), size/7+1)[:size]
			r := bytes.NewReader(data)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r.Reset(data)
				if _, err := d.Put(b.Context(), fmt.Sprintf("bench/%d", i%16), r, location.PutOptions{Size: int64(size)}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkFSGet measures whole-object reads of 64 KiB and 4 MiB objects.
func BenchmarkFSGet(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			d := benchDriver(b)
			data := bytes.Repeat([]byte("sluice!"), size/7+1)[:size]
			if _, err := d.Put(b.Context(), "bench/get", bytes.NewReader(data), location.PutOptions{Size: int64(size)}); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 256<<10)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				rc, _, err := d.Get(b.Context(), "bench/get", nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{rc}, buf); err != nil {
					b.Fatal(err)
				}
				rc.Close()
			}
		})
	}
}

func benchDriver(b *testing.B) location.Driver {
	d, err := New(b.Context(), Config{Root: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}
