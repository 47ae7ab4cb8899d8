package proxy_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/dialect/sentineltest"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/fakeclock"
	"github.com/tokengate/tokengate/internal/proxy"
)

// TestSeenTokenSkipsVerification checks the hot path: a token seen before
// is answered from the cache (no signature verification) and its session
// is checked again only once per bound.
func TestSeenTokenSkipsVerification(t *testing.T) {
	ctx := context.Background()
	clk := fakeclock.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Password.MemoryKiB, cfg.Password.Iterations = 8192, 1
	a, err := app.Open(ctx, cfg, nil, app.Options{Now: clk.Now, MasterKey: strings.Repeat("k", 43) + "="})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Engine.Bootstrap(ctx, "admin-password"); err != nil {
		t.Fatal(err)
	}
	var upstreamCalls int
	var mu sync.Mutex
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		upstreamCalls++
		mu.Unlock()
		if r.URL.Path != "/v1/things" || r.Header.Get(proxy.HeaderUser) != "admin" {
			t.Errorf("upstream got %s as %q", r.URL.Path, r.Header.Get(proxy.HeaderUser))
		}
	}))
	defer up.Close()
	p, err := proxy.New(a.Engine, proxy.Options{Routes: []config.ProxyRoute{{Prefix: "/svc/", Upstream: up.URL + "/v1/"}}, Bound: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	p.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	g, err := a.Engine.SignOnPassword(ctx, engine.SignOnRequest{Service: "oauth2", ClientID: engine.DefaultClientID, Username: "admin", Password: "admin-password"})
	if err != nil {
		t.Fatal(err)
	}
	get := func() int {
		req, _ := http.NewRequest("GET", srv.URL+"/svc/things", nil)
		req.Header.Set("Authorization", "Bearer "+g.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for range 5 {
		if code := get(); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	if s := p.Stats(); s.Verified != 1 || s.CacheHits != 4 || s.LivenessChecks != 1 {
		t.Fatalf("stats after 5 requests within the bound: %+v", s)
	}
	clk.Advance(2 * time.Second)
	get()
	if s := p.Stats(); s.Verified != 1 || s.LivenessChecks != 2 {
		t.Fatalf("stats after the bound: %+v", s)
	}
	if err := a.Engine.RevokeSession(ctx, g.Session.ID, "test"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second)
	if code := get(); code != 401 {
		t.Fatalf("revoked session: %d", code)
	}
	if code := get(); code != 401 {
		t.Fatalf("revoked session, cached refusal: %d", code)
	}
	if s := p.Stats(); s.LivenessChecks != 3 {
		t.Fatalf("a dead session was checked again: %+v", s)
	}
	if upstreamCalls != 6 {
		t.Fatalf("upstream calls = %d", upstreamCalls)
	}
}

// TestEverySentinelHasAStatusAndBody: every engine sentinel, bare or
// wrapped with internal text, gets a status and a body of the route's
// shape (WSAUTH by default, Core's, plain) and no internal text
// (sentineltest).
func TestEverySentinelHasAStatusAndBody(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/api/risks", nil)
	for shape, says := range map[string]func(b map[string]any) bool{
		"": func(b map[string]any) bool { return b["error"] == true && sentineltest.Text(b, "reason") },
		config.ErrorsCore: func(b map[string]any) bool {
			details, _ := b["details"].([]any)
			return b["code"] != nil && sentineltest.Text(b, "message") && len(details) == 1
		},
		config.ErrorsPlain: func(b map[string]any) bool { return sentineltest.Text(b, "error") && sentineltest.Text(b, "message") },
	} {
		t.Run("shape "+shape, func(t *testing.T) {
			sentineltest.Run(t, func(w http.ResponseWriter, err error) {
				proxy.WriteError(w, r, slog.New(slog.DiscardHandler), shape, err)
			}, says)
		})
	}
}
