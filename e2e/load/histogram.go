package load

import (
	"math"
	"math/bits"
	"time"
)

// histSubBits sets the precision of Histogram: each power of two is split into
// 2^(histSubBits-1) buckets, so a recorded value is reported within 1/2^(histSubBits-1)
// (0.8 %) of itself.
const (
	histSubBits  = 8
	histSubCount = 1 << histSubBits // values below this are counted exactly
	histHalf     = histSubCount / 2
	histBuckets  = histSubCount + (64-histSubBits)*histHalf
)

// Histogram records non-negative durations in log-linear buckets, like HdrHistogram:
// memory is fixed (about 60 KB) however many values are recorded, and every quantile is
// within 0.8 % of an exactly computed one (values below 256 ns are exact). Min, max, count
// and sum are exact. The zero value is not usable; call NewHistogram. A Histogram is not
// safe for concurrent use: give each goroutine its own and Merge them.
type Histogram struct {
	counts   []uint64
	count    uint64
	sum      float64
	min, max int64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, histBuckets), min: math.MaxInt64}
}

// histIndex maps a value to its bucket. Values below histSubCount map to themselves; a
// value v with bit length histSubBits+k (k >= 1) maps to bucket histSubCount +
// (k-1)*histHalf + (v>>k - histHalf).
func histIndex(v int64) int {
	u := uint64(v)
	if u < histSubCount {
		return int(u)
	}
	k := bits.Len64(u) - histSubBits
	return histSubCount + (k-1)*histHalf + int(u>>uint(k)) - histHalf
}

// histUpper returns the largest value that maps to bucket i.
func histUpper(i int) int64 {
	if i < histSubCount {
		return int64(i)
	}
	k := (i-histSubCount)/histHalf + 1
	sub := uint64((i-histSubCount)%histHalf + histHalf)
	upper := (sub+1)<<uint(k) - 1
	if upper > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(upper)
}

// Record adds one duration; negative durations are recorded as zero.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[histIndex(v)]++
	h.count++
	h.sum += float64(v)
	h.min = min(h.min, v)
	h.max = max(h.max, v)
}

// Merge adds every value recorded in o to h; o is unchanged.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.count == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.count += o.count
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.count }

// Max returns the largest recorded value, or 0 when empty.
func (h *Histogram) Max() time.Duration {
	if h.count == 0 {
		return 0
	}
	return time.Duration(h.max)
}

// Min returns the smallest recorded value, or 0 when empty.
func (h *Histogram) Min() time.Duration {
	if h.count == 0 {
		return 0
	}
	return time.Duration(h.min)
}

// Mean returns the exact mean of the recorded values, or 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.count == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.count))
}

// Quantile returns the value at quantile q (0 <= q <= 1; clamped otherwise): the
// smallest recorded value v such that at least q of the values are <= v, reported as the
// upper edge of its bucket, clamped to [Min, Max]. So it never understates a latency and
// overstates it by at most 0.8 %. Quantile(0) is Min and Quantile(1) is Max; an empty
// histogram returns 0.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.count == 0 {
		return 0
	}
	if q <= 0 || math.IsNaN(q) {
		return time.Duration(h.min)
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	rank := uint64(math.Ceil(q * float64(h.count)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(max(histUpper(i), h.min), h.max))
		}
	}
	return time.Duration(h.max)
}
