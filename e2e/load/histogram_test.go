package load

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactQuantile is the reference the histogram is held to: the smallest value with at
// least q of the sorted values at or below it.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	rank := max(int(math.Ceil(q*float64(len(sorted)))), 1)
	return sorted[rank-1]
}

func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name   string
		values func() []time.Duration
	}{
		{"single", func() []time.Duration { return []time.Duration{1234567} }},
		{"small exact", func() []time.Duration {
			var v []time.Duration
			for i := range 200 {
				v = append(v, time.Duration(i))
			}
			return v
		}},
		{"1..1000ms", func() []time.Duration {
			var v []time.Duration
			for i := 1; i <= 1000; i++ {
				v = append(v, time.Duration(i)*time.Millisecond)
			}
			return v
		}},
		{"exponential", func() []time.Duration {
			var v []time.Duration
			for range 50000 {
				v = append(v, time.Duration(rng.ExpFloat64()*float64(5*time.Millisecond)))
			}
			return v
		}},
		{"bimodal with outlier", func() []time.Duration {
			var v []time.Duration
			for i := range 10000 {
				d := 300 * time.Microsecond
				if i%10 == 0 {
					d = 40 * time.Millisecond
				}
				v = append(v, d+time.Duration(rng.IntN(1000)))
			}
			return append(v, 90*time.Second)
		}},
		{"zeros and negatives", func() []time.Duration { return []time.Duration{0, -5, 0, 7} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			values := tc.values()
			h := NewHistogram()
			for _, v := range values {
				h.Record(v)
			}
			sorted := make([]time.Duration, len(values))
			for i, v := range values {
				sorted[i] = max(v, 0)
			}
			slices.Sort(sorted)
			if h.Count() != uint64(len(values)) {
				t.Fatalf("Count = %d, want %d", h.Count(), len(values))
			}
			if h.Min() != sorted[0] || h.Max() != sorted[len(sorted)-1] {
				t.Fatalf("Min, Max = %v, %v; want %v, %v", h.Min(), h.Max(), sorted[0], sorted[len(sorted)-1])
			}
			for _, q := range []float64{0, 0.01, 0.5, 0.9, 0.99, 0.999, 1} {
				want := exactQuantile(sorted, q)
				got := h.Quantile(q)
				// Never below the exact value, at most 1/128 above it.
				if got < want || float64(got-want) > float64(want)/128 {
					t.Errorf("Quantile(%v) = %v, exact %v", q, got, want)
				}
			}
		})
	}
}

func TestHistogramMergeAndEmpty(t *testing.T) {
	empty := NewHistogram()
	if empty.Quantile(0.5) != 0 || empty.Max() != 0 || empty.Min() != 0 || empty.Mean() != 0 {
		t.Fatal("empty histogram must report zeros")
	}
	a, b, all := NewHistogram(), NewHistogram(), NewHistogram()
	for i := 1; i <= 1000; i++ {
		d := time.Duration(i) * time.Microsecond
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(b)
	a.Merge(nil)
	a.Merge(empty)
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 1} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Errorf("merged Quantile(%v) = %v, want %v", q, a.Quantile(q), all.Quantile(q))
		}
	}
	if a.Count() != all.Count() || a.Mean() != all.Mean() {
		t.Errorf("merged count/mean = %d/%v, want %d/%v", a.Count(), a.Mean(), all.Count(), all.Mean())
	}
}

func TestHistIndexMonotonic(t *testing.T) {
	// Bucket indexes must not decrease as values grow, and each value must lie within
	// its bucket's upper edge.
	prev := -1
	for _, v := range []int64{0, 1, 255, 256, 257, 511, 512, 1000, 1 << 20, 1<<20 + 1, 1 << 40, math.MaxInt64} {
		i := histIndex(v)
		if i < prev || i >= histBuckets {
			t.Fatalf("histIndex(%d) = %d after %d", v, i, prev)
		}
		if histUpper(i) < v {
			t.Fatalf("histUpper(%d) = %d < %d", i, histUpper(i), v)
		}
		if i > 0 && histUpper(i-1) >= v {
			t.Fatalf("value %d also fits bucket %d (upper %d)", v, i-1, histUpper(i-1))
		}
		prev = i
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	h := NewHistogram()
	for i := 0; b.Loop(); i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
}
