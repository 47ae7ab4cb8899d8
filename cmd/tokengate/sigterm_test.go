package main

// TestSIGTERMDrains sends SIGTERM to a serving gateway while requests are
// held in flight by a slow upstream behind its proxy: the gateway stops
// accepting connections, lets every held request finish with the
// upstream's own answer, and exits 0.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSIGTERMDrains(t *testing.T) {
	bin := buildTokengate(t)
	const held = 4
	arrived := make(chan string, held)
	release := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := r.URL.Query().Get("n")
		arrived <- n
		<-release
		fmt.Fprintf(w, "slow answer %s for %s", n, r.Header.Get("X-Tokengate-User"))
	}))
	defer upstream.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := filepath.Join(t.TempDir(), "tokengate.yaml")
	conf := fmt.Sprintf("proxy:\n  routes:\n    - prefix: /api/\n      upstream: %s/\n      errors: plain\n", upstream.URL)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, bin, dir, addr, cfg, "TOKENGATE_ADMIN_PASSWORD="+serveAdminPassword)
	p := g.password("admin", serveAdminPassword)
	if p.status != http.StatusOK {
		t.Fatalf("password grant: %d %s", p.status, p.raw)
	}
	at := p.str("access_token")

	type answer struct {
		n      int
		status int
		body   string
		err    error
	}
	answers := make(chan answer, held)
	hc := &http.Client{Timeout: hangBound, Transport: &http.Transport{}}
	for i := range held {
		go func() {
			req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/slow?n=%d", g.URL, i), nil)
			if err != nil {
				answers <- answer{n: i, err: err}
				return
			}
			req.Header.Set("Authorization", "Bearer "+at)
			resp, err := hc.Do(req)
			if err != nil {
				answers <- answer{n: i, err: err}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			answers <- answer{n: i, status: resp.StatusCode, body: string(b), err: err}
		}()
	}
	// Every request has reached the upstream: all are in flight.
	for range held {
		select {
		case <-arrived:
		case a := <-answers:
			t.Fatalf("request %d answered before the upstream saw it: %d %q %v", a.n, a.status, a.body, a.err)
		case <-time.After(hangBound):
			t.Fatal("the upstream did not see the requests")
		}
	}

	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !g.stderr.waitFor("shutting down", g.exited) {
		t.Fatalf("no shutdown after SIGTERM:\n%s", g.stderr)
	}
	// The listener closes at once; the held requests are still running.
	eventually(t, "new connections refused after SIGTERM", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case a := <-answers:
		t.Fatalf("request %d ended before the upstream answered: %d %q %v", a.n, a.status, a.body, a.err)
	case <-g.exited:
		t.Fatalf("the gateway exited with requests in flight:\n%s", g.stderr)
	default:
	}

	close(release)
	for range held {
		a := <-answers
		want := fmt.Sprintf("slow answer %d for admin", a.n)
		if a.err != nil || a.status != http.StatusOK || a.body != want {
			t.Errorf("request %d in flight at SIGTERM: %d %q %v; want 200 %q", a.n, a.status, a.body, a.err, want)
		}
	}
	select {
	case <-g.exited:
	case <-time.After(hangBound):
		t.Fatalf("the gateway did not exit after draining:\n%s", g.stderr)
	}
	if code := g.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0\nstderr:\n%s", code, g.stderr)
	}
	if errs := strings.Count(g.stderr.String(), "level=ERROR"); errs != 0 {
		t.Errorf("%d errors logged during the drain:\n%s", errs, g.stderr)
	}
}

// TestSIGTERMDrainBound: a request still running at shutdown_timeout is
// cut off, and serve says so and exits 1, rather than hang its supervisor.
func TestSIGTERMDrainBound(t *testing.T) {
	bin := buildTokengate(t)
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release // only after the gateway exited
	}))
	defer upstream.Close()
	defer close(release) // before Close, which waits for the handler
	cfg := filepath.Join(t.TempDir(), "tokengate.yaml")
	conf := fmt.Sprintf("shutdown_timeout: 1s\nproxy:\n  routes:\n    - prefix: /api/\n      upstream: %s/\n      errors: plain\n", upstream.URL)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, bin, t.TempDir(), freeAddr(t), cfg, "TOKENGATE_ADMIN_PASSWORD="+serveAdminPassword)
	p := g.password("admin", serveAdminPassword)
	if p.status != http.StatusOK {
		t.Fatalf("password grant: %d %s", p.status, p.raw)
	}
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, g.URL+"/api/forever", nil)
		req.Header.Set("Authorization", "Bearer "+p.str("access_token"))
		// A connection of its own: a reused one would be retried.
		resp, err := (&http.Client{Timeout: hangBound, Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		done <- err
	}()
	<-arrived
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-g.exited:
	case <-time.After(hangBound):
		t.Fatal("the gateway did not exit at shutdown_timeout")
	}
	if code := g.cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(g.stderr.String(), "requests still in flight after shutdown_timeout 1s were cut off") {
		t.Fatalf("exit code %d, want 1 with the reason:\n%s", code, g.stderr)
	}
	if err := <-done; err == nil {
		t.Fatal("the request held past shutdown_timeout was answered")
	}
}
