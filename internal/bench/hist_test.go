package bench

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramQuantilesMatchSortedSamples(t *testing.T) {
	for _, tc := range []struct {
		name string
		gen  func(r *rand.Rand) time.Duration
	}{
		{"uniform 0-10ms", func(r *rand.Rand) time.Duration { return time.Duration(r.Int64N(int64(10 * time.Millisecond))) }},
		{"exponential mean 2ms", func(r *rand.Rand) time.Duration { return time.Duration(r.ExpFloat64() * float64(2*time.Millisecond)) }},
		{"tiny values", func(r *rand.Rand) time.Duration { return time.Duration(r.Int64N(100)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var h, h1, h2 Histogram
			var all []time.Duration
			for i := range 100000 {
				d := tc.gen(r)
				all = append(all, d)
				h.Record(d)
				if i%2 == 0 {
					h1.Record(d)
				} else {
					h2.Record(d)
				}
			}
			h1.Merge(&h2)
			slices.Sort(all)
			if h.Count() != 100000 || h1.Count() != 100000 {
				t.Fatalf("counts %d, %d", h.Count(), h1.Count())
			}
			if h.Min() != all[0] || h.Max() != all[len(all)-1] {
				t.Errorf("min/max %v/%v, want %v/%v", h.Min(), h.Max(), all[0], all[len(all)-1])
			}
			for _, q := range []float64{.5, .9, .99, .999, 1} {
				want := all[int(q*float64(len(all)))-1]
				got := h.Quantile(q)
				if diff := float64(got - want); diff > 0.02*float64(want)+1 || -diff > 0.02*float64(want)+1 {
					t.Errorf("q%.3f = %v, want %v within 2%%", q, got, want)
				}
				if merged := h1.Quantile(q); merged != got {
					t.Errorf("merged q%.3f = %v, want %v", q, merged, got)
				}
			}
		})
	}
}

func TestHistogramEmpty(t *testing.T) {
	var h Histogram
	if h.Quantile(.99) != 0 || h.Mean() != 0 || h.Count() != 0 {
		t.Error("empty histogram reports samples")
	}
}

func TestBucketsAreContiguous(t *testing.T) {
	prev := -1
	for v := uint64(0); v < 1<<20; v++ {
		b := bucketOf(v)
		if b != prev && b != prev+1 {
			t.Fatalf("value %d jumps from bucket %d to %d", v, prev, b)
		}
		prev = b
	}
	if b := bucketOf(^uint64(0)); b >= nBuckets {
		t.Fatalf("max value lands in bucket %d of %d", b, nBuckets)
	}
}
