package fs

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync/atomic"
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

// BenchmarkFSPutParallel measures durable writes from 16 concurrent writers
// into one directory under fresh keys, as s3front stores object data
// ("<bucket>/<uuid>"), each followed by the delete of an older object there,
// as an overwrite displaces it.
func BenchmarkFSPutParallel(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			d := benchDriver(b)
			data := bytes.Repeat([]byte("sluice!"), size/7+1)[:size]
			var n atomic.Int64
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.SetParallelism(8) // 16 writers on 2 CPUs
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					if _, err := d.Put(b.Context(), fmt.Sprintf("bucket/%d", i), bytes.NewReader(data), location.PutOptions{Size: int64(size)}); err != nil {
						b.Error(err)
						return
					}
					if i > 16 {
						if err := d.Delete(b.Context(), fmt.Sprintf("bucket/%d", i-16)); err != nil {
							b.Error(err)
							return
						}
					}
				}
			})
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

// BenchmarkFSGetToTCP measures whole-object reads copied into a loopback TCP
// connection, as an HTTP response does: "writeto" lets io.Copy use the
// reader's WriteTo (sendfile), "read" hides it and copies through a buffer.
func BenchmarkFSGetToTCP(b *testing.B) {
	for _, size := range benchSizes {
		for _, mode := range []string{"writeto", "read"} {
			b.Run(sizeName(size)+"/"+mode, func(b *testing.B) {
				d := benchDriver(b)
				data := bytes.Repeat([]byte("sluice!"), size/7+1)[:size]
				if _, err := d.Put(b.Context(), "bench/get", bytes.NewReader(data), location.PutOptions{Size: int64(size)}); err != nil {
					b.Fatal(err)
				}
				conn := benchSink(b)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					rc, _, err := d.Get(b.Context(), "bench/get", nil)
					if err != nil {
						b.Fatal(err)
					}
					var src io.Reader = rc
					if mode == "read" {
						src = struct{ io.Reader }{rc}
					}
					if _, err := io.Copy(conn, src); err != nil {
						b.Fatal(err)
					}
					rc.Close()
				}
			})
		}
	}
}

// benchSink returns a loopback TCP connection whose other end discards
// everything.
func benchSink(b *testing.B) *net.TCPConn {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, c)
		c.Close()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close(); <-done })
	return c.(*net.TCPConn)
}
