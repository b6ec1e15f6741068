package remote

import (
	"context"
	"errors"
	"testing"
)

func TestBufferPool(t *testing.T) {
	p := NewBufferPool(4, 10)
	if p.Size() != 4 || p.Limit() != 10 {
		t.Fatalf("Size, Limit = %d, %d; want 4, 10", p.Size(), p.Limit())
	}
	a, err := p.Get(t.Context(), 4)
	if err != nil || len(a) != 4 {
		t.Fatalf("Get(4) = %d bytes, %v", len(a), err)
	}
	b, ok := p.TryGet(4)
	if !ok || len(b) != 4 {
		t.Fatalf("TryGet(4) = %d bytes, %v", len(b), ok)
	}
	if _, ok := p.TryGet(4); ok {
		t.Fatal("TryGet beyond the limit succeeded")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := p.Get(ctx, 4); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with ended ctx: error = %v, want context.Canceled", err)
	}
	p.Put(a)
	p.Put(b)
	if p.Idle() != 2 {
		t.Fatalf("Idle = %d after two Puts, want 2", p.Idle())
	}
	c, err := p.Get(t.Context(), 4)
	if err != nil || &c[0] != &a[0] && &c[0] != &b[0] {
		t.Fatalf("Get after Put did not reuse a buffer (err %v)", err)
	}
	p.Put(c)
	// A buffer larger than the limit takes the whole limit, and is not kept.
	big, err := p.Get(t.Context(), 20)
	if err != nil || len(big) != 20 {
		t.Fatalf("Get(20) = %d bytes, %v", len(big), err)
	}
	if _, ok := p.TryGet(1); ok {
		t.Fatal("TryGet while a buffer holds the whole limit succeeded")
	}
	p.Put(big)
	if p.Idle() != 2 {
		t.Fatalf("Idle = %d, want 2: an odd-sized buffer was kept", p.Idle())
	}
	if _, ok := p.TryGet(10); !ok {
		t.Fatal("memory not released by Put")
	}
}
