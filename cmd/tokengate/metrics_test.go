package main

// These tests run the real binary with --metrics-listen: /metrics on a
// listener of its own, the live-sessions gauge counted from the store at
// start (so it survives a kill -9 and restart), and a busy metrics port
// that stops the first start before anything is created.

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestMetricsListen(t *testing.T) {
	bin := buildTokengate(t)
	t.Run("serves apart and counts from the store", func(t *testing.T) { testMetricsApart(t, bin) })
	t.Run("busy metrics port creates nothing", func(t *testing.T) { testBusyMetricsPort(t, bin) })
}

// liveGauge scrapes base/metrics and returns tokengate_sessions_live of a
// tenant.
func liveGauge(t *testing.T, base, tenant string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s/metrics: %d %s", base, resp.StatusCode, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	f := fams["tokengate_sessions_live"]
	if f == nil {
		t.Fatalf("no tokengate_sessions_live at %s/metrics", base)
	}
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "tenant" && l.GetValue() == tenant {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no tokengate_sessions_live{tenant=%q}", tenant)
	return 0
}

func testMetricsApart(t *testing.T, bin string) {
	dir := t.TempDir()
	addr, maddr := freeAddr(t), freeAddr(t)
	args := []string{"serve", "--data", dir, "--listen", addr, "--metrics-listen", maddr}
	g := startServe(t, bin, "http://"+addr, args, "TOKENGATE_ADMIN_PASSWORD="+serveAdminPassword)
	resp, err := http.Get(g.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("public /metrics with --metrics-listen: %d", resp.StatusCode)
	}
	if n := liveGauge(t, "http://"+maddr, "default"); n != 0 {
		t.Fatalf("live sessions at first start: %v", n)
	}
	for range 2 {
		if r := g.password("admin", serveAdminPassword); r.status != http.StatusOK {
			t.Fatalf("password grant: %d %s", r.status, r.raw)
		}
	}
	if n := liveGauge(t, "http://"+maddr, "default"); n != 2 {
		t.Fatalf("live sessions after two sign-ons: %v", n)
	}
	g.kill()

	// A restart counts what the store holds before it serves.
	startServe(t, bin, "http://"+addr, args)
	if n := liveGauge(t, "http://"+maddr, "default"); n != 2 {
		t.Fatalf("live sessions after a restart: %v, want the 2 in the store", n)
	}
}

func testBusyMetricsPort(t *testing.T, bin string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := filepath.Join(t.TempDir(), "data")
	out, errOut, err := run1(t, bin, "", nil, "serve", "--data", dir, "--listen", freeAddr(t), "--metrics-listen", ln.Addr().String())
	if err == nil {
		t.Fatalf("serve with a busy metrics port succeeded:\n%s%s", out, errOut)
	}
	if !strings.Contains(errOut, ln.Addr().String()) || !strings.Contains(errOut, "--metrics-listen") {
		t.Errorf("error does not name the address %s and --metrics-listen:\n%s", ln.Addr(), errOut)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a failed first start left the data directory behind: %v", err)
	}
}
