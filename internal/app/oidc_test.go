package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestOIDCRelyingParty is the walk of a real relying party: x/oauth2 with
// a PKCE verifier, a browser that follows the redirects and fills the
// sign-in form, go-oidc verifying the ID token through discovery (its
// nonce and at_hash too), the refresh token rotating, userinfo, and
// RP-initiated logout ending the browser's sign-in and the session the
// code started.
func TestOIDCRelyingParty(t *testing.T) {
	w := newOIDCWorld(t)
	b := newRPBrowser(t, w)
	l := newLogin()
	code := w.authorize(t, b, w.web, l)

	tok, err := w.web.Exchange(w.ctx, code, oauth2.VerifierOption(l.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" || tok.RefreshToken == "" || tok.AccessToken == "" {
		t.Fatalf("token response lacks a token: id %t refresh %t", raw != "", tok.RefreshToken != "")
	}
	idt, err := w.verifier("webapp").Verify(w.ctx, raw)
	if err != nil {
		t.Fatalf("go-oidc refused the ID token: %v", err)
	}
	if idt.Nonce != l.nonce {
		t.Errorf("nonce %q, want %q", idt.Nonce, l.nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var claims struct {
		Sub               string `json:"sub"`
		AuthTime          int64  `json:"auth_time"`
		Sid               string `json:"sid"`
		Azp               string `json:"azp"`
		PreferredUsername string `json:"preferred_username"`
		Name              string `json:"name"`
		Email             string `json:"email"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	u, err := w.s.App.Engine.User(w.ctx, "", oidcUser)
	if err != nil {
		t.Fatal(err)
	}
	if claims.Sub != u.ID || claims.AuthTime == 0 || claims.Sid == "" || claims.Azp != "webapp" ||
		claims.PreferredUsername != oidcUser || claims.Name != "Alice Liddell" || claims.Email != "alice@example.test" {
		t.Errorf("ID token claims %+v (user id %s)", claims, u.ID)
	}
	if at, err := w.s.App.Engine.VerifyAccess(tok.AccessToken); err != nil || at.Subject != idt.Subject || at.ClientID != "webapp" {
		t.Errorf("access token: %v, %+v", err, at)
	}

	// userinfo, through go-oidc.
	info, err := w.provider.UserInfo(w.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if info.Subject != idt.Subject || info.Email != "alice@example.test" {
		t.Errorf("userinfo %+v", info)
	}

	// The refresh token is an engine session's: it rotates.
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	next, err := w.web.TokenSource(w.ctx, &expired).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken || next.AccessToken == tok.AccessToken {
		t.Errorf("refresh did not rotate")
	}
	// It carries a new ID token (OIDC Core §12.2), as Sync Gateway's
	// _oidc_refresh wants: same sub and auth_time, no nonce.
	rawNext, _ := next.Extra("id_token").(string)
	idNext, err := w.verifier("webapp").Verify(w.ctx, rawNext)
	if err != nil {
		t.Fatalf("the refresh's ID token: %v", err)
	}
	var nextClaims struct {
		AuthTime int64 `json:"auth_time"`
	}
	_ = idNext.Claims(&nextClaims)
	if idNext.Subject != idt.Subject || idNext.Nonce != "" || nextClaims.AuthTime != claims.AuthTime || idNext.VerifyAccessToken(next.AccessToken) != nil {
		t.Errorf("the refresh's ID token: sub %s nonce %q auth_time %d (first %d)", idNext.Subject, idNext.Nonce, nextClaims.AuthTime, claims.AuthTime)
	}

	// RP-initiated logout with the ID token as hint: no question asked,
	// back to the registered page with state.
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := w.provider.Claims(&meta); err != nil || meta.EndSession == "" {
		t.Fatalf("discovery's end_session_endpoint: %v %q", err, meta.EndSession)
	}
	q := url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {w.rp.URL + "/bye"}, "state": {"bye-state"}}
	p := b.get(meta.EndSession + "?" + q.Encode())
	if got := w.callback(t, p, "/bye"); got.Get("state") != "bye-state" {
		t.Errorf("post-logout state %q", got.Get("state"))
	}
	// The browser is signed out, and the session the code started ended.
	if p := b.get(w.s.URL + "/ui/profile"); p.url.Path != "/ui/signin" {
		t.Errorf("after logout the profile is at %s", p.url)
	}
	if _, err := w.web.TokenSource(w.ctx, &oauth2.Token{RefreshToken: next.RefreshToken}).Token(); err == nil {
		t.Error("the refresh token works after logout")
	}
}

// TestOIDCConsent: a third-party public client gets a consent page naming
// its scopes in words; the consent is remembered, so the next request
// passes through; withdrawn, it is asked again and the sessions it allowed
// end. Deny sends access_denied with state.
func TestOIDCConsent(t *testing.T) {
	w := newOIDCWorld(t)
	b := newRPBrowser(t, w)
	l := newLogin()
	p := b.signIn(b.get(l.url(w.spa)))
	if p.url.Path != "/oauth2/authorize" || !strings.Contains(p.body, "Photo Printer") ||
		!strings.Contains(p.body, "See your e-mail address.") || !strings.Contains(p.body, "Stay connected while you are away") {
		t.Fatalf("consent page at %s:\n%s", p.url, p.body)
	}
	p = b.submit(p, "/ui/consent", url.Values{"decision": {"allow"}})
	q := w.callback(t, p, "/spa/callback")
	tok, err := w.spa.Exchange(w.ctx, q.Get("code"), oauth2.VerifierOption(l.verifier))
	if err != nil {
		t.Fatalf("public client exchange: %v", err)
	}
	if _, err := w.verifier("spa").Verify(w.ctx, tok.Extra("id_token").(string)); err != nil {
		t.Fatal(err)
	}

	// Remembered: straight back with a code.
	w.authorize(t, b, w.spa, newLogin())
	// prompt=consent asks again all the same.
	l2 := newLogin()
	if p := b.get(l2.url(w.spa, oauth2.SetAuthURLParam("prompt", "consent"))); !strings.Contains(p.body, `action="/ui/consent"`) {
		t.Errorf("prompt=consent did not ask: %s", p.url)
	}

	// Withdrawn on the profile page: the refresh token stops, and the
	// next request asks again.
	p = b.get(w.s.URL + "/ui/profile")
	if !strings.Contains(p.body, "Applications you allowed") || !strings.Contains(p.body, "Photo Printer") {
		t.Fatalf("profile lacks the consent:\n%s", p.body)
	}
	p = b.submit(p, "/ui/profile/consents/spa/revoke", nil)
	if strings.Contains(p.body, `name="confirm"`) || strings.Contains(p.body, "Withdraw your consent?") {
		p = b.submit(p, "/ui/profile/consents/spa/revoke", url.Values{"confirm": {"yes"}})
	}
	if !strings.Contains(p.body, "Your consent was withdrawn") {
		t.Fatalf("withdrawing: %s\n%.600s", p.url, p.body)
	}
	if _, err := w.spa.TokenSource(w.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Error("the refresh token works after the consent was withdrawn")
	}
	l3 := newLogin()
	p = b.get(l3.url(w.spa))
	if !strings.Contains(p.body, `action="/ui/consent"`) {
		t.Fatalf("not asked again after withdrawal: %s", p.url)
	}
	p = b.submit(p, "/ui/consent", url.Values{"decision": {"deny"}})
	if q := w.callback(t, p, "/spa/callback"); q.Get("error") != "access_denied" || q.Get("state") != l3.state || q.Get("code") != "" {
		t.Errorf("deny: %v", q)
	}
}

// TestOIDCNoOfflineAccess: without offline_access there is no refresh
// token, and the access token still works until it expires.
func TestOIDCNoOfflineAccess(t *testing.T) {
	w := newOIDCWorld(t)
	c := *w.web
	c.Scopes = []string{oidc.ScopeOpenID}
	l := newLogin()
	code := w.authorize(t, newRPBrowser(t, w), &c, l)
	r := w.tokenRequest(t, codeForm(code, c.RedirectURL, l.verifier), "webapp", c.ClientSecret)
	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	if m["refresh_token"] != nil || m["id_token"] == nil || m["scope"] != "openid" {
		t.Errorf("token response %s", r.Body)
	}
}
