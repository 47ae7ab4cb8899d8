// Package apptest runs a whole gateway on loopback for the tests of every
// surface: a real app over a SQLite file in a temp directory, a fake
// clock, a local OIDC issuer trusted as the "auth0" service of the default
// tenant, a request helper that validates every response against the
// OpenAPI document, and the golden files of the wire shapes.
//
// It lives under app because it opens the node's wiring; the dialect
// packages never import it, only their external tests (package x_test)
// do, so no dialect-level package depends on app.
package apptest

import (
	"bytes"
	"context"
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
	"github.com/tokengate/tokengate/internal/fakeclock"
	"github.com/tokengate/tokengate/internal/idp/idptest"
	"github.com/tokengate/tokengate/internal/obs"
)

// Audience is the audience the local issuer's tokens are minted for.
const Audience = "https://core.example.test"

// AdminPassword is the password of the bootstrap administrator "admin".
const AdminPassword = "admin-pass"

// Server is a running gateway.
type Server struct {
	URL string
	// MetricsURL serves /metrics: URL, or the metrics listener's when the
	// configuration sets metrics.listen.
	MetricsURL string
	App        *app.App
	Clock      *fakeclock.Clock
	Issuer     *idptest.Issuer
	// Client is the HTTP client of the loopback server.
	Client *http.Client
	logs   *Buffer
	gate   *gate
}

// Options configures Start.
type Options struct {
	// Config, when set, adjusts the configuration before the node opens.
	Config func(*config.Config)
	// Start is the time the clock starts at (default: now, to the second).
	Start time.Time
	// MasterKey is the node's master key (TOKENGATE_MASTER_KEY), for a test
	// that seals or derives as the node does; one of its own when empty.
	MasterKey string
	// Wrap, when set, stands in front of the node's handler: a test that
	// counts the requests the gateway gets, or serves routes of its own
	// beside it, wraps next (which it may also call directly).
	Wrap func(next http.Handler) http.Handler
}

// New starts a gateway; mutate may adjust the configuration.
func New(t testing.TB, mutate func(*config.Config)) *Server {
	t.Helper()
	return Start(t, Options{Config: mutate})
}

// Start starts a gateway as opts say. Its public URL, and so the issuer of
// its tokens, is the loopback server's own URL.
// t may be a fuzz target's *testing.F: one gateway serves every input.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	ctx := context.Background()
	iss := idptest.New(t)
	if opts.Start.IsZero() {
		opts.Start = time.Now().Truncate(time.Second)
	}
	clock := fakeclock.New(opts.Start)
	// Listen first, so that the configuration can name the real address.
	ts := httptest.NewUnstartedServer(nil)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = ts.Listener.Addr().String()
	cfg.PublicURL = "http://" + cfg.Listen
	cfg.Password.MemoryKiB, cfg.Password.Iterations = 8192, 1
	cfg.OIDC.Issuers = []config.OIDCIssuer{{ID: "auth0", DisplayName: "Example Auth0", Issuer: iss.URL, Audience: Audience,
		Auth0Domain: "example.eu.auth0.com", AllowedSubjects: []string{"auth0|alice"}, CreateUsers: true, RefreshEnabled: true}}
	if opts.Config != nil {
		opts.Config(&cfg)
	}
	// A metrics listener of its own when the configuration asks for one,
	// at an address the harness chose.
	var mts *httptest.Server
	if cfg.Metrics.Listen != "" {
		mts = httptest.NewUnstartedServer(nil)
		cfg.Metrics.Listen = mts.Listener.Addr().String()
	}
	logs := &Buffer{}
	a, err := app.Open(ctx, cfg, obs.NewLogger(logs, "debug", "text"), app.Options{Now: clock.Now, Registerer: true, MasterKey: opts.MasterKey})
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := a.Engine.Bootstrap(ctx, AdminPassword); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	// The first count of the live-sessions gauge, as serve does before it
	// listens.
	if err := a.Engine.RecountLiveSessions(ctx); err != nil {
		t.Fatal(err)
	}
	g := &gate{next: a.Handler(), calls: map[string]*abandoned{}}
	ts.Config.Handler = g
	if opts.Wrap != nil {
		ts.Config.Handler = opts.Wrap(g)
	}
	ts.Start()
	t.Cleanup(ts.Close)
	if ts.URL != cfg.PublicURL {
		t.Fatalf("server URL %s, public URL %s", ts.URL, cfg.PublicURL)
	}
	srv := &Server{URL: ts.URL, App: a, Clock: clock, Issuer: iss, Client: ts.Client(), logs: logs, gate: g, MetricsURL: ts.URL}
	if mts != nil {
		mts.Config.Handler = a.MetricsHandler()
		mts.Start()
		t.Cleanup(mts.Close)
		srv.MetricsURL = mts.URL
	}
	return srv
}

// From returns a view of s whose requests come from the loopback address
// ip (such as "127.0.0.2"), so that tests can be several clients: every
// 127.0.0.0/8 address is the local host on Linux.
func (s *Server) From(ip string) *Server {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c := *s
	c.Client = &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	return &c
}

// Logs returns everything the gateway logged so far.
func (s *Server) Logs() string { return s.logs.String() }

// TakeLogs returns what the gateway logged since the last TakeLogs (or
// the start) and forgets it: a fuzz target checks each input's lines
// without the log growing over a long run.
func (s *Server) TakeLogs() string { return s.logs.Take() }

// Buffer is a bytes.Buffer that concurrent handlers may write (a log) while
// the test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// Take returns everything written so far and empties the buffer.
func (b *Buffer) Take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.b.String()
	b.b.Reset()
	return out
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// User creates a user in a tenant ("" = default).
func (s *Server) User(t testing.TB, tenant, name, password string, refresh bool) {
	t.Helper()
	if _, err := s.App.Engine.CreateUser(context.Background(), engine.NewUser{Tenant: tenant, Name: name, Password: password, RefreshEnabled: refresh}); err != nil {
		t.Fatal(err)
	}
}

// AdminToken signs the bootstrap administrator on (OAuth 2.0 service, the
// default client) and returns its access token.
func (s *Server) AdminToken(t testing.TB) string {
	t.Helper()
	g, err := s.App.Engine.SignOnPassword(context.Background(), engine.SignOnRequest{Service: "oauth2", ClientID: engine.DefaultClientID,
		Username: "admin", Password: AdminPassword})
	if err != nil {
		t.Fatalf("admin sign-on: %v", err)
	}
	return g.AccessToken
}

// APIToken creates an API refresh token for a user of a tenant ("" =
// default), as an administrator does offline (tokengate apitoken
// create): the User Profile's rule, a recent password sign-on, is the
// profile API's tests' to prove.
func (s *Server) APIToken(t *testing.T, tenant, name, label string) *engine.Grant {
	t.Helper()
	ctx := context.Background()
	u, err := s.App.Engine.User(ctx, tenant, name)
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.App.Engine.CreateAPIToken(ctx, engine.APITokenRequest{User: u.ID, Label: label, ByAdministrator: true})
	if err != nil {
		t.Fatalf("CreateAPIToken: %v", err)
	}
	return g
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
