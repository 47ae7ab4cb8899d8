package app_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/engine"
)

// oidcWorld is a gateway as an OpenID Connect provider with two relying
// parties on loopback: "webapp", a confidential first-party client, and
// "spa", a public third-party client (consent asked, PKCE required). The
// relying parties are real x/oauth2 configurations with go-oidc verifying
// through discovery; their redirect URIs are a loopback server that
// records what the browser brings back.
type oidcWorld struct {
	s        *apptest.Server
	rp       *httptest.Server
	provider *oidc.Provider
	web      *oauth2.Config // the confidential client
	spa      *oauth2.Config // the public client
	ctx      context.Context
}

const (
	oidcUser     = "alice"
	oidcPassword = "alice-password"
)

func newOIDCWorld(t *testing.T) *oidcWorld {
	t.Helper()
	s := apptest.New(t, nil)
	ctx := context.Background()
	if _, err := s.App.Engine.CreateUser(ctx, engine.NewUser{Name: oidcUser, Password: oidcPassword, RefreshEnabled: true,
		DisplayName: "Alice Liddell", Email: "alice@example.test"}); err != nil {
		t.Fatal(err)
	}
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The relying party's pages: the callback and the post-logout
		// page show what they were given.
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "relying party "+r.URL.Path)
	}))
	t.Cleanup(rp.Close)
	_, secret, err := s.App.Engine.CreateClient(ctx, engine.NewClient{ID: "webapp", Name: "Web App", FirstParty: true,
		RedirectURIs: []string{rp.URL + "/callback"}, PostLogoutRedirectURIs: []string{rp.URL + "/bye"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.App.Engine.CreateClient(ctx, engine.NewClient{ID: "spa", Name: "Photo Printer", Public: true,
		RedirectURIs: []string{rp.URL + "/spa/callback"}, PostLogoutRedirectURIs: []string{rp.URL + "/spa/bye"}}); err != nil {
		t.Fatal(err)
	}
	// go-oidc and x/oauth2 reach the gateway through the harness's
	// client, and check times on the gateway's fake clock.
	ctx = oidc.ClientContext(ctx, s.Client)
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.Client)
	provider, err := oidc.NewProvider(ctx, s.URL)
	if err != nil {
		t.Fatalf("discovery through go-oidc: %v", err)
	}
	scopes := []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}
	return &oidcWorld{
		s: s, rp: rp, provider: provider, ctx: ctx,
		web: &oauth2.Config{ClientID: "webapp", ClientSecret: secret, Endpoint: provider.Endpoint(),
			RedirectURL: rp.URL + "/callback", Scopes: scopes},
		spa: &oauth2.Config{ClientID: "spa", Endpoint: provider.Endpoint(), RedirectURL: rp.URL + "/spa/callback", Scopes: scopes},
	}
}

func (w *oidcWorld) verifier(clientID string) *oidc.IDTokenVerifier {
	return w.provider.Verifier(&oidc.Config{ClientID: clientID, Now: w.s.Clock.Now})
}

// login is one authorization request of a relying party: its state,
// nonce and PKCE verifier.
type login struct {
	state, nonce, verifier string
}

func newLogin() login {
	return login{state: random(), nonce: random(), verifier: oauth2.GenerateVerifier()}
}

// url is the authorization request of l, with extra parameters.
func (l login) url(c *oauth2.Config, extra ...oauth2.AuthCodeOption) string {
	opts := append([]oauth2.AuthCodeOption{oidc.Nonce(l.nonce), oauth2.S256ChallengeOption(l.verifier)}, extra...)
	return c.AuthCodeURL(l.state, opts...)
}

func random() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// rpBrowser is an HTTP client with a cookie jar that follows redirects, as
// a browser does; last is where it ended.
type rpBrowser struct {
	t *testing.T
	c *http.Client
}

func newRPBrowser(t *testing.T, w *oidcWorld) *rpBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &rpBrowser{t: t, c: &http.Client{Jar: jar, Transport: w.s.Client.Transport}}
}

// rpPage is a response the browser ended on.
type rpPage struct {
	status int
	url    *url.URL
	body   string
}

func (b *rpBrowser) get(u string) rpPage {
	b.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	return b.read(resp)
}

func (b *rpBrowser) post(u string, form url.Values) rpPage {
	b.t.Helper()
	resp, err := b.c.PostForm(u, form)
	if err != nil {
		b.t.Fatalf("POST %s: %v", u, err)
	}
	return b.read(resp)
}

func (b *rpBrowser) read(resp *http.Response) rpPage {
	b.t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return rpPage{status: resp.StatusCode, url: resp.Request.URL, body: string(body)}
}

var (
	formRe  = regexp.MustCompile(`(?s)<form method="post" action="([^"]*)"[^>]*>(.*?)</form>`)
	inputRe = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// submit fills and posts the form of p whose action is action, with the
// page's hidden fields and set (a button's name and value among them).
func (b *rpBrowser) submit(p rpPage, action string, set url.Values) rpPage {
	b.t.Helper()
	for _, m := range formRe.FindAllStringSubmatch(p.body, -1) {
		if html.UnescapeString(m[1]) != action {
			continue
		}
		form := url.Values{}
		for _, in := range inputRe.FindAllStringSubmatch(m[2], -1) {
			form.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
		}
		for k, v := range set {
			form[k] = v
		}
		return b.post(p.url.ResolveReference(&url.URL{Path: action}).String(), form)
	}
	b.t.Fatalf("no form posting to %s on %s:\n%s", action, p.url, p.body)
	return rpPage{}
}

// signIn fills the sign-in page p.
func (b *rpBrowser) signIn(p rpPage) rpPage {
	b.t.Helper()
	if p.url.Path != "/ui/signin" {
		b.t.Fatalf("expected the sign-in page, at %s (%d):\n%.400s", p.url, p.status, p.body)
	}
	return b.submit(p, "/ui/signin", url.Values{"username": {oidcUser}, "password": {oidcPassword}})
}

// callback returns the query the browser brought to the relying party at
// path, failing unless it ended there.
func (w *oidcWorld) callback(t *testing.T, p rpPage, path string) url.Values {
	t.Helper()
	if !strings.HasPrefix(p.url.String(), w.rp.URL+path) {
		t.Fatalf("expected the relying party's %s, at %s (%d):\n%.600s", path, p.url, p.status, p.body)
	}
	return p.url.Query()
}

// authorize walks an authorization request of c through sign-in (and
// consent, for the third-party client) and returns the code.
func (w *oidcWorld) authorize(t *testing.T, b *rpBrowser, c *oauth2.Config, l login) string {
	t.Helper()
	p := b.get(l.url(c))
	if p.url.Path == "/ui/signin" {
		p = b.signIn(p)
	}
	if p.url.Path == "/oauth2/authorize" && strings.Contains(p.body, `action="/ui/consent"`) {
		p = b.submit(p, "/ui/consent", url.Values{"decision": {"allow"}})
	}
	q := w.callback(t, p, strings.TrimPrefix(c.RedirectURL, w.rp.URL))
	if q.Get("state") != l.state || q.Get("iss") != w.s.URL || q.Get("code") == "" {
		t.Fatalf("callback query %v (want state %s, iss %s, a code)", q, l.state, w.s.URL)
	}
	return q.Get("code")
}

// tokenRequest posts to the token endpoint as the harness's client does,
// validated against the OpenAPI document.
func (w *oidcWorld) tokenRequest(t *testing.T, form url.Values, user, pass string) apptest.Response {
	t.Helper()
	return w.s.Send(t, apptest.Request{Path: "/oauth2/token", Form: form, BasicUser: user, BasicPass: pass})
}

func codeForm(code, redirect, verifier string) url.Values {
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}}
	if verifier != "" {
		f.Set("code_verifier", verifier)
	}
	return f
}
