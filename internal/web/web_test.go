package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/token"
)

func TestSecurityHeadersOnEveryPage(t *testing.T) {
	g := newGateway(t, nil)
	b := g.browser(t)
	for _, path := range []string{"/ui/signin", "/ui/nowhere", "/ui/static/app.css"} {
		p := b.get(path)
		for h, want := range map[string]string{
			"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
		} {
			if got := p.Header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", path, h, got, want)
			}
		}
		csp := p.Header.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, d)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP allows inline code: %q", path, csp)
		}
	}
	if p := b.get("/ui/signin"); p.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("sign-in page Cache-Control = %q", p.Header.Get("Cache-Control"))
	}
	// No inline script or style in any template: the CSP would block it.
	p := b.get("/ui/signin")
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]|<style|style="|onclick=|onload=`).MatchString(p.Body) {
		t.Fatalf("inline script or style on the sign-in page:\n%s", p.Body)
	}
}

func TestRootRedirectsBrowsersOnly(t *testing.T) {
	g := newGateway(t, nil)
	b := g.browser(t)
	p := b.get("/")
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/ui/" {
		t.Fatalf("browser GET / = %d %s", p.Status, p.Header.Get("Location"))
	}
	resp, err := http.Get(g.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("curl GET / = %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	// Unknown UI pages are HTML 404s.
	wantStatus(t, b.get("/ui/nowhere"), http.StatusNotFound, "unknown page")
}

func TestSignInRefusals(t *testing.T) {
	g := newGateway(t, nil)
	g.user(t, "alice", "alice-password", false, false)
	b := g.browser(t)
	b.get("/ui/signin")

	wrong := b.post("/ui/signin", url.Values{"username": {"alice"}, "password": {"nope"}})
	unknown := b.post("/ui/signin", url.Values{"username": {"mallory"}, "password": {"nope"}})
	wantStatus(t, wrong, http.StatusUnauthorized, "wrong password")
	wantStatus(t, unknown, http.StatusUnauthorized, "unknown user")
	msg := regexp.MustCompile(`<div class="error" role="alert">([^<]*)</div>`)
	mw, mu := msg.FindStringSubmatch(wrong.Body), msg.FindStringSubmatch(unknown.Body)
	if mw == nil || mu == nil || mw[1] != mu[1] {
		t.Fatalf("messages differ: wrong password %q, unknown user %q", mw, mu)
	}
	if strings.Contains(wrong.Body, "nope") {
		t.Fatal("the password was echoed into the page")
	}
	wantStatus(t, b.post("/ui/signin", url.Values{"username": {"alice"}}), http.StatusBadRequest, "no password")

	// Without the form's token, or from another site: refused before the
	// password is looked at.
	for name, tc := range map[string]struct {
		form    url.Values
		headers map[string]string
	}{
		"no csrf token":        {url.Values{"username": {"alice"}, "password": {"alice-password"}}, map[string]string{"Origin": g.URL}},
		"bad csrf token":       {url.Values{"csrf": {"forged"}, "username": {"alice"}, "password": {"alice-password"}}, map[string]string{"Origin": g.URL}},
		"cross-site origin":    {url.Values{"csrf": {b.csrf}, "username": {"alice"}, "password": {"alice-password"}}, map[string]string{"Origin": "https://evil.example"}},
		"cross-site fetch":     {url.Values{"csrf": {b.csrf}, "username": {"alice"}, "password": {"alice-password"}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		"null origin, no csrf": {url.Values{"username": {"alice"}, "password": {"alice-password"}}, map[string]string{"Origin": "null"}},
		"cross-site with a same-origin claim": {url.Values{"csrf": {b.csrf}, "username": {"alice"}, "password": {"alice-password"}},
			map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}},
		"same-site subdomain": {url.Values{"csrf": {b.csrf}, "username": {"alice"}, "password": {"alice-password"}}, map[string]string{"Sec-Fetch-Site": "same-site"}},
	} {
		p := b.postRaw("/ui/signin", tc.form, tc.headers)
		wantStatus(t, p, http.StatusForbidden, name)
		if p.Header.Get("Set-Cookie") != "" && strings.Contains(p.Header.Get("Set-Cookie"), "tokengate_session=") {
			t.Fatalf("%s: a session cookie was set", name)
		}
	}
	// Another browser's token is not this browser's.
	other := g.browser(t)
	other.get("/ui/signin")
	p := b.post("/ui/signin", url.Values{"csrf": {other.csrf}, "username": {"alice"}, "password": {"alice-password"}})
	wantStatus(t, p, http.StatusForbidden, "another browser's csrf token")

	// GET never changes state: the form's routes answer GET with 405.
	for _, path := range []string{"/ui/signout", "/ui/profile/everywhere", "/ui/profile/tokens"} {
		if p := b.get(path); p.Status != http.StatusMethodNotAllowed && p.Status != http.StatusNotFound {
			t.Errorf("GET %s = %d", path, p.Status)
		}
	}
}

func TestSignInCookieAndSignOut(t *testing.T) {
	g := newGateway(t, nil)
	g.user(t, "alice", "alice-password", false, false)
	b := g.browser(t)
	b.get("/ui/signin")
	p := b.post("/ui/signin", url.Values{"username": {"alice"}, "password": {"alice-password"}})
	wantStatus(t, p, http.StatusSeeOther, "sign in")
	var session *http.Cookie
	for _, c := range (&http.Response{Header: p.Header}).Cookies() {
		if c.Name == "tokengate_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" || session.Secure {
		t.Fatalf("session cookie = %+v", session)
	}
	// The cookie is the token whose hash the store keeps, nothing else.
	if strings.Contains(session.Value, ".") || len(session.Value) != 43 {
		t.Fatalf("cookie value is not an opaque 256-bit token: %q", session.Value)
	}
	if strings.Contains(g.logs.String(), session.Value) {
		t.Fatal("the session token was logged")
	}
	prof := b.get("/ui/profile")
	wantStatus(t, prof, http.StatusOK, "profile")
	wantBody(t, prof, "profile", "alice", "Request API access")

	// A stolen copy of the cookie dies with the sign-out.
	thief := g.browser(t)
	u, _ := url.Parse(g.URL)
	thief.http.Jar.SetCookies(u, []*http.Cookie{{Name: "tokengate_session", Value: session.Value}})
	wantStatus(t, thief.get("/ui/profile"), http.StatusOK, "copied cookie before sign-out")
	wantStatus(t, b.post("/ui/signout", nil), http.StatusSeeOther, "sign out")
	p = thief.get("/ui/profile")
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/ui/signin?return_to=") {
		t.Fatalf("after sign-out: %d %s", p.Status, p.Header.Get("Location"))
	}
}

func TestSecureCookieOverHTTPS(t *testing.T) {
	g := newGateway(t, func(c *config.Config) { c.PublicURL = "https://auth.example.test" })
	g.user(t, "alice", "alice-password", false, false)
	b := g.browser(t)
	b.get("/ui/signin")
	p := b.postRaw("/ui/signin", url.Values{"csrf": {b.csrf}, "username": {"alice"}, "password": {"alice-password"}},
		map[string]string{"Origin": "https://auth.example.test"})
	wantStatus(t, p, http.StatusSeeOther, "sign in")
	cookie := p.Header.Values("Set-Cookie")
	found := false
	for _, c := range cookie {
		if strings.HasPrefix(c, "__Host-tokengate_session=") {
			found = true
			for _, attr := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
				if !strings.Contains(c, attr) {
					t.Errorf("cookie %q lacks %s", c, attr)
				}
			}
			if strings.Contains(c, "Domain=") {
				t.Errorf("a __Host- cookie with a Domain: %q", c)
			}
		}
	}
	if !found {
		t.Fatalf("no __Host- session cookie in %q", cookie)
	}
	// The http:// origin of the listener is not the public one.
	p = b.postRaw("/ui/signin", url.Values{"csrf": {"x"}}, map[string]string{"Origin": "http://evil.example"})
	wantStatus(t, p, http.StatusForbidden, "foreign origin")
}

func TestReturnToStaysLocal(t *testing.T) {
	g := newGateway(t, nil)
	g.user(t, "alice", "alice-password", false, false)
	for ret, want := range map[string]string{
		"/ui/admin/users?x=1":       "/ui/admin/users?x=1",
		"https://evil.example/ui/":  "/ui/profile",
		"//evil.example/ui/":        "/ui/profile",
		"/ui/\\\\evil.example":      "/ui/profile",
		"/api/risks":                "/ui/profile",
		"/ui/%0d%0aSet-Cookie:%20x": "/ui/%0d%0aSet-Cookie:%20x",
	} {
		b := g.browser(t)
		b.get("/ui/signin?return_to=" + url.QueryEscape(ret))
		p := b.post("/ui/signin", url.Values{"username": {"alice"}, "password": {"alice-password"}, "return_to": {ret}})
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != want {
			t.Errorf("return_to %q: %d %q, want %q", ret, p.Status, p.Header.Get("Location"), want)
		}
	}
}

func TestPagesNeedSignInAndAdmin(t *testing.T) {
	g := newGateway(t, nil)
	g.user(t, "alice", "alice-password", false, false)
	anon := g.browser(t)
	p := anon.get("/ui/admin/users")
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/ui/signin?return_to=%2Fui%2Fadmin%2Fusers" {
		t.Fatalf("anonymous admin page: %d %s", p.Status, p.Header.Get("Location"))
	}
	anon.get("/ui/signin")
	wantStatus(t, anon.post("/ui/profile/everywhere", url.Values{"confirm": {"yes"}}), http.StatusUnauthorized, "anonymous post")

	b := g.browser(t)
	b.signIn("alice", "alice-password")
	for _, path := range []string{"/ui/admin/users", "/ui/admin/requests", "/ui/admin/orgs", "/ui/admin/clients",
		"/ui/admin/sessions", "/ui/admin/keys", "/ui/admin/tenants", "/ui/admin/audit", "/ui/admin/users/admin"} {
		wantStatus(t, b.get(path), http.StatusForbidden, "non-admin GET "+path)
	}
	b.get("/ui/profile")
	wantStatus(t, b.post("/ui/admin/users", url.Values{"name": {"eve"}, "admin": {"on"}}), http.StatusForbidden, "non-admin creates a user")
	if _, err := g.App.Engine.User(context.Background(), "", "eve"); err == nil {
		t.Fatal("a non-admin created a user")
	}
	b.get("/ui/profile")
	wantStatus(t, b.post("/ui/admin/keys/rotate", url.Values{"confirm": {"yes"}}), http.StatusForbidden, "non-admin rotates keys")
}

func TestAPITokenShownOnceAndWorks(t *testing.T) {
	g := newGateway(t, nil)
	g.user(t, "alice", "alice-password", true, false)
	b := g.browser(t)
	b.signIn("alice", "alice-password")
	p := b.post("/ui/profile/tokens", url.Values{"label": {"nightly export"}})
	wantStatus(t, p, http.StatusCreated, "create token")
	if p.Header.Get("Cache-Control") != "no-store" || p.Header.Get("Location") != "" {
		t.Fatalf("reveal: Cache-Control %q, Location %q", p.Header.Get("Cache-Control"), p.Header.Get("Location"))
	}
	m := regexp.MustCompile(`id="new-token" value="([^"]+)"`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no token on the page:\n%s", p.Body)
	}
	tok := m[1]
	wantBody(t, p, "reveal", "It will not be shown again", "nightly export")
	if strings.Contains(g.logs.String(), tok) {
		t.Fatal("the API token was logged")
	}
	again := b.get("/ui/profile")
	if strings.Contains(again.Body, tok) || strings.Contains(again.Body, "new-token") {
		t.Fatal("the profile shows the token again")
	}
	wantBody(t, again, "token list", "nightly export")

	// It is a Sync Gateway renewable token.
	resp, err := http.Get(g.URL + "/whitespace/_oidc_refresh?refresh_token=" + url.QueryEscape(tok))
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || out["id_token"] == nil {
		t.Fatalf("_oidc_refresh = %d %v", resp.StatusCode, out)
	}

	// Revoke: first a confirmation, which changes nothing.
	id := regexp.MustCompile(`action="/ui/profile/tokens/([^/]+)/revoke"`).FindStringSubmatch(again.Body)[1]
	conf := b.post("/ui/profile/tokens/"+id+"/revoke", nil)
	wantStatus(t, conf, http.StatusOK, "confirmation page")
	wantBody(t, conf, "confirmation", "Revoke the API token “nightly export”?", `name="confirm" value="yes"`)
	if live, _ := g.App.Engine.APITokens(context.Background(), tokenUser(t, g, "alice")); len(live) != 1 {
		t.Fatal("the confirmation page revoked the token")
	}
	wantStatus(t, b.post("/ui/profile/tokens/"+id+"/revoke", url.Values{"confirm": {"yes"}}), http.StatusSeeOther, "revoke")
	resp, err = http.Get(g.URL + "/whitespace/_oidc_refresh?refresh_token=" + url.QueryEscape(tok))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", resp.StatusCode)
	}
}

func tokenUser(t *testing.T, g *gateway, name string) string {
	u, err := g.App.Engine.User(context.Background(), "", name)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestAPITokenAsksForPasswordAgain(t *testing.T) {
	g := newGateway(t, nil)
	g.user(t, "alice", "alice-password", true, false)
	b := g.browser(t)
	b.signIn("alice", "alice-password")
	g.Clock.Advance(11 * time.Minute)
	b.get("/ui/profile")
	p := b.post("/ui/profile/tokens", url.Values{"label": {"later"}})
	wantStatus(t, p, http.StatusOK, "stale sign-in")
	wantBody(t, p, "password asked", `name="password"`, "confirm your password")
	if strings.Contains(p.Body, `id="new-token"`) {
		t.Fatal("a token was shown without the password")
	}
	p = b.post("/ui/profile/tokens", url.Values{"label": {"later"}, "password": {"wrong"}})
	wantStatus(t, p, http.StatusUnauthorized, "wrong password")
	if strings.Contains(p.Body, `id="new-token"`) {
		t.Fatal("a token was shown for a wrong password")
	}
	p = b.post("/ui/profile/tokens", url.Values{"label": {"later"}, "password": {"alice-password"}})
	wantStatus(t, p, http.StatusCreated, "with the password")
	wantBody(t, p, "revealed", `id="new-token"`)
}

func TestAccessRequestFlow(t *testing.T) {
	g := newGateway(t, nil)
	g.user(t, "bob", "bob-password", false, false)
	user := g.browser(t)
	user.signIn("bob", "bob-password")
	p := user.post("/ui/profile/access", url.Values{"reason": {""}})
	wantStatus(t, p, http.StatusBadRequest, "empty reason")
	wantStatus(t, user.post("/ui/profile/access", url.Values{"reason": {"<b>nightly</b> export"}}), http.StatusSeeOther, "request")
	p = user.get("/ui/profile")
	wantBody(t, p, "pending", "pending", "&lt;b&gt;nightly&lt;/b&gt; export", "Withdraw request")

	admin := g.browser(t)
	admin.signIn("admin", adminPassword)
	p = admin.get("/ui/admin/requests")
	wantBody(t, p, "admin list", "bob", "&lt;b&gt;nightly&lt;/b&gt; export")
	id := regexp.MustCompile(`action="/ui/admin/requests/([^/]+)/deny"`).FindStringSubmatch(p.Body)[1]
	wantStatus(t, admin.post("/ui/admin/requests/"+id+"/deny", url.Values{"note": {""}}), http.StatusBadRequest, "deny without a reason")
	wantStatus(t, admin.post("/ui/admin/requests/"+id+"/deny", url.Values{"note": {"use the shared export"}}), http.StatusSeeOther, "deny")
	p = user.get("/ui/profile")
	wantBody(t, p, "outcome", "denied", "use the shared export", "Request API access")

	wantStatus(t, user.post("/ui/profile/access", url.Values{"reason": {"please"}}), http.StatusSeeOther, "ask again")
	p = admin.get("/ui/admin/requests")
	id = regexp.MustCompile(`action="/ui/admin/requests/([^/]+)/approve"`).FindStringSubmatch(p.Body)[1]
	wantStatus(t, admin.post("/ui/admin/requests/"+id+"/approve", nil), http.StatusSeeOther, "approve")
	p = user.get("/ui/profile")
	wantBody(t, p, "approved", "Create API token")
	// A user can't decide their own request.
	wantStatus(t, user.post("/ui/admin/requests/"+id+"/approve", nil), http.StatusForbidden, "user approves")
}

func TestSignOutEverywhereKeepsAPITokens(t *testing.T) {
	g := newGateway(t, nil)
	g.user(t, "alice", "alice-password", true, false)
	b1, b2 := g.browser(t), g.browser(t)
	b1.signIn("alice", "alice-password")
	b2.signIn("alice", "alice-password")
	p := b1.post("/ui/profile/tokens", url.Values{"label": {"keep"}})
	tok := regexp.MustCompile(`id="new-token" value="([^"]+)"`).FindStringSubmatch(p.Body)[1]
	grant, err := g.App.Engine.SignOnPassword(context.Background(), engine.SignOnRequest{Service: "oauth2", ClientID: engine.DefaultClientID, Username: "alice", Password: "alice-password"})
	if err != nil {
		t.Fatal(err)
	}
	b1.get("/ui/profile")
	wantStatus(t, b1.post("/ui/profile/everywhere", nil), http.StatusOK, "confirmation")
	wantStatus(t, b1.post("/ui/profile/everywhere", url.Values{"confirm": {"yes"}}), http.StatusSeeOther, "everywhere")
	for i, b := range []*client{b1, b2} {
		if p := b.get("/ui/profile"); p.Status != http.StatusSeeOther {
			t.Fatalf("browser %d still signed in: %d", i+1, p.Status)
		}
	}
	if _, err := g.App.Engine.Refresh(context.Background(), engine.RefreshRequest{Token: grant.RefreshToken, ClientID: engine.DefaultClientID}); err == nil {
		t.Fatal("the OAuth 2.0 session survived")
	}
	resp, err := http.Get(g.URL + "/whitespace/_oidc_refresh?refresh_token=" + url.QueryEscape(tok))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the API token was ended: %d", resp.StatusCode)
	}
}

func TestExternalSignIn(t *testing.T) {
	g := newGateway(t, nil)
	g.Issuer.LoginAs("corp|erin", map[string]any{"preferred_username": "erin", "email": "erin@corp.example"})
	b := g.browser(t)
	p := b.get("/ui/signin?return_to=/ui/profile%23sessions")
	wantBody(t, p, "button", "Sign in with Corp ID")
	if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+g.Issuer.URL) {
		t.Fatalf("sign-in CSP does not allow the issuer as form target: %q", csp)
	}
	p = b.post("/ui/signin/oidc/corp", url.Values{"return_to": {"/ui/profile#sessions"}})
	wantStatus(t, p, http.StatusSeeOther, "start")
	auth, _ := url.Parse(p.Header.Get("Location"))
	q := auth.Query()
	if !strings.HasPrefix(auth.String(), g.Issuer.URL+"/authorize") || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" || q.Get("client_id") != "tokengate-ui" {
		t.Fatalf("authorization request: %s", auth)
	}
	// The issuer signs erin in and sends the browser back.
	resp, err := b.http.Get(auth.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	callback := resp.Header.Get("Location")
	cb, _ := url.Parse(callback)

	// A callback with another state is refused, and spends the flow.
	forged := *cb
	fq := forged.Query()
	fq.Set("state", "forged")
	forged.RawQuery = fq.Encode()
	evil := g.browser(t)
	evil.http.Jar = b.http.Jar // even with the victim's cookies
	wantStatus(t, evil.get(strings.TrimPrefix(forged.String(), g.URL)), http.StatusForbidden, "forged state")
	if g.Issuer.Redeemed() != 0 {
		t.Fatal("a forged callback redeemed the code")
	}

	// Start again, and finish.
	b.get("/ui/signin")
	p = b.post("/ui/signin/oidc/corp", url.Values{"return_to": {"/ui/profile#sessions"}})
	resp, err = b.http.Get(p.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, _ = url.Parse(resp.Header.Get("Location"))
	p = b.get(cb.RequestURI())
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/ui/profile#sessions" {
		t.Fatalf("callback: %d %s\n%s", p.Status, p.Header.Get("Location"), p.Body)
	}
	p = b.get("/ui/profile")
	wantBody(t, p, "signed in", "erin", "with corp")
	// The code is single-use: replaying the callback signs no one in.
	replay := g.browser(t)
	wantStatus(t, replay.get(cb.RequestURI()), http.StatusForbidden, "replayed callback without the flow cookie")
}

func TestExternalSignInRefusesWrongNonce(t *testing.T) {
	g := newGateway(t, nil)
	g.Issuer.LoginAs("corp|erin", map[string]any{"preferred_username": "erin", "nonce": "someone else's"})
	b := g.browser(t)
	b.get("/ui/signin")
	p := b.post("/ui/signin/oidc/corp", nil)
	resp, err := b.http.Get(p.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, _ := url.Parse(resp.Header.Get("Location"))
	wantStatus(t, b.get(cb.RequestURI()), http.StatusForbidden, "wrong nonce")
	if _, err := g.App.Engine.User(context.Background(), "", "erin"); err == nil {
		t.Fatal("a user was created from an ID token of another sign-in")
	}
}

func TestAdminPagesRender(t *testing.T) {
	g := newGateway(t, nil)
	admin := g.browser(t)
	admin.signIn("admin", adminPassword)
	wantStatus(t, admin.post("/ui/admin/users", url.Values{"name": {"carol"}, "password": {"carol-password"}}), http.StatusSeeOther, "create user")
	wantStatus(t, admin.post("/ui/admin/orgs", url.Values{"name": {"gailbkr"}, "display_name": {"GAIL Brokers"}}), http.StatusSeeOther, "create org")
	wantStatus(t, admin.post("/ui/admin/users/carol/memberships", url.Values{"organisation": {"gailbkr"}, "channels": {"gailbkr_ALL"}}), http.StatusSeeOther, "add membership")
	p := admin.get("/ui/admin/users/carol")
	wantBody(t, p, "user page", "gailbkr", "MU")
	p = admin.post("/ui/admin/clients", url.Values{"id": {"reporting"}, "name": {"Reporting"}})
	wantStatus(t, p, http.StatusCreated, "create client")
	wantBody(t, p, "secret", `id="client-secret"`, "will not be shown again")
	for _, path := range []string{"/ui/admin/users", "/ui/admin/requests", "/ui/admin/orgs", "/ui/admin/orgs/gailbkr", "/ui/admin/clients",
		"/ui/admin/sessions", "/ui/admin/sessions?user=carol", "/ui/admin/keys", "/ui/admin/tenants", "/ui/admin/audit",
		"/ui/admin/audit?type=user.create&user=admin"} {
		wantStatus(t, admin.get(path), http.StatusOK, path)
	}
	wantBody(t, admin.get("/ui/admin/audit?type=membership.add"), "audit filter", "membership.add")
	wantStatus(t, admin.get("/ui/admin/audit?since=yesterday"), http.StatusBadRequest, "bad time")
	wantStatus(t, admin.get("/ui/admin/audit?user=nobody"), http.StatusNotFound, "unknown user filter")
	// Disabling is confirmed first, then signs the user out.
	carol := g.browser(t)
	carol.signIn("carol", "carol-password")
	admin.get("/ui/admin/users/carol")
	wantStatus(t, admin.post("/ui/admin/users/carol/disable", nil), http.StatusOK, "disable confirmation")
	wantStatus(t, carol.get("/ui/profile"), http.StatusOK, "carol before disable")
	wantStatus(t, admin.post("/ui/admin/users/carol/disable", url.Values{"confirm": {"yes"}}), http.StatusSeeOther, "disable")
	wantStatus(t, carol.get("/ui/profile"), http.StatusSeeOther, "carol after disable")
	admin.get("/ui/admin/users/admin")
	wantStatus(t, admin.post("/ui/admin/users/admin/disable", url.Values{"confirm": {"yes"}}), http.StatusBadRequest, "self-disable")
	// A password the engine's rule refuses is said on the user's page.
	p = admin.post("/ui/admin/users/carol/password", url.Values{"password": {"short"}, "confirm": {"yes"}})
	wantStatus(t, p, http.StatusBadRequest, "short password")
	wantBody(t, p, "short password", "at least 8 characters")
}

func TestAdminsActWithinTheirTenant(t *testing.T) {
	g := newGateway(t, nil)
	ctx := context.Background()
	e := g.App.Engine
	g.user(t, "alice", "alice-password", true, false)
	if _, err := e.CreateOrganisation(ctx, "", "gailbkr", ""); err != nil {
		t.Fatal(err)
	}
	m, err := e.AddMembership(ctx, engine.NewMembership{User: "alice", Organisation: "gailbkr"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.SignOnPassword(ctx, engine.SignOnRequest{Service: "oauth2", ClientID: engine.DefaultClientID, Username: "alice", Password: "alice-password"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateTenant(ctx, engine.NewTenant{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateUser(ctx, engine.NewUser{Tenant: "acme", Name: "boss", Password: "boss-password", Admin: true}); err != nil {
		t.Fatal(err)
	}
	b := g.browser(t)
	b.get("/ui/signin?tenant=acme")
	p := b.post("/ui/signin", url.Values{"username": {"boss"}, "password": {"boss-password"}, "tenant": {"acme"}})
	wantStatus(t, p, http.StatusSeeOther, "acme admin signs in")
	b.get("/ui/profile")

	wantStatus(t, b.get("/ui/admin/users/alice"), http.StatusNotFound, "another tenant's user")
	wantStatus(t, b.post("/ui/admin/memberships/"+m.ID+"/remove", url.Values{"confirm": {"yes"}}), http.StatusNotFound, "another tenant's membership")
	wantStatus(t, b.post("/ui/admin/clients/"+engine.DefaultClientID+"/disable", url.Values{"confirm": {"yes"}}), http.StatusNotFound, "another tenant's client")
	wantStatus(t, b.post("/ui/admin/sessions/"+s.Session.ID+"/revoke", url.Values{"confirm": {"yes"}}), http.StatusNotFound, "another tenant's session")
	wantStatus(t, b.post("/ui/admin/tenants", url.Values{"name": {"evil"}}), http.StatusForbidden, "create a tenant")
	wantStatus(t, b.post("/ui/admin/tenants/default/limit", url.Values{"max_sessions": {"1"}, "policy": {"reject"}}), http.StatusNotFound, "another tenant's limit")
	p = b.get("/ui/admin/tenants")
	if strings.Contains(p.Body, `data-tenant="default"`) || !strings.Contains(p.Body, `data-tenant="acme"`) {
		t.Fatalf("the acme admin sees other tenants:\n%s", p.Body)
	}
	if live, _ := e.Sessions(ctx, engine.SessionQuery{User: "alice"}); len(live) != 1 {
		t.Fatal("another tenant's admin revoked alice's session")
	}
	if got, _ := e.Membership(ctx, m.ID); !got.RemovedAt.IsZero() {
		t.Fatal("another tenant's admin removed alice's membership")
	}
	if c, _ := e.Client(ctx, engine.DefaultClientID); c.Disabled {
		t.Fatal("another tenant's admin disabled the default client")
	}
	if def, _ := e.Tenant(ctx, ""); def.MaxSessions != 0 {
		t.Fatal("another tenant's admin changed the default tenant's limit")
	}
	// The signing keys are the node's, not a tenant's: only an operator (an
	// admin of the default tenant) rotates or revokes them.
	keys := e.Keys()
	wantStatus(t, b.get("/ui/admin/keys"), http.StatusForbidden, "the node's keys page")
	wantStatus(t, b.post("/ui/admin/keys/rotate", url.Values{"confirm": {"yes"}}), http.StatusForbidden, "rotate the node's key")
	wantStatus(t, b.post("/ui/admin/keys/"+keys[0].ID+"/revoke", url.Values{"confirm": {"yes"}}), http.StatusForbidden, "revoke the node's key")
	if after := e.Keys(); len(after) != len(keys) || after[0].State != keys[0].State {
		t.Fatalf("another tenant's admin changed the keys: %+v -> %+v", keys, after)
	}
}

// TestKeyRevoke: an operator revokes a key from the keys page, after a
// confirmation; it is then shown revoked and no longer in the JWKS.
func TestKeyRevoke(t *testing.T) {
	g := newGateway(t, nil)
	g.user(t, "root", "root-password", false, true)
	e := g.App.Engine
	old := e.Keys()[0].ID
	b := g.browser(t)
	b.signIn("root", "root-password")
	p := b.get("/ui/admin/keys")
	wantStatus(t, p, http.StatusOK, "keys page")
	wantBody(t, p, "revoke button", `action="/ui/admin/keys/`+old+`/revoke"`)
	p = b.post("/ui/admin/keys/"+old+"/revoke", url.Values{})
	wantStatus(t, p, http.StatusOK, "confirmation page")
	if state := e.Keys(); state[0].State == token.StateRevoked {
		t.Fatal("revoked before the confirmation")
	}
	p = b.post("/ui/admin/keys/"+old+"/revoke", url.Values{"confirm": {"yes"}})
	wantStatus(t, p, http.StatusSeeOther, "revoke")
	for _, k := range e.Keys() {
		if k.ID == old && k.State != token.StateRevoked {
			t.Fatalf("key %s is %s after revoke", old, k.State)
		}
	}
	p = b.get(p.Header.Get("Location"))
	wantBody(t, p, "notice", "revoked")
	wantStatus(t, b.post("/ui/admin/keys/nosuch/revoke", url.Values{"confirm": {"yes"}}), http.StatusNotFound, "unknown key")
}

func TestSignInThrottled(t *testing.T) {
	g := newGateway(t, nil)
	g.user(t, "alice", "alice-password", false, false)
	b := g.browser(t)
	b.get("/ui/signin")
	var p page
	for range 20 {
		p = b.post("/ui/signin", url.Values{"username": {"alice"}, "password": {"guess"}})
		if p.Status == http.StatusTooManyRequests {
			break
		}
		wantStatus(t, p, http.StatusUnauthorized, "a wrong password before the throttle")
	}
	wantStatus(t, p, http.StatusTooManyRequests, "throttled sign-in")
	wantBody(t, p, "throttled page", "Too many attempts. Try again in ")
	if ra := p.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After = %q", ra)
	}
	// Even the right password waits: nothing is checked while throttled.
	wantStatus(t, b.post("/ui/signin", url.Values{"username": {"alice"}, "password": {"alice-password"}}), http.StatusTooManyRequests, "the owner while throttled")
}
