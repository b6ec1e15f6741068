package deliver

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/sluice-io/sluice/events/bus"
)

// breaker is a target's circuit. While it is closed every delivery is sent
// and a transient failure is retried through the bus (an attempt of that
// event). After threshold consecutive transient failures, or on any
// Retry-After answer, it opens: deliveries then wait, holding their
// messages (the bus keeps them alive with InProgress heartbeats) without
// spending attempts, and one of them at a time (first come, first served)
// probes the target when the probe delay has passed. A probe that gets an
// answer closes the circuit; a failed probe opens it again for a longer
// delay (the target's backoff). A down target therefore costs one request
// per backoff interval and no event, however long it stays down.
type breaker struct {
	threshold int // <= 0: only Retry-After opens the circuit
	backoff   bus.Backoff

	probe chan struct{} // the probe token (capacity 1)

	mu           sync.Mutex
	consecutive  int
	open         bool
	closed       chan struct{} // closed when the circuit closes
	nextProbe    time.Time
	failedProbes uint64
}

func newBreaker(threshold int, b bus.Backoff) *breaker {
	c := make(chan struct{})
	close(c)
	return &breaker{threshold: threshold, backoff: b, probe: make(chan struct{}, 1), closed: c}
}

// enter returns at once while the circuit is closed (probe false). While it
// is open it waits until the caller holds the probe token and the probe
// delay has passed (probe true: the caller must report with result), or
// until the circuit closes (probe false). It returns ctx's error when ctx
// ends first.
func (b *breaker) enter(ctx context.Context) (probe bool, err error) {
	for {
		b.mu.Lock()
		if !b.open {
			b.mu.Unlock()
			return false, nil
		}
		closed := b.closed
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-closed:
			continue
		case b.probe <- struct{}{}:
		}
		// Holding the token: wait for the probe time.
		for {
			b.mu.Lock()
			if !b.open {
				b.mu.Unlock()
				<-b.probe
				return false, nil
			}
			wait := time.Until(b.nextProbe)
			closed = b.closed
			b.mu.Unlock()
			if wait <= 0 {
				return true, nil
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				<-b.probe
				return false, ctx.Err()
			case <-closed:
				t.Stop()
			case <-t.C:
			}
		}
	}
}

// answered records that the target answered (success or a permanent
// failure): the circuit closes. probe says whether the caller held the
// probe token.
func (b *breaker) answered(probe bool) {
	b.mu.Lock()
	b.consecutive = 0
	b.failedProbes = 0
	if b.open {
		b.open = false
		close(b.closed)
	}
	b.mu.Unlock()
	if probe {
		<-b.probe
	}
}

// failed records a transient failure, with the delay the target asked for
// (0 if none), and reports whether the circuit is open now.
func (b *breaker) failed(probe bool, retryAfter time.Duration) bool {
	b.mu.Lock()
	b.consecutive++
	var delay time.Duration
	switch {
	case b.open && probe:
		b.failedProbes++
		delay = b.backoff.Delay(b.failedProbes+1, rand.Float64())
	case !b.open && (retryAfter > 0 || b.threshold > 0 && b.consecutive >= b.threshold):
		b.open = true
		b.closed = make(chan struct{})
		b.failedProbes = 0
		delay = b.backoff.Delay(1, rand.Float64())
	}
	if retryAfter > delay {
		delay = retryAfter
	}
	if b.open && delay > 0 {
		if next := time.Now().Add(delay); next.After(b.nextProbe) || probe {
			b.nextProbe = next
		}
	}
	open := b.open
	b.mu.Unlock()
	if probe {
		<-b.probe
	}
	return open
}

// isOpen reports whether the circuit is open.
func (b *breaker) isOpen() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open
}
