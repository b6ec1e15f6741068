package server_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// genReader yields a deterministic byte pattern of a given size without
// holding it in memory. It is an io.ReadSeeker so the SDK can hash the
// payload and rewind.
type genReader struct {
	size, off int64
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.size {
		return 0, io.EOF
	}
	n := int64(len(p))
	if rest := g.size - g.off; n > rest {
		n = rest
	}
	for i := int64(0); i < n; i++ {
		o := g.off + i
		p[i] = byte(o*131 + o>>13)
	}
	g.off += n
	return int(n), nil
}

func (g *genReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += g.off
	case io.SeekEnd:
		offset += g.size
	}
	if offset < 0 {
		return 0, errors.New("negative seek")
	}
	g.off = offset
	return offset, nil
}

// heapWatch samples HeapAlloc until stopped and reports the peak.
func heapWatch() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

// TestLargeObjectMemory PUTs and GETs a 256 MiB object through the server
// (client and server in this process) and shows that the heap grows by far
// less than the object: data is streamed, never held.
func TestLargeObjectMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 512 MiB through the server")
	}
	const size = 256 << 20
	const limit = 48 << 20 // heap growth allowed: a fifth of the object
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "large")

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	stop := heapWatch()
	put, err := e.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("large"), Key: aws.String("blob"),
		Body: &genReader{size: size}, ContentLength: aws.Int64(size)})
	peak := stop()
	if err != nil {
		t.Fatal(err)
	}
	h := md5.New()
	if _, err := io.Copy(h, &genReader{size: size}); err != nil {
		t.Fatal(err)
	}
	want := hex.EncodeToString(h.Sum(nil))
	if aws.ToString(put.ETag) != `"`+want+`"` {
		t.Fatalf("etag %s, want %s", aws.ToString(put.ETag), want)
	}
	t.Logf("PUT 256 MiB: heap %d MiB before, peak %d MiB", base.HeapAlloc>>20, peak>>20)
	if peak > base.HeapAlloc && peak-base.HeapAlloc > limit {
		t.Fatalf("PUT grew the heap by %d MiB for a %d MiB object", (peak-base.HeapAlloc)>>20, size>>20)
	}

	runtime.GC()
	runtime.ReadMemStats(&base)
	stop = heapWatch()
	out, err := e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("large"), Key: aws.String("blob")})
	if err != nil {
		stop()
		t.Fatal(err)
	}
	h.Reset()
	n, err := io.Copy(h, out.Body)
	out.Body.Close()
	peak = stop()
	if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != want {
		t.Fatalf("GET read %d bytes, err %v", n, err)
	}
	t.Logf("GET 256 MiB: heap %d MiB before, peak %d MiB", base.HeapAlloc>>20, peak>>20)
	if peak > base.HeapAlloc && peak-base.HeapAlloc > limit {
		t.Fatalf("GET grew the heap by %d MiB for a %d MiB object", (peak-base.HeapAlloc)>>20, size>>20)
	}
}
