package app_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/internal/engine"
)

// noFollow is a client that stops at the first redirect, to see where an
// answer would send the browser.
func noFollow(b *rpBrowser) *http.Client {
	c := *b.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// TestAuthorizeUnregisteredRedirectURI: a redirect URI that is not
// registered, or is a registered one altered, gets a page that explains,
// and no redirect anywhere (RFC 6749 §4.1.2.1).
func TestAuthorizeUnregisteredRedirectURI(t *testing.T) {
	w := newOIDCWorld(t)
	b := newRPBrowser(t, w)
	reg := w.rp.URL + "/callback"
	for name, uri := range map[string]string{
		"another site":      "https://evil.example/callback",
		"longer path":       reg + "/x",
		"added query":       reg + "?next=https://evil.example/",
		"trailing slash":    reg + "/",
		"other port":        strings.Replace(reg, "127.0.0.1:", "127.0.0.1:1", 1),
		"upper-case scheme": "HTTP" + strings.TrimPrefix(reg, "http"),
		"missing":           "",
	} {
		t.Run(name, func(t *testing.T) {
			c := *w.web
			c.RedirectURL = uri
			resp, err := noFollow(b).Get(newLogin().url(&c))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			p := b.read(resp)
			if !strings.Contains(p.body, "not registered for this client") {
				t.Errorf("page does not explain:\n%.600s", p.body)
			}
		})
	}
	t.Run("unknown client", func(t *testing.T) {
		c := *w.web
		c.ClientID = "nosuch"
		if p := b.get(newLogin().url(&c)); p.status != http.StatusBadRequest || p.url.Host != strings.TrimPrefix(w.s.URL, "http://") {
			t.Errorf("%d at %s", p.status, p.url)
		}
	})
}

// errorAt asserts that a browser sent to u lands on the relying party's
// path with error code want and the request's state.
func (w *oidcWorld) errorAt(t *testing.T, b *rpBrowser, u, path, want, state string) url.Values {
	t.Helper()
	q := w.callback(t, b.get(u), path)
	if q.Get("error") != want || q.Get("state") != state || q.Get("code") != "" || q.Get("iss") != w.s.URL {
		t.Errorf("callback %v, want error %s with state %s", q, want, state)
	}
	return q
}

// TestAuthorizePlainPKCERefused: the plain method is refused, and so is a
// challenge without a method (RFC 7636 says that is plain), to the
// registered redirect URI with state.
func TestAuthorizePlainPKCERefused(t *testing.T) {
	w := newOIDCWorld(t)
	b := newRPBrowser(t, w)
	l := newLogin()
	for _, opts := range [][]oauth2.AuthCodeOption{
		{oauth2.SetAuthURLParam("code_challenge", l.verifier), oauth2.SetAuthURLParam("code_challenge_method", "plain")},
		{oauth2.SetAuthURLParam("code_challenge", l.verifier)},
	} {
		u := w.spa.AuthCodeURL(l.state, opts...)
		q := w.errorAt(t, b, u, "/spa/callback", "invalid_request", l.state)
		if !strings.Contains(q.Get("error_description"), "plain is not supported") {
			t.Errorf("description %q", q.Get("error_description"))
		}
	}
}

// TestAuthorizePublicClientNeedsPKCE: a public client's request without
// a challenge is refused; a confidential client may go without.
func TestAuthorizePublicClientNeedsPKCE(t *testing.T) {
	w := newOIDCWorld(t)
	b := newRPBrowser(t, w)
	q := w.errorAt(t, b, w.spa.AuthCodeURL("s1"), "/spa/callback", "invalid_request", "s1")
	if !strings.Contains(q.Get("error_description"), "must use PKCE") {
		t.Errorf("description %q", q.Get("error_description"))
	}
	p := b.signIn(b.get(w.web.AuthCodeURL("s2")))
	code := w.callback(t, p, "/callback").Get("code")
	if r := w.tokenRequest(t, codeForm(code, w.web.RedirectURL, ""), "webapp", w.web.ClientSecret); r.Status != http.StatusOK {
		t.Errorf("confidential client without PKCE: %d %s", r.Status, r.Body)
	}
}

// TestAuthorizeOtherRefusalsEchoState: every error sent to the redirect
// URI carries the request's state, whatever it is.
func TestAuthorizeOtherRefusalsEchoState(t *testing.T) {
	w := newOIDCWorld(t)
	b := newRPBrowser(t, w)
	l := newLogin()
	for _, tc := range []struct {
		name string
		opts []oauth2.AuthCodeOption
		want string
	}{
		{"response_type token", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("response_type", "token")}, "unsupported_response_type"},
		{"scope not allowed", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("scope", "openid admin")}, "invalid_scope"},
		{"bad prompt", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "none login")}, "invalid_request"},
		{"bad max_age", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("max_age", "-1")}, "invalid_request"},
		{"bad response_mode", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("response_mode", "fragment")}, "invalid_request"},
		{"S256 challenge of the wrong size", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("code_challenge", "abc")}, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := "st-" + tc.name + " &?=#"
			w.errorAt(t, b, l.url(w.web, append(tc.opts, oauth2.SetAuthURLParam("state", state))...), "/callback", tc.want, state)
		})
	}
}

// TestAuthorizePromptNone: without a browser sign-in, prompt=none answers
// login_required; signed in, a first-party client gets its code at once,
// and a third-party client not yet consented to gets consent_required.
func TestAuthorizePromptNone(t *testing.T) {
	w := newOIDCWorld(t)
	b := newRPBrowser(t, w)
	l := newLogin()
	none := oauth2.SetAuthURLParam("prompt", "none")
	w.errorAt(t, b, l.url(w.web, none), "/callback", "login_required", l.state)
	w.authorize(t, b, w.web, newLogin()) // signs in
	l2 := newLogin()
	if q := w.callback(t, b.get(l2.url(w.web, none)), "/callback"); q.Get("code") == "" || q.Get("state") != l2.state {
		t.Errorf("prompt=none signed in: %v", q)
	}
	l3 := newLogin()
	w.errorAt(t, b, l3.url(w.spa, none), "/spa/callback", "consent_required", l3.state)
}

// TestAuthorizePromptLoginAndMaxAge: prompt=login and an exceeded max_age
// show the sign-in page to a signed-in browser, and the code follows the
// new sign-in (its auth_time in the ID token).
func TestAuthorizePromptLoginAndMaxAge(t *testing.T) {
	w := newOIDCWorld(t)
	b := newRPBrowser(t, w)
	l0 := newLogin()
	tok0, err := w.web.Exchange(w.ctx, w.authorize(t, b, w.web, l0), oauth2.VerifierOption(l0.verifier))
	if err != nil {
		t.Fatal(err)
	}
	idt0, err := w.verifier("webapp").Verify(w.ctx, tok0.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var sid0 struct {
		Sid string `json:"sid"`
	}
	_ = idt0.Claims(&sid0)
	first := w.s.Clock.Now()
	w.s.Clock.Advance(10 * time.Minute)
	for name, opt := range map[string]oauth2.AuthCodeOption{
		"prompt=login": oauth2.SetAuthURLParam("prompt", "login"),
		"max_age=60":   oauth2.SetAuthURLParam("max_age", "60"),
	} {
		t.Run(name, func(t *testing.T) {
			l := newLogin()
			p := b.get(l.url(w.web, opt))
			if p.url.Path != "/ui/signin" {
				t.Fatalf("not asked to sign in again: %s", p.url)
			}
			code := w.callback(t, b.signIn(p), "/callback").Get("code")
			tok, err := w.web.Exchange(w.ctx, code, oauth2.VerifierOption(l.verifier))
			if err != nil {
				t.Fatal(err)
			}
			idt, err := w.verifier("webapp").Verify(w.ctx, tok.Extra("id_token").(string))
			if err != nil {
				t.Fatal(err)
			}
			var c struct {
				AuthTime int64  `json:"auth_time"`
				Sid      string `json:"sid"`
			}
			_ = idt.Claims(&c)
			if c.AuthTime <= first.Unix() {
				t.Errorf("auth_time %d is the first sign-in's (%d)", c.AuthTime, first.Unix())
			}
			// Signing in again confirms the browser's sign-in: same sid,
			// and the tokens relying parties got from it still work.
			if c.Sid != sid0.Sid {
				t.Errorf("sid %q after signing in again, was %q", c.Sid, sid0.Sid)
			}
			next, err := w.web.TokenSource(w.ctx, &oauth2.Token{RefreshToken: tok0.RefreshToken}).Token()
			if err != nil {
				t.Fatalf("the first sign-in's refresh token after signing in again: %v", err)
			}
			tok0.RefreshToken = next.RefreshToken // it rotated
			w.s.Clock.Advance(10 * time.Minute)
		})
	}
	t.Run("max_age satisfied", func(t *testing.T) {
		w.authorize(t, b, w.web, newLogin()) // within max_age: straight through
		l := newLogin()
		if q := w.callback(t, b.get(l.url(w.web, oauth2.SetAuthURLParam("max_age", "3600"))), "/callback"); q.Get("code") == "" {
			t.Errorf("a recent sign-in was asked again: %v", q)
		}
	})
}

// signedInCode signs a browser in and returns a code for c with l.
func (w *oidcWorld) signedInCode(t *testing.T, c *oauth2.Config, l login) string {
	t.Helper()
	return w.authorize(t, newRPBrowser(t, w), c, l)
}

// TestCodeVerifierRequired: a code requested with a challenge needs its
// verifier; a wrong one is invalid_grant, and the code is not spent.
func TestCodeVerifierRequired(t *testing.T) {
	w := newOIDCWorld(t)
	l := newLogin()
	code := w.signedInCode(t, w.web, l)
	for name, v := range map[string]string{"missing": "", "wrong": oauth2.GenerateVerifier(), "malformed": "short"} {
		t.Run(name, func(t *testing.T) {
			r := w.tokenRequest(t, codeForm(code, w.web.RedirectURL, v), "webapp", w.web.ClientSecret)
			if r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "invalid_grant" {
				t.Errorf("%d %s", r.Status, r.Body)
			}
		})
	}
	if r := w.tokenRequest(t, codeForm(code, w.web.RedirectURL, l.verifier), "webapp", w.web.ClientSecret); r.Status != http.StatusOK {
		t.Errorf("the right verifier after wrong ones: %d %s", r.Status, r.Body)
	}
}

// TestCodeVerifierWithoutChallenge: a verifier for a code requested
// without a challenge is refused (RFC 9700 §2.1.1, a downgrade).
func TestCodeVerifierWithoutChallenge(t *testing.T) {
	w := newOIDCWorld(t)
	b := newRPBrowser(t, w)
	code := w.callback(t, b.signIn(b.get(w.web.AuthCodeURL("s"))), "/callback").Get("code")
	r := w.tokenRequest(t, codeForm(code, w.web.RedirectURL, oauth2.GenerateVerifier()), "webapp", w.web.ClientSecret)
	if r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "invalid_grant" {
		t.Errorf("%d %s", r.Status, r.Body)
	}
}

// TestCodeReplay: a code redeemed twice is refused the second time, and
// the session the first redemption started is revoked: its refresh token
// and access token are dead.
func TestCodeReplay(t *testing.T) {
	w := newOIDCWorld(t)
	l := newLogin()
	code := w.signedInCode(t, w.web, l)
	tok, err := w.web.Exchange(w.ctx, code, oauth2.VerifierOption(l.verifier))
	if err != nil {
		t.Fatal(err)
	}
	r := w.tokenRequest(t, codeForm(code, w.web.RedirectURL, l.verifier), "webapp", w.web.ClientSecret)
	if r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "invalid_grant" || !strings.Contains(string(r.Body), "used already") {
		t.Fatalf("replay: %d %s", r.Status, r.Body)
	}
	if _, err := w.web.TokenSource(w.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Error("the first redemption's refresh token still works")
	}
	at, err := w.s.App.Engine.VerifyAccess(tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.App.Engine.SessionLive(w.ctx, at.SessionID); err == nil {
		t.Error("the first redemption's session is live")
	}
	if _, err := w.provider.UserInfo(w.ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("userinfo answers the revoked session's access token")
	}
}

// TestCodeOfAnotherClient: a code issued to one client is refused to
// another, even one that proves its own identity.
func TestCodeOfAnotherClient(t *testing.T) {
	w := newOIDCWorld(t)
	l := newLogin()
	code := w.signedInCode(t, w.web, l)
	if _, secret, err := w.s.App.Engine.CreateClient(w.ctx, engine.NewClient{ID: "other", RedirectURIs: []string{w.web.RedirectURL}}); err != nil {
		t.Fatal(err)
	} else if r := w.tokenRequest(t, codeForm(code, w.web.RedirectURL, l.verifier), "other", secret); r.Status != http.StatusBadRequest ||
		r.JSON(t)["error"] != "invalid_grant" || !strings.Contains(string(r.Body), "another client") {
		t.Errorf("%d %s", r.Status, r.Body)
	}
	if r := w.tokenRequest(t, codeForm(code, w.spa.RedirectURL, l.verifier), "webapp", w.web.ClientSecret); r.Status != http.StatusBadRequest ||
		!strings.Contains(string(r.Body), "redirect_uri") {
		t.Errorf("another redirect_uri: %d %s", r.Status, r.Body)
	}
}

// TestCodeExpired: a code is good for CodeTTL (60 s) on the gateway's
// clock.
func TestCodeExpired(t *testing.T) {
	w := newOIDCWorld(t)
	l := newLogin()
	code := w.signedInCode(t, w.web, l)
	w.s.Clock.Advance(engine.CodeTTL)
	r := w.tokenRequest(t, codeForm(code, w.web.RedirectURL, l.verifier), "webapp", w.web.ClientSecret)
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "expired") {
		t.Errorf("%d %s", r.Status, r.Body)
	}
	l2 := newLogin()
	code = w.signedInCode(t, w.web, l2)
	w.s.Clock.Advance(engine.CodeTTL - time.Second)
	if r := w.tokenRequest(t, codeForm(code, w.web.RedirectURL, l2.verifier), "webapp", w.web.ClientSecret); r.Status != http.StatusOK {
		t.Errorf("a code %s old: %d %s", engine.CodeTTL-time.Second, r.Status, r.Body)
	}
}

// TestCodeAfterSignOut: a code whose browser sign-in ended before it was
// redeemed is refused.
func TestCodeAfterSignOut(t *testing.T) {
	w := newOIDCWorld(t)
	b := newRPBrowser(t, w)
	l := newLogin()
	code := w.authorize(t, b, w.web, l)
	b.submit(b.get(w.s.URL+"/ui/profile"), "/ui/signout", nil)
	r := w.tokenRequest(t, codeForm(code, w.web.RedirectURL, l.verifier), "webapp", w.web.ClientSecret)
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "sign-in that approved the code has ended") {
		t.Errorf("%d %s", r.Status, r.Body)
	}
}

// TestLogoutOpenRedirect: post_logout_redirect_uri must be registered for
// the client the hint or client_id names; otherwise a page explains and
// nothing redirects, the browser stays signed in.
func TestLogoutOpenRedirect(t *testing.T) {
	w := newOIDCWorld(t)
	b := newRPBrowser(t, w)
	l := newLogin()
	tok, err := w.web.Exchange(w.ctx, w.authorize(t, b, w.web, l), oauth2.VerifierOption(l.verifier))
	if err != nil {
		t.Fatal(err)
	}
	hint := tok.Extra("id_token").(string)
	for name, q := range map[string]url.Values{
		"another site":             {"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://evil.example/"}},
		"another client's page":    {"id_token_hint": {hint}, "post_logout_redirect_uri": {w.rp.URL + "/spa/bye"}},
		"altered":                  {"id_token_hint": {hint}, "post_logout_redirect_uri": {w.rp.URL + "/bye?to=https://evil.example/"}},
		"no client named":          {"post_logout_redirect_uri": {w.rp.URL + "/bye"}},
		"client_id not the hint's": {"id_token_hint": {hint}, "client_id": {"spa"}, "post_logout_redirect_uri": {w.rp.URL + "/spa/bye"}},
		"forged hint":              {"id_token_hint": {hint[:len(hint)-4] + "AAAA"}, "post_logout_redirect_uri": {w.rp.URL + "/bye"}},
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := noFollow(b).Get(w.s.URL + "/oauth2/logout?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			p := b.read(resp)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Errorf("%d, Location %q:\n%.400s", resp.StatusCode, resp.Header.Get("Location"), p.body)
			}
		})
	}
	if p := b.get(w.s.URL + "/ui/profile"); p.url.Path != "/ui/profile" {
		t.Errorf("a refused logout signed the browser out: %s", p.url)
	}
	// Without a hint the user is asked, and a registered URI with
	// client_id is where the answer goes.
	q := url.Values{"client_id": {"webapp"}, "post_logout_redirect_uri": {w.rp.URL + "/bye"}, "state": {"s"}}
	p := b.get(w.s.URL + "/oauth2/logout?" + q.Encode())
	if !strings.Contains(p.body, "Sign out?") {
		t.Fatalf("no confirmation asked:\n%.600s", p.body)
	}
	if got := w.callback(t, b.submit(p, "/ui/logout", url.Values{"decision": {"signout"}}), "/bye"); got.Get("state") != "s" {
		t.Errorf("state %q", got.Get("state"))
	}
	if p := b.get(w.s.URL + "/ui/profile"); p.url.Path != "/ui/signin" {
		t.Errorf("still signed in after confirming: %s", p.url)
	}
}

// TestAuthorizeOtherTenant: a browser signed in to one tenant gets
// access_denied from a client of another; signed out, the sign-in page
// it is sent to is the client's tenant's.
func TestAuthorizeOtherTenant(t *testing.T) {
	w := newOIDCWorld(t)
	if _, err := w.s.App.Engine.CreateTenant(w.ctx, engine.NewTenant{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.s.App.Engine.CreateClient(w.ctx, engine.NewClient{Tenant: "acme", ID: "acme-app", FirstParty: true,
		RedirectURIs: []string{w.rp.URL + "/acme/callback"}}); err != nil {
		t.Fatal(err)
	}
	acme := *w.web
	acme.ClientID, acme.RedirectURL = "acme-app", w.rp.URL+"/acme/callback"
	fresh := newRPBrowser(t, w)
	if p := fresh.get(newLogin().url(&acme)); p.url.Path != "/ui/signin" || p.url.Query().Get("tenant") != "acme" {
		t.Errorf("sign-in for another tenant's client at %s", p.url)
	}
	b := newRPBrowser(t, w)
	w.authorize(t, b, w.web, newLogin()) // signed in to the default tenant
	l := newLogin()
	w.errorAt(t, b, l.url(&acme), "/acme/callback", "access_denied", l.state)
}

// TestOIDCLogsNoSecrets: the access log of a whole flow (the code on the
// callback is the relying party's, the ID token on the logout URL and the
// verifier in the token request are the gateway's to keep out of logs)
// carries none of them.
func TestOIDCLogsNoSecrets(t *testing.T) {
	w := newOIDCWorld(t)
	b := newRPBrowser(t, w)
	l := newLogin()
	code := w.authorize(t, b, w.web, l)
	tok, err := w.web.Exchange(w.ctx, code, oauth2.VerifierOption(l.verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw := tok.Extra("id_token").(string)
	q := url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {w.rp.URL + "/bye"}}
	w.callback(t, b.get(w.s.URL+"/oauth2/logout?"+q.Encode()), "/bye")
	logs := w.s.Logs()
	for name, secret := range map[string]string{"code": code, "verifier": l.verifier, "ID token": raw, "access token": tok.AccessToken,
		"refresh token": tok.RefreshToken, "client secret": w.web.ClientSecret, "password": oidcPassword} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log carries the %s", name)
		}
	}
	if !strings.Contains(logs, "/oauth2/logout?") {
		t.Error("no access line of the logout: the check proves nothing")
	}
}

// TestAuthorizeSeenNotReusable: the time an authorization request was
// first seen, which the sign-in page carries back so that a sign-in after
// it satisfies prompt=login and max_age, speaks for the browser it was
// given to and for a short while only. Whoever sits at a signed-in browser
// can't pass prompt=login with a value taken in another browser, nor with
// one taken in this browser before its user's last sign-in, for a relying
// party whose requests are all alike (no state, nonce or PKCE).
func TestAuthorizeSeenNotReusable(t *testing.T) {
	w := newOIDCWorld(t)
	stateless := w.s.URL + "/oauth2/authorize?" + url.Values{"client_id": {"webapp"}, "redirect_uri": {w.web.RedirectURL},
		"response_type": {"code"}, "scope": {"openid"}, "prompt": {"login"}}.Encode()
	returnTo := func(t *testing.T, b *rpBrowser) string {
		t.Helper()
		p := b.get(stateless)
		ret := p.url.Query().Get("return_to")
		if p.url.Path != "/ui/signin" || !strings.Contains(ret, "tg_seen=") {
			t.Fatalf("prompt=login did not go to the sign-in page with the time seen: %s", p.url)
		}
		return ret
	}
	t.Run("another browser's", func(t *testing.T) {
		ret := returnTo(t, newRPBrowser(t, w)) // the other browser never signs in
		w.s.Clock.Advance(time.Minute)
		b := newRPBrowser(t, w)
		w.authorize(t, b, w.web, newLogin())
		w.s.Clock.Advance(time.Minute)
		if p := b.get(w.s.URL + ret); p.url.Path != "/ui/signin" {
			t.Errorf("prompt=login passed without a sign-in, on another browser's time seen: at %s", p.url)
		}
	})
	t.Run("an old one", func(t *testing.T) {
		b := newRPBrowser(t, w)
		w.authorize(t, b, w.web, newLogin())
		ret := returnTo(t, b) // taken, and left
		w.s.Clock.Advance(8 * time.Minute)
		l := newLogin() // the user signs in again for another request
		w.callback(t, b.signIn(b.get(l.url(w.web, oauth2.SetAuthURLParam("prompt", "login")))), "/callback")
		w.s.Clock.Advance(8 * time.Minute)
		if p := b.get(w.s.URL + ret); p.url.Path != "/ui/signin" {
			t.Errorf("prompt=login passed without a sign-in, on a time seen 16 minutes ago: at %s", p.url)
		}
	})
}

// TestConsentPostKeepsPromptLogin: the consent form's answer is held to
// the authorization endpoint's rule of sign-in too. A signed-in browser's
// user who posts an answer for a request with prompt=login (or an
// exceeded max_age), with the form token any page of the UI carries,
// gets the sign-in page, not a code.
func TestConsentPostKeepsPromptLogin(t *testing.T) {
	w := newOIDCWorld(t)
	b := newRPBrowser(t, w)
	w.authorize(t, b, w.web, newLogin())
	w.authorize(t, b, w.spa, newLogin()) // consented already: only the sign-in is at stake
	w.s.Clock.Advance(10 * time.Minute)
	profile := b.get(w.s.URL + "/ui/profile")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(profile.body)
	if m == nil {
		t.Fatalf("no form token on the profile page:\n%.400s", profile.body)
	}
	for name, opt := range map[string]oauth2.AuthCodeOption{
		"prompt=login": oauth2.SetAuthURLParam("prompt", "login"),
		"max_age=60":   oauth2.SetAuthURLParam("max_age", "60"),
	} {
		for _, c := range []*oauth2.Config{w.spa, w.web} {
			t.Run(name+" "+c.ClientID, func(t *testing.T) {
				u, err := url.Parse(newLogin().url(c, opt))
				if err != nil {
					t.Fatal(err)
				}
				form := u.Query()
				form.Set("csrf", html.UnescapeString(m[1]))
				form.Set("decision", "allow")
				p := b.post(w.s.URL+"/ui/consent", form)
				if p.url.Path != "/ui/signin" {
					t.Errorf("the consent answer for a request asking %s passed without a sign-in: at %s", name, p.url)
				}
			})
		}
	}
	t.Run("after the sign-in asked", func(t *testing.T) {
		l := newLogin()
		p := b.signIn(b.get(l.url(w.spa, oauth2.SetAuthURLParam("prompt", "login consent"))))
		if !strings.Contains(p.body, `action="/ui/consent"`) {
			t.Fatalf("no consent page after the sign-in, at %s:\n%.400s", p.url, p.body)
		}
		q := w.callback(t, b.submit(p, "/ui/consent", url.Values{"decision": {"allow"}}), "/spa/callback")
		if q.Get("code") == "" || q.Get("state") != l.state {
			t.Errorf("callback %v after signing in and consenting", q)
		}
	})
}
