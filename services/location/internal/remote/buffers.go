package remote

import (
	"context"

	"golang.org/x/sync/semaphore"
)

// BufferPool hands out the memory Puts buffer data in, within a limit for
// the whole driver. Buffers of the pool's size (a part or block) are kept
// for reuse when returned; other sizes are only accounted for. A buffer
// larger than the limit takes the whole limit. Sized buffers never exceed
// the limit in total: one is allocated only when no idle one exists, while
// holding its share of the limit. It is safe for concurrent use.
type BufferPool struct {
	size  int64 // bytes of a sized buffer
	limit int64 // bytes all buffers in use may hold
	mem   *semaphore.Weighted
	idle  chan []byte // sized buffers not in use
}

// NewBufferPool returns a pool of buffers of size bytes (positive) within
// limit (raised to at least size).
func NewBufferPool(size, limit int64) *BufferPool {
	limit = max(limit, size)
	return &BufferPool{size: size, limit: limit, mem: semaphore.NewWeighted(limit), idle: make(chan []byte, limit/size)}
}

// Size returns the size of the buffers the pool keeps for reuse.
func (p *BufferPool) Size() int64 { return p.size }

// Limit returns the bytes all buffers in use may hold.
func (p *BufferPool) Limit() int64 { return p.limit }

// Idle returns how many buffers the pool keeps for reuse now.
func (p *BufferPool) Idle() int { return len(p.idle) }

// Get returns a buffer of n bytes, waiting for memory until ctx ends; then
// it returns ctx's error.
func (p *BufferPool) Get(ctx context.Context, n int64) ([]byte, error) {
	if err := p.mem.Acquire(ctx, min(n, p.limit)); err != nil {
		return nil, err
	}
	return p.take(n), nil
}

// TryGet returns a buffer of n bytes if the memory is free now.
func (p *BufferPool) TryGet(n int64) ([]byte, bool) {
	if !p.mem.TryAcquire(min(n, p.limit)) {
		return nil, false
	}
	return p.take(n), true
}

func (p *BufferPool) take(n int64) []byte {
	if n == p.size {
		select {
		case b := <-p.idle:
			return b
		default:
		}
	}
	return make([]byte, n)
}

// Put returns a whole buffer from Get or TryGet.
func (p *BufferPool) Put(b []byte) {
	n := int64(len(b))
	if n == p.size {
		select {
		case p.idle <- b:
		default: // the pool is full; let the GC have it
		}
	}
	p.mem.Release(min(n, p.limit))
}
