package web_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/idp/idptest"
	"github.com/tokengate/tokengate/internal/obs"
)

// clock is the gateway's injected clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

// gateway is a whole tokengate node on loopback: the real app over a
// SQLite file, with a local OIDC issuer trusted for browser sign-in.
type gateway struct {
	URL    string
	App    *app.App
	Clock  *clock
	Issuer *idptest.Issuer
	logs   *apptest.Buffer
}

const adminPassword = "admin-pass"

func newGateway(t *testing.T, mutate func(*config.Config)) *gateway {
	t.Helper()
	ctx := context.Background()
	iss := idptest.New(t)
	clk := &clock{now: time.Now().Truncate(time.Second)}
	ts := httptest.NewUnstartedServer(nil)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = ts.Listener.Addr().String()
	cfg.PublicURL = "http://" + cfg.Listen
	cfg.Password.MemoryKiB, cfg.Password.Iterations = 8192, 1
	cfg.OIDC.Issuers = []config.OIDCIssuer{{ID: "corp", DisplayName: "Corp ID", Issuer: iss.URL, ClientID: "tokengate-ui",
		ClientSecret: "ui-secret", AllowedSubjects: []string{"corp|erin"}, CreateUsers: true}}
	if mutate != nil {
		mutate(&cfg)
	}
	logs := &apptest.Buffer{}
	a, err := app.Open(ctx, cfg, obs.NewLogger(logs, "debug", "text"), app.Options{Now: clk.Now, Registerer: true})
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := a.Engine.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	iss.Client("tokengate-ui", "ui-secret", cfg.PublicURL+"/ui/signin/oidc/callback")
	ts.Config.Handler = a.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	return &gateway{URL: ts.URL, App: a, Clock: clk, Issuer: iss, logs: logs}
}

// user creates a user of the default tenant.
func (g *gateway) user(t *testing.T, name, password string, refresh, admin bool) {
	t.Helper()
	if _, err := g.App.Engine.CreateUser(context.Background(), engine.NewUser{Name: name, Password: password, RefreshEnabled: refresh, Admin: admin}); err != nil {
		t.Fatal(err)
	}
}

// client is one browser: a cookie jar, no automatic redirects, and the
// CSRF token of the last page it read.
type client struct {
	t    *testing.T
	g    *gateway
	http *http.Client
	csrf string
}

func (g *gateway) browser(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, g: g, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	Status int
	Header http.Header
	Body   string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) do(req *http.Request) page {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindStringSubmatch(string(b)); m != nil {
		c.csrf = html.UnescapeString(m[1])
	}
	return page{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

func (c *client) get(path string) page {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.g.URL+path, nil)
	req.Header.Set("Accept", "text/html")
	return c.do(req)
}

// post sends a form as a browser does from one of the gateway's pages:
// with the page's CSRF token and a same-origin Origin.
func (c *client) post(path string, form url.Values) page {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("csrf") {
		form.Set("csrf", c.csrf)
	}
	return c.postRaw(path, form, map[string]string{"Origin": c.g.URL, "Sec-Fetch-Site": "same-origin"})
}

func (c *client) postRaw(path string, form url.Values, headers map[string]string) page {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.g.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return c.do(req)
}

// signIn signs the browser in and expects success.
func (c *client) signIn(user, password string) {
	c.t.Helper()
	c.get("/ui/signin")
	p := c.post("/ui/signin", url.Values{"username": {user}, "password": {password}})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/ui/profile" {
		c.t.Fatalf("sign in as %s: %d %s\n%s", user, p.Status, p.Header.Get("Location"), p.Body)
	}
	c.get("/ui/profile")
}

func wantStatus(t *testing.T, p page, status int, what string) {
	t.Helper()
	if p.Status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, p.Status, status, p.Body)
	}
}

func wantBody(t *testing.T, p page, what string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(p.Body, s) {
			t.Fatalf("%s: page lacks %q\n%s", what, s, p.Body)
		}
	}
}
