package engine

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkObserveOperation is what the latency histogram adds to every
// engine operation (a refresh among them): one labelled observation.
func BenchmarkObserveOperation(b *testing.B) {
	m := newMetrics(prometheus.NewRegistry())
	start := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		m.observe(opRefresh, "oauth2", start, nil)
	}
}
