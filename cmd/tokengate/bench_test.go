package main

// These tests run `tokengate bench` in-process against a real gateway
// (app.Handler on a loopback httptest server over a SQLite data directory)
// and check the counts it reports. Runs are bounded by a number of
// requests, not by time: a one-second run may complete no argon2id sign-on
// at all under -race on a loaded machine. Timings are never asserted.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/bench"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
)

const benchTestAdminPassword = "bench-test-admin-password"

// benchTestServer serves a fresh data directory on loopback, with a proxy
// route /upstream/ to a stand-in upstream.
func benchTestServer(t *testing.T) (dir, url, upstream string) {
	t.Helper()
	ctx := context.Background()
	dir = t.TempDir()
	up := httptest.NewServer(bench.Upstream())
	t.Cleanup(up.Close)
	a := openTestApp(t, dir, func(cfg *config.Config) {
		cfg.Proxy.Routes = []config.ProxyRoute{{Prefix: "/upstream/", Upstream: up.URL + "/"}}
	})
	t.Cleanup(func() { a.Close() })
	if _, err := a.Engine.Bootstrap(ctx, benchTestAdminPassword); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return dir, srv.URL, up.URL
}

func benchTestRun(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code = run(context.Background(), env, append([]string{"bench"}, args...))
	return out.String(), errb.String(), code
}

func benchTestSummary(t *testing.T, stdout string) bench.Summary {
	t.Helper()
	var s bench.Summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, stdout)
	}
	return s
}

func TestBenchScenarios(t *testing.T) {
	dir, url, upstream := benchTestServer(t)
	for _, tc := range []struct{ name, scenario, dialect string }{
		{"refresh oauth2", "refresh", "oauth2"},
		{"refresh core", "refresh", "core"},
		{"refresh syncgw", "refresh", "syncgw"},
		{"introspect", "introspect", ""},
		{"signon", "signon", ""},
		{"proxy", "proxy", ""},
		{"get", "get", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--data", dir, "--server", url, "--scenario", tc.scenario,
				"--concurrency", "2", "--requests", "6", "--json", "--path", "/upstream/x"}
			if tc.dialect != "" {
				args = append(args, "--dialect", tc.dialect)
			}
			if tc.scenario == "get" {
				args[3] = upstream // the upstream directly, the baseline of the proxy's
			}
			out, errOut, code := benchTestRun(t, "", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			s := benchTestSummary(t, out)
			if s.Requests != 6 || s.Errors != 0 {
				t.Fatalf("requests %d, errors %d (%v); want 6 without errors", s.Requests, s.Errors, s.FirstErrors)
			}
			if s.ByStatus["200"] != s.Requests {
				t.Errorf("by status %v, want all %d requests 200", s.ByStatus, s.Requests)
			}
			if s.Concurrency != 2 || s.Seconds <= 0 {
				t.Errorf("concurrency %d over %.1fs, want 2", s.Concurrency, s.Seconds)
			}
			if s.LatencyMS["p50"] <= 0 || s.LatencyMS["p50"] > s.LatencyMS["p99.9"] || s.LatencyMS["p99.9"] > s.LatencyMS["max"] {
				t.Errorf("latency quantiles out of order: %v", s.LatencyMS)
			}
			if strings.Contains(errOut, "\r") {
				t.Errorf("progress line written to a non-terminal: %q", errOut)
			}
		})
	}
}

// TestBenchDuration runs for a duration: it lasts at least that long
// however fast the machine is. Plain GETs to the stand-in upstream need no
// sign-on.
func TestBenchDuration(t *testing.T) {
	_, _, upstream := benchTestServer(t)
	out, errOut, code := benchTestRun(t, "", "--server", upstream, "--scenario", "get", "--concurrency", "2", "--duration", "1s", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	s := benchTestSummary(t, out)
	if s.Seconds < 0.9 || s.Errors != 0 || s.ByStatus["200"] != s.Requests {
		t.Errorf("%.2fs, %d requests, errors %d, by status %v; want about 1s at least and every request 200", s.Seconds, s.Requests, s.Errors, s.ByStatus)
	}
}

func TestBenchTextSummary(t *testing.T) {
	dir, url, _ := benchTestServer(t)
	out, errOut, code := benchTestRun(t, "", "--data", dir, "--server", url, "--concurrency", "2", "--requests", "4")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"scenario     refresh", "requests     4", "errors       0", "p99.9", "by status    200: 4"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

// TestBenchWithCredentials uses an existing user and the public client
// instead of preparing the bench accounts, as against a remote server.
func TestBenchWithCredentials(t *testing.T) {
	_, url, _ := benchTestServer(t)
	out, errOut, code := benchTestRun(t, benchTestAdminPassword+"\n", "--server", url, "--username", "admin", "--password-stdin",
		"--client-id", "tokengate", "--concurrency", "2", "--requests", "4", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if s := benchTestSummary(t, out); s.Requests != 4 || s.Errors != 0 {
		t.Fatalf("requests %d, errors %d (%v)", s.Requests, s.Errors, s.FirstErrors)
	}
	// Introspection needs a confidential client.
	if _, errOut, code := benchTestRun(t, benchTestAdminPassword+"\n", "--server", url, "--username", "admin", "--password-stdin",
		"--scenario", "introspect", "--requests", "1"); code == 0 || !strings.Contains(errOut, "confidential") {
		t.Errorf("introspect with a public client: exit %d, %q", code, errOut)
	}
}

func TestBenchRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"remote target", []string{"--server", "http://192.0.2.1:8080"}, "--allow-remote"},
		{"duration over cap", []string{"--duration", "11m"}, "at most 10m"},
		{"no concurrency", []string{"--concurrency", "0"}, "--concurrency"},
		{"not a URL", []string{"--server", "ftp://127.0.0.1"}, "not an http(s) URL"},
		{"unknown scenario", []string{"--scenario", "nope", "--username", "u", "--password-stdin"}, "unknown scenario"},
		{"password not on stdin", []string{"--username", "u"}, "--password-stdin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := benchTestRun(t, "pw\n", tc.args...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want failure mentioning %q", code, errOut, tc.want)
			}
		})
	}
}

func TestBenchSeedSessions(t *testing.T) {
	dir, _, _ := benchTestServer(t)
	out, errOut, code := benchTestRun(t, "", "--data", dir, "--seed-sessions", "1234")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, "seeded 1234 sessions") {
		t.Errorf("output %q", out)
	}
	ctx := context.Background()
	a := openTestApp(t, dir, nil)
	defer a.Close()
	u, err := a.Engine.User(ctx, benchTenant, benchSeedUser)
	if err != nil {
		t.Fatal(err)
	}
	n, err := a.Store.CountLiveSessions(ctx, u.ID, time.Now())
	if err != nil || n != 1234 {
		t.Errorf("live seeded sessions %d (err %v), want 1234", n, err)
	}
}

// TestBenchConcurrentRuns runs a sign-on flood and a refresh run at the
// same time, as docs/PERFORMANCE.md does, each with its own bench user.
func TestBenchConcurrentRuns(t *testing.T) {
	dir, url, _ := benchTestServer(t)
	type result struct {
		name, out, errOut string
		code              int
	}
	runs := map[string][]string{
		"signon":  {"--bench-user", "bench-flood", "--scenario", "signon", "--requests", "4"},
		"refresh": {"--bench-user", "bench-refresh", "--scenario", "refresh", "--requests", "20"},
	}
	want := map[string]uint64{"signon": 4, "refresh": 20}
	results := make(chan result, len(runs))
	for name, extra := range runs {
		go func() {
			out, errOut, code := benchTestRun(t, "", append([]string{"--data", dir, "--server", url, "--concurrency", "2", "--json"}, extra...)...)
			results <- result{name, out, errOut, code}
		}()
	}
	for range runs {
		r := <-results
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.errOut)
		}
		if s := benchTestSummary(t, r.out); s.Requests != want[r.name] || s.Errors != 0 {
			t.Errorf("%s: requests %d, errors %d (%v); want %d without errors", s.Scenario, s.Requests, s.Errors, s.FirstErrors, want[r.name])
		}
	}
}

// TestBenchCleanup runs bench on a real data directory (an oauth2 run and
// a Core one, which prepares its user in Core's tenant, the default one)
// and then bench --cleanup: the bench tenant with its users, client and
// sessions is gone, and so is the bench user in the default tenant, whose
// sessions stop at the server; every other account stays. A user of the
// default tenant that bench did not make is left alone even if its name
// is bench's.
func TestBenchCleanup(t *testing.T) {
	dir, url, _ := benchTestServer(t)
	for _, extra := range [][]string{{"--dialect", "oauth2"}, {"--dialect", "core", "--bench-user", "bench-core"}} {
		args := append([]string{"--data", dir, "--server", url, "--concurrency", "1", "--requests", "2", "--json"}, extra...)
		if _, errOut, code := benchTestRun(t, "", args...); code != 0 {
			t.Fatalf("bench %v: exit %d: %s", extra, code, errOut)
		}
	}
	if _, errOut, code := benchTestRun(t, "", "--data", dir, "--seed-sessions", "10"); code != 0 {
		t.Fatalf("seed: exit %d: %s", code, errOut)
	}
	ctx := context.Background()
	a := openTestApp(t, dir, nil)
	defer a.Close()
	// Someone's own user called bench in the default tenant.
	if _, err := a.Engine.CreateUser(ctx, engine.NewUser{Name: "bench", Password: "not-bench's"}); err != nil {
		t.Fatal(err)
	}
	coreUser, err := a.Engine.User(ctx, "", "bench-core")
	if err != nil {
		t.Fatalf("the Core run's user: %v", err)
	}
	coreSessions, err := a.Engine.Sessions(ctx, engine.SessionQuery{User: "bench-core"})
	if err != nil || len(coreSessions) == 0 {
		t.Fatalf("the Core run left no session: %v", err)
	}

	out, errOut, code := benchTestRun(t, "", "--data", dir, "--cleanup", "--bench-user", "bench-core")
	if code != 0 {
		t.Fatalf("cleanup: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"tenant bench removed", "user bench-core removed from tenant default"} {
		if !strings.Contains(out, want) {
			t.Errorf("cleanup output lacks %q:\n%s", want, out)
		}
	}
	if _, err := a.Engine.Tenant(ctx, benchTenant); !errors.Is(err, engine.ErrUnknownTenant) {
		t.Errorf("bench tenant after cleanup: %v", err)
	}
	if _, err := a.Engine.Client(ctx, "tokengate-bench"); !errors.Is(err, engine.ErrUnknownClient) {
		t.Errorf("bench client after cleanup: %v", err)
	}
	if _, err := a.Engine.UserByID(ctx, coreUser.ID); !errors.Is(err, engine.ErrUnknownUser) {
		t.Errorf("the Core run's user after cleanup: %v", err)
	}
	if _, err := a.Engine.SessionLive(ctx, coreSessions[0].ID); !errors.Is(err, engine.ErrInvalidToken) {
		t.Errorf("the Core run's session after cleanup: %v", err)
	}
	for _, name := range []string{"admin", "bench"} {
		if _, err := a.Engine.User(ctx, "", name); err != nil {
			t.Errorf("user %s of the default tenant after cleanup: %v", name, err)
		}
	}
	// Once more: nothing left, and the lookalike bench user is named.
	out, errOut, code = benchTestRun(t, "", "--data", dir, "--cleanup")
	if code != 0 || !strings.Contains(out, "no bench tenant") || !strings.Contains(out, "not made by bench") {
		t.Errorf("second cleanup: exit %d:\n%s%s", code, out, errOut)
	}
}
