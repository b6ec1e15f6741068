package s3

import (
	"context"

	"golang.org/x/sync/semaphore"
)

// bufferPool hands out the memory Puts buffer data in, within a limit for
// the whole driver. Buffers of the part size are kept for reuse when
// returned; other sizes are only accounted for. A buffer larger than the
// limit takes the whole limit. Part buffers never exceed the limit in
// total: one is allocated only when no idle one exists, while holding its
// share of the limit.
type bufferPool struct {
	size  int64 // bytes of a part buffer
	limit int64 // bytes all buffers in use may hold
	mem   *semaphore.Weighted
	idle  chan []byte // part buffers not in use
}

// newBufferPool returns a pool of part buffers of size bytes within limit
// (at least size).
func newBufferPool(size, limit int64) *bufferPool {
	limit = max(limit, size)
	return &bufferPool{size: size, limit: limit, mem: semaphore.NewWeighted(limit), idle: make(chan []byte, limit/size)}
}

// get returns a buffer of n bytes, waiting for memory until ctx ends.
func (p *bufferPool) get(ctx context.Context, n int64) ([]byte, error) {
	if err := p.mem.Acquire(ctx, min(n, p.limit)); err != nil {
		return nil, err
	}
	return p.take(n), nil
}

// tryGet returns a buffer of n bytes if the memory is free now.
func (p *bufferPool) tryGet(n int64) ([]byte, bool) {
	if !p.mem.TryAcquire(min(n, p.limit)) {
		return nil, false
	}
	return p.take(n), true
}

func (p *bufferPool) take(n int64) []byte {
	if n == p.size {
		select {
		case b := <-p.idle:
			return b
		default:
		}
	}
	return make([]byte, n)
}

// put returns a whole buffer from get or tryGet.
func (p *bufferPool) put(b []byte) {
	n := int64(len(b))
	if n == p.size {
		select {
		case p.idle <- b:
		default: // the pool is full; let the GC have it
		}
	}
	p.mem.Release(min(n, p.limit))
}
