package gcs

import (
	"context"

	"golang.org/x/sync/semaphore"
)

// memory accounts for the chunk buffers storage.Writers allocate for
// resumable uploads, within a limit for the whole driver, and keeps the
// small copy buffers every Put streams through for reuse.
type memory struct {
	limit  int64 // bytes all chunk buffers may hold
	chunks *semaphore.Weighted
	copies chan []byte // idle copy buffers of peekSize bytes
}

// newMemory returns a memory of limit bytes (at least one chunk).
func newMemory(chunk, limit int64) *memory {
	limit = max(limit, chunk)
	return &memory{limit: limit, chunks: semaphore.NewWeighted(limit), copies: make(chan []byte, 16)}
}

// reserve takes n bytes (at most the limit) for a chunk buffer, waiting
// until ctx ends; give them back with release.
func (m *memory) reserve(ctx context.Context, n int64) error {
	return m.chunks.Acquire(ctx, min(n, m.limit))
}

// release gives back what reserve took.
func (m *memory) release(n int64) {
	m.chunks.Release(min(n, m.limit))
}

// copyBuffer returns a buffer of peekSize bytes; give it back with
// putCopyBuffer.
func (m *memory) copyBuffer() []byte {
	select {
	case b := <-m.copies:
		return b
	default:
		return make([]byte, peekSize)
	}
}

// putCopyBuffer keeps b for reuse, or lets the GC have it.
func (m *memory) putCopyBuffer(b []byte) {
	select {
	case m.copies <- b:
	default:
	}
}
