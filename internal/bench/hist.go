package bench

import (
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: each power-of-two range of
// latencies is split into 2^(subBits-1) buckets, so a recorded value is
// off by at most 1/64 (1.6%) of itself. Below 2^subBits ns it is exact.
const subBits = 7

const (
	subCount = 1 << subBits
	halfSub  = subCount / 2
	nBuckets = subCount + (64-subBits)*halfSub
)

// Histogram records latencies in log-linear buckets, like an HDR
// histogram: fixed memory (about 30 KiB) whatever the number of samples,
// and quantiles within 1.6%. It is not safe for concurrent use; give each
// worker its own and Merge them.
type Histogram struct {
	counts   [nBuckets]uint64
	n        uint64
	min, max time.Duration
	sum      time.Duration
}

func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	e := bits.Len64(v) - subBits // >= 1
	return subCount + (e-1)*halfSub + int(v>>uint(e)) - halfSub
}

// bucketValue is the middle of a bucket's range.
func bucketValue(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	e := (i-subCount)/halfSub + 1
	m := uint64((i-subCount)%halfSub + halfSub)
	lo := m << uint(e)
	return lo + (uint64(1)<<uint(e))/2
}

// Record adds one sample.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.n++
	h.sum += d
}

// Merge adds o's samples to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Count is the number of samples.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest sample (exact).
func (h *Histogram) Max() time.Duration { return h.max }

// Min is the smallest sample (exact).
func (h *Histogram) Min() time.Duration { return h.min }

// Mean is the average sample.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// Quantile returns the sample at quantile q (0 < q <= 1): the smallest
// recorded value such that a fraction q of the samples are at or below
// it, to the histogram's precision, clamped to the exact min and max.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.999999)
	rank = max(1, min(rank, h.n))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := time.Duration(bucketValue(i))
			return max(h.min, min(v, h.max))
		}
	}
	return h.max
}
