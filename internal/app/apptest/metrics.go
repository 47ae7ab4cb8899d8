package apptest

import (
	"io"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics is one scrape of the node's Prometheus exposition, by metric
// family name.
type Metrics map[string]*dto.MetricFamily

// Metrics scrapes /metrics over HTTP (from the metrics listener when the
// node has one) and parses the text exposition.
func (s *Server) Metrics(t *testing.T) Metrics {
	t.Helper()
	resp, err := s.Client.Get(s.MetricsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// Series returns the series of a family whose labels include every pair
// of labels ("name", "value", …).
func (m Metrics) Series(name string, labels ...string) []*dto.Metric {
	f := m[name]
	if f == nil {
		return nil
	}
	var out []*dto.Metric
	for _, s := range f.GetMetric() {
		if hasLabels(s, labels) {
			out = append(out, s)
		}
	}
	return out
}

// Value sums the counter or gauge values of the matching series; 0 when
// none matches.
func (m Metrics) Value(name string, labels ...string) float64 {
	var v float64
	for _, s := range m.Series(name, labels...) {
		switch {
		case s.Counter != nil:
			v += s.Counter.GetValue()
		case s.Gauge != nil:
			v += s.Gauge.GetValue()
		case s.Untyped != nil:
			v += s.Untyped.GetValue()
		}
	}
	return v
}

// Count sums the observations of the matching histogram series.
func (m Metrics) Count(name string, labels ...string) uint64 {
	var n uint64
	for _, s := range m.Series(name, labels...) {
		n += s.GetHistogram().GetSampleCount()
	}
	return n
}

// Codes returns, for a route of tokengate_http_requests_total, the count
// of each status code label seen.
func (m Metrics) Codes(route string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range m.Series("tokengate_http_requests_total", "route", route) {
		for _, l := range s.GetLabel() {
			if l.GetName() == "code" {
				out[l.GetValue()] += s.GetCounter().GetValue()
			}
		}
	}
	return out
}

func hasLabels(s *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		found := false
		for _, l := range s.GetLabel() {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// ServerErrors sums tokengate_http_requests_total over every 5xx code.
func (m Metrics) ServerErrors() float64 {
	var v float64
	for _, s := range m.Series("tokengate_http_requests_total") {
		for _, l := range s.GetLabel() {
			if l.GetName() == "code" && strings.HasPrefix(l.GetValue(), "5") {
				v += s.GetCounter().GetValue()
			}
		}
	}
	return v
}
