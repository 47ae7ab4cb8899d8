// Package dialecttest runs a whole gateway on loopback for the dialect
// tests: a real app over a SQLite file in a temp directory, an injected
// clock, a local OIDC issuer trusted as the "auth0" service of the default
// tenant, and a request helper that validates every response against the
// OpenAPI document.
package dialecttest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/idp/idptest"
	"github.com/tokengate/tokengate/internal/obs"
	"github.com/tokengate/tokengate/internal/openapi/openapitest"
)

// Audience is the audience the local issuer's tokens are minted for.
const Audience = "https://core.example.test"

// Clock is an injectable clock.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

// Server is a running gateway.
type Server struct {
	URL    string
	App    *app.App
	Clock  *Clock
	Issuer *idptest.Issuer
	client *http.Client
	logs   *syncBuffer
}

// New starts a gateway; mutate may adjust the configuration.
func New(t *testing.T, mutate func(*config.Config)) *Server {
	t.Helper()
	ctx := context.Background()
	iss := idptest.New(t)
	clock := &Clock{now: time.Now().Truncate(time.Second)}
	ts := httptest.NewUnstartedServer(nil)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = ts.Listener.Addr().String()
	cfg.PublicURL = "http://" + cfg.Listen
	cfg.Password.MemoryKiB, cfg.Password.Iterations = 8192, 1
	cfg.OIDC.Issuers = []config.OIDCIssuer{{ID: "auth0", DisplayName: "Example Auth0", Issuer: iss.URL, Audience: Audience,
		Auth0Domain: "example.eu.auth0.com", AllowedSubjects: []string{"auth0|alice"}, CreateUsers: true, RefreshEnabled: true}}
	if mutate != nil {
		mutate(&cfg)
	}
	logs := &syncBuffer{}
	a, err := app.Open(ctx, cfg, obs.NewLogger(logs, "debug", "text"), app.Options{Now: clock.Now, Registerer: true})
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := a.Engine.Bootstrap(ctx, "admin-pass"); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	ts.Config.Handler = a.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	return &Server{URL: ts.URL, App: a, Clock: clock, Issuer: iss, client: ts.Client(), logs: logs}
}

// From returns a view of s whose requests come from the loopback address
// ip (such as "127.0.0.2"), so that tests can be several clients: every
// 127.0.0.0/8 address is the local host on Linux.
func (s *Server) From(ip string) *Server {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c := *s
	c.client = &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	return &c
}

// Logs returns everything the gateway logged so far.
func (s *Server) Logs() string { return s.logs.String() }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// User creates a user in a tenant ("" = default).
func (s *Server) User(t *testing.T, tenant, name, password string, refresh bool) {
	t.Helper()
	if _, err := s.App.Engine.CreateUser(context.Background(), engine.NewUser{Tenant: tenant, Name: name, Password: password, RefreshEnabled: refresh}); err != nil {
		t.Fatal(err)
	}
}

// ExternalToken mints a token of the local issuer for sub, valid now.
func (s *Server) ExternalToken(t *testing.T, sub string, mod map[string]any) string {
	now := s.Clock.Now().Unix()
	c := map[string]any{"iss": s.Issuer.URL, "sub": sub, "aud": Audience, "iat": now, "exp": now + 300, "nickname": strings.TrimPrefix(sub, "auth0|")}
	for k, v := range mod {
		c[k] = v
	}
	return s.Issuer.Mint(t, c)
}

// Response is a response read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as an object.
func (r Response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// Do sends a request and validates the response against the OpenAPI
// document. header values "" are not sent.
func (s *Server) Do(t *testing.T, method, path string, header map[string]string, body string) Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	openapitest.ValidateBody(t, req, resp.StatusCode, resp.Header, b)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Claims decodes a JWT's payload without verifying it.
func Claims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", tok)
	}
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
