package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/client"
	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/fakeclock"
)

// testServer is a real tokengate node on loopback (the apptest harness:
// app.Open, the real handler, SQLite in a temporary directory, a fake
// clock), wrapped to count the sign-in and refresh calls it answers, plus
// a small authenticated upstream under /upstream/ that verifies each
// bearer token with the engine (signature, expiry without leeway, live
// session) and records which tokens it saw. Its clients take their time
// from the same clock, so a test moves both with s.clock.Advance.
type testServer struct {
	t     *testing.T
	app   *app.App
	clock *fakeclock.Clock
	URL   string
	// handler is the node's own handler, for probes that must not count.
	handler http.Handler

	mu     sync.Mutex
	counts map[string]int // "signon", "refresh", by dialect: "core signon"…
	seen   map[string]int // access tokens the upstream accepted, with call counts
	bodies []string       // request bodies the upstream received
	// events are the sign-in and refresh requests in arrival order, with
	// the refresh token a refresh presented.
	events []tokenEvent
	denied int // upstream 401s
}

const testPassword = "correct horse battery staple"

type tokenEvent struct {
	at      time.Time // by the fake clock
	refresh bool
	token   string
}

// newTestServer starts a node whose services have accessTTL access tokens
// (idle and absolute lifetimes of an hour; the core service at least
// config.MinCoreAccessTTL, the shortest the configuration accepts) and no
// clock leeway, with users alice (refresh-enabled) and bob (not).
func newTestServer(t *testing.T, accessTTL time.Duration, mutate ...func(*config.Config)) *testServer {
	t.Helper()
	s := &testServer{t: t, counts: map[string]int{}, seen: map[string]int{}}
	gw := apptest.Start(t, apptest.Options{
		Config: func(cfg *config.Config) {
			cfg.Refresh.Leeway = 0
			for name, sv := range cfg.Services {
				sv.AccessTTL = config.Duration(accessTTL)
				if name == "core" {
					sv.AccessTTL = config.Duration(max(accessTTL, config.MinCoreAccessTTL))
				}
				sv.IdleTTL, sv.AbsoluteTTL = config.Duration(time.Hour), config.Duration(time.Hour)
				cfg.Services[name] = sv
			}
			for _, m := range mutate {
				m(cfg)
			}
		},
		Wrap: func(next http.Handler) http.Handler {
			s.handler = next
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/upstream/") {
					s.upstream(w, r)
					return
				}
				s.count(r)
				next.ServeHTTP(w, r)
			})
		},
	})
	s.app, s.clock, s.URL = gw.App, gw.Clock, gw.URL
	gw.User(t, "", "alice", testPassword, true)
	gw.User(t, "", "bob", testPassword, false)
	return s
}

// newClient returns a signed-in client on the server's clock.
func (s *testServer) newClient(t *testing.T, cfg client.Config) *client.Client {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = s.clock.Now
	}
	c, err := client.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// count classifies a request to the token endpoints of every dialect.
func (s *testServer) count(r *http.Request) {
	kind, rt := "", ""
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPost && p == "/oauth2/token":
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		switch form.Get("grant_type") {
		case "refresh_token":
			kind, rt = "oauth2 refresh", form.Get("refresh_token")
		default:
			kind = "oauth2 signon"
		}
	case p == "/api/login":
		kind = "core signon"
	case p == "/api/login/refresh":
		kind, rt = "core refresh", strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	case strings.EqualFold(p, "/ags/signOn"):
		kind = "ags signon"
	case p == "/ags/refresh":
		kind, rt = "ags refresh", strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	case strings.HasSuffix(p, "/_oidc_refresh"):
		kind, rt = "syncgw refresh", r.URL.Query().Get("refresh_token")
		if rt == "" {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			rt = form.Get("refresh_token")
		}
	default:
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[kind]++
	s.counts[kind[strings.Index(kind, " ")+1:]]++
	s.events = append(s.events, tokenEvent{at: s.clock.Now(), refresh: rt != "", token: rt})
}

// calls returns how many sign-ins ("signon") or refreshes ("refresh") the
// server was asked for.
func (s *testServer) calls(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[kind]
}

func (s *testServer) upstream(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/upstream/sumo" && r.Header.Get("UserID") == "" {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"reason":"Invalid WSAUTH: Valid UserID must be supplied","error":true}`)
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	c, err := s.app.Engine.VerifyAccess(tok)
	if ok && err == nil && c.SessionID != "" {
		_, err = s.app.Engine.SessionLive(r.Context(), c.SessionID)
	}
	if !ok || err != nil {
		s.mu.Lock()
		s.denied++
		s.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"invalid_token"}`)
		return
	}
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.seen[tok]++
	if len(body) > 0 {
		s.bodies = append(s.bodies, string(body))
	}
	s.mu.Unlock()
	// As a resource server shows its caller: the immutable sub and the name.
	json.NewEncoder(w).Encode(map[string]string{"sub": c.Subject, "user": c.PreferredUsername, "userid": r.Header.Get("UserID")})
}

// served reports whether the node answers a dialect's route, i.e. whether
// that dialect has been mounted in app.Handler yet.
func (s *testServer) served(method, path string) bool {
	req := httptest.NewRequest(method, path, strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)
	// ServeMux answers an unknown route with a plain-text 404.
	return !(resp.StatusCode == http.StatusNotFound && strings.HasPrefix(string(body), "404 page not found"))
}

// requireDialect fails loudly when a dialect is not mounted yet: its
// tests run only against the real handler.
func (s *testServer) requireDialect(name, method, path string) {
	s.t.Helper()
	if !s.served(method, path) {
		s.t.Skipf("NOT RUN: the %s dialect is not mounted in app.Handler yet (%s %s answers 404)", name, method, path)
	}
}

// sessionOf reads the sid claim of a token (the test is on the server's
// side, so it may look inside).
func sessionOf(t *testing.T, tok string) string {
	t.Helper()
	sid, _ := apptest.Claims(t, tok)["sid"].(string)
	if sid == "" {
		t.Fatalf("no sid in token %q", tok)
	}
	return sid
}

// metric returns the engine's counter name{labels} (e.g. the refreshes
// it made), read from the node's registry.
func (s *testServer) metric(name string, labels map[string]string) float64 {
	s.t.Helper()
	families, err := s.app.Registry.Gather()
	if err != nil {
		s.t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func (s *testServer) revoke(tok string) {
	s.t.Helper()
	if err := s.app.Engine.RevokeSession(context.Background(), sessionOf(s.t, tok), "test"); err != nil {
		s.t.Fatal(err)
	}
}

func (s *testServer) userID(name string) string {
	s.t.Helper()
	u, err := s.app.Engine.User(context.Background(), "", name)
	if err != nil {
		s.t.Fatal(err)
	}
	return u.ID
}
