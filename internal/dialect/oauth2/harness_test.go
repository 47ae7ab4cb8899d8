package oauth2_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const (
	password      = "s3cret-pass"
	adminPassword = "admin-pass"
)

// server is a gateway on a loopback listener over a temp data directory.
type server struct {
	t      *testing.T
	ctx    context.Context
	URL    string
	clock  *fakeClock
	app    *app.App
	client *http.Client
	// svc is a confidential client with every grant; svcSecret its secret.
	svc, svcSecret string
}

func newServer(t *testing.T, alg string) *server {
	t.Helper()
	ctx := context.Background()
	clock := &fakeClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	// Listen first, so the issuer can name the real address.
	ts := httptest.NewUnstartedServer(nil)
	issuer := "http://" + ts.Listener.Addr().String()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = ts.Listener.Addr().String()
	cfg.PublicURL = issuer
	cfg.Password.MemoryKiB, cfg.Password.Iterations = 8192, 1
	if alg != "" {
		cfg.Keys.Algorithm = alg
	}
	a, err := app.Open(ctx, cfg, nil, app.Options{Now: clock.Now, Registerer: true})
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := a.Engine.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	ts.Config.Handler = a.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	s := &server{t: t, ctx: ctx, URL: ts.URL, clock: clock, app: a, client: ts.Client()}
	if s.URL != issuer {
		t.Fatalf("server URL %s, issuer %s", s.URL, issuer)
	}
	for _, name := range []string{"bob"} {
		if _, err := a.Engine.CreateUser(ctx, engine.NewUser{Name: name, Password: password, RefreshEnabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Engine.CreateUser(ctx, engine.NewUser{Name: "nora", Password: password}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Engine.CreateClient(ctx, engine.NewClient{ID: "other-app", Public: true}); err != nil {
		t.Fatal(err)
	}
	_, secret, err := a.Engine.CreateClient(ctx, engine.NewClient{ID: "svc", GrantTypes: []string{"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	s.svc, s.svcSecret = "svc", secret
	return s
}

// request describes one HTTP request to the server.
type request struct {
	method      string // default POST
	path        string
	body        string // raw body; form is used when empty
	form        url.Values
	contentType string // default form-urlencoded
	basicUser   string
	basicPass   string
	header      map[string]string
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

func (s *server) do(req request) response {
	s.t.Helper()
	method := req.method
	if method == "" {
		method = http.MethodPost
	}
	body := req.body
	if body == "" && req.form != nil {
		body = req.form.Encode()
	}
	r, err := http.NewRequestWithContext(s.ctx, method, s.URL+req.path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	ct := req.contentType
	if ct == "" {
		ct = "application/x-www-form-urlencoded"
	}
	if method == http.MethodPost {
		r.Header.Set("Content-Type", ct)
	}
	if req.basicUser != "" {
		r.SetBasicAuth(url.QueryEscape(req.basicUser), url.QueryEscape(req.basicPass))
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	resp, err := s.client.Do(r)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, req.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// tokenPair is a successful token response.
type tokenPair struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int64  `json:"refresh_expires_in"`
}

func (s *server) token(form url.Values) tokenPair {
	s.t.Helper()
	resp := s.do(request{path: "/oauth2/token", form: form})
	if resp.status != http.StatusOK {
		s.t.Fatalf("token %s: %d %s", form.Get("grant_type"), resp.status, resp.body)
	}
	var p tokenPair
	if err := json.Unmarshal(resp.body, &p); err != nil {
		s.t.Fatal(err)
	}
	return p
}

func (s *server) passwordGrant(user string) tokenPair {
	s.t.Helper()
	return s.token(url.Values{"grant_type": {"password"}, "client_id": {"tokengate"}, "username": {user}, "password": {password}})
}

func (s *server) refreshGrant(rt string) tokenPair {
	s.t.Helper()
	return s.token(url.Values{"grant_type": {"refresh_token"}, "client_id": {"tokengate"}, "refresh_token": {rt}})
}

// volatile names JSON fields whose values change from run to run.
var volatile = map[string]string{
	"access_token": "<jwt>", "refresh_token": "<jwt>", "jti": "<id>", "sid": "<id>",
	"exp": "<unix>", "iat": "<unix>", "nbf": "<unix>", "kid": "<kid>", "x": "<key>", "n": "<key>", "y": "<key>",
}

// normalise rewrites a JSON value for a golden file: volatile values become
// placeholders and the server's URL becomes {{ISSUER}}.
func normalise(v any, issuer string) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if p, ok := volatile[k]; ok && x != nil {
				out[k] = p
				continue
			}
			out[k] = normalise(x, issuer)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalise(x, issuer)
		}
		return out
	case string:
		return strings.ReplaceAll(v, issuer, "{{ISSUER}}")
	}
	return v
}

// golden compares entries (name -> value) with testdata/<file>.golden.
type golden struct {
	t       *testing.T
	file    string
	entries map[string]any
}

func newGolden(t *testing.T, file string) *golden {
	g := &golden{t: t, file: file, entries: map[string]any{}}
	t.Cleanup(g.check)
	return g
}

// add records a response: its status, its relevant headers and its
// normalised body.
func (g *golden) add(name string, s *server, r response) {
	entry := map[string]any{"status": r.status}
	hdr := map[string]string{}
	for _, h := range []string{"Cache-Control", "Content-Type", "WWW-Authenticate", "Allow", "Pragma"} {
		if v := r.header.Get(h); v != "" {
			hdr[h] = v
		}
	}
	entry["headers"] = hdr
	if len(r.body) > 0 {
		var body any
		if err := json.Unmarshal(r.body, &body); err != nil {
			entry["body"] = string(r.body)
		} else {
			entry["body"] = normalise(body, s.URL)
		}
	}
	g.entries[name] = entry
}

func (g *golden) check() {
	if g.t.Failed() {
		return
	}
	keys := make([]string, 0, len(g.entries))
	for k := range g.entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	for _, k := range keys {
		buf.WriteString("== " + k + "\n")
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(g.entries[k]); err != nil {
			g.t.Fatal(err)
		}
	}
	path := filepath.Join("testdata", g.file+".golden")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			g.t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		g.t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, buf.Bytes()) {
		g.t.Errorf("%s differs from the golden file (run go test -update and review the diff):\n%s", path, buf.String())
	}
}
