package bench

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Server is what was measured of the server process during a run.
type Server struct {
	PID        int     `json:"pid"`
	CPUPercent float64 `json:"cpu_percent"` // of one core
	RSSBytes   int64   `json:"rss_bytes"`   // at the end of the run
	// CPUPerRequestUS is server CPU time per completed request: less
	// sensitive than throughput to other load on the machine.
	CPUPerRequestUS float64 `json:"cpu_per_request_us"`
}

// Summary is the machine-readable form of a run (`tokengate bench --json`).
type Summary struct {
	Scenario    string             `json:"scenario"`
	Target      string             `json:"target"`
	Concurrency int                `json:"concurrency"`
	Seconds     float64            `json:"seconds"`
	Requests    uint64             `json:"requests"`
	Errors      uint64             `json:"errors"`
	PerSecond   float64            `json:"per_second"`
	LatencyMS   map[string]float64 `json:"latency_ms"`
	ByStatus    map[string]uint64  `json:"by_status"`
	Server      *Server            `json:"server,omitempty"`
	Load        string             `json:"load_average,omitempty"`
	FirstErrors []string           `json:"first_errors,omitempty"`
}

var quantiles = []struct {
	name string
	q    float64
}{{"p50", .5}, {"p90", .9}, {"p99", .99}, {"p99.9", .999}}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Summarize builds the summary of r.
func (r *Result) Summarize(target string, srv *Server) Summary {
	s := Summary{Scenario: r.Scenario, Target: target, Concurrency: r.Concurrency, Seconds: r.Elapsed.Seconds(),
		Requests: r.Requests, Errors: r.Errors, PerSecond: r.Throughput(),
		LatencyMS: map[string]float64{}, ByStatus: map[string]uint64{}, Server: srv, FirstErrors: r.FirstErrors}
	for _, q := range quantiles {
		s.LatencyMS[q.name] = ms(r.Latency.Quantile(q.q))
	}
	s.LatencyMS["mean"] = ms(r.Latency.Mean())
	s.LatencyMS["max"] = ms(r.Latency.Max())
	for _, st := range r.Statuses() {
		s.ByStatus[statusName(st)] = r.ByStatus[st]
	}
	if srv != nil && r.Requests > 0 {
		srv.CPUPerRequestUS = srv.CPUPercent / 100 * r.Elapsed.Seconds() * 1e6 / float64(r.Requests)
	}
	s.Load = LoadAverage()
	return s
}

func statusName(st int) string {
	if st == 0 {
		return "no_response"
	}
	return strconv.Itoa(st)
}

// WriteText prints s for a person.
func (s Summary) WriteText(w io.Writer) {
	fmt.Fprintf(w, "scenario     %s\n", s.Scenario)
	fmt.Fprintf(w, "target       %s, concurrency %d, %.1fs\n", s.Target, s.Concurrency, s.Seconds)
	fmt.Fprintf(w, "requests     %d  (%.0f/s)\n", s.Requests, s.PerSecond)
	fmt.Fprintf(w, "errors       %d\n", s.Errors)
	var lat []string
	for _, q := range quantiles {
		lat = append(lat, fmt.Sprintf("%s %.2f", q.name, s.LatencyMS[q.name]))
	}
	lat = append(lat, fmt.Sprintf("max %.2f", s.LatencyMS["max"]))
	fmt.Fprintf(w, "latency ms   %s\n", strings.Join(lat, "  "))
	var sts []string
	for _, k := range sortedKeys(s.ByStatus) {
		sts = append(sts, fmt.Sprintf("%s: %d", k, s.ByStatus[k]))
	}
	fmt.Fprintf(w, "by status    %s\n", strings.Join(sts, ", "))
	if s.Server != nil {
		fmt.Fprintf(w, "server       pid %d, cpu %.0f%% of one core (%.0f µs per request), rss %.1f MiB\n", s.Server.PID, s.Server.CPUPercent, s.Server.CPUPerRequestUS, float64(s.Server.RSSBytes)/(1<<20))
	}
	if s.Load != "" {
		fmt.Fprintf(w, "load average %s\n", s.Load)
	}
	for _, e := range s.FirstErrors {
		fmt.Fprintf(w, "error        %s\n", e)
	}
}

func sortedKeys(m map[string]uint64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// LoadAverage returns the 1, 5 and 15 minute load averages of the machine
// (Linux), so a figure can be read against how busy the machine was.
func LoadAverage() string {
	b, err := readFileString("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(b)
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
