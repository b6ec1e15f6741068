package bus

import (
	"fmt"
	"time"
)

// Backoff is the redelivery delay after a transient handler error:
// Initial doubled for each earlier delivery, capped at Max, then shortened
// by a random part of up to Jitter (a fraction in [0, 1]) so that replicas
// do not retry in step. The zero Backoff means DefaultBackoff.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
	Jitter  float64
}

// DefaultBackoff is used when ConsumeSpec.Backoff is zero.
var DefaultBackoff = Backoff{Initial: time.Second, Max: time.Minute, Jitter: 0.2}

func (b Backoff) withDefaults() Backoff {
	if b == (Backoff{}) {
		return DefaultBackoff
	}
	if b.Initial == 0 {
		b.Initial = DefaultBackoff.Initial
	}
	if b.Max == 0 {
		b.Max = max(DefaultBackoff.Max, b.Initial)
	}
	return b
}

func (b Backoff) validate() error {
	if b.Initial < 0 || b.Max < 0 || b.Max < b.Initial {
		return fmt.Errorf("%w: backoff needs 0 <= Initial <= Max", ErrInvalidSpec)
	}
	if !(b.Jitter >= 0 && b.Jitter <= 1) { // also rejects NaN
		return fmt.Errorf("%w: backoff jitter %v not in [0, 1]", ErrInvalidSpec, b.Jitter)
	}
	return nil
}

// Delay returns the delay before delivery number delivered+1, after
// delivery number delivered (1 for the first) failed. r in [0, 1) picks the
// jitter; pass rand.Float64(). The result is in [d*(1-Jitter), d] where
// d = min(Initial*2^(delivered-1), Max).
func (b Backoff) Delay(delivered uint64, r float64) time.Duration {
	d := b.Initial
	for i := uint64(1); i < delivered && d < b.Max; i++ {
		d *= 2
		if d <= 0 { // overflow
			d = b.Max
		}
	}
	if d > b.Max {
		d = b.Max
	}
	if r < 0 || r > 1 || r != r {
		r = 0
	}
	return d - time.Duration(float64(d)*b.Jitter*r)
}
