package web_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/internal/engine"
)

// relyingParty is a web application on loopback that signs its users in
// with tokengate as its OpenID Connect provider, as a real one does:
// x/oauth2 with PKCE, go-oidc verifying the ID token (nonce, at_hash)
// through discovery, and RP-initiated logout with the ID token as hint.
type relyingParty struct {
	srv      *httptest.Server
	conf     *oauth2.Config
	verifier *oidc.IDTokenVerifier
	endSess  string

	mu      sync.Mutex
	pending map[string]rpLogin // by state
	idToken string             // of the last sign-in
	refresh string
	err     error
}

type rpLogin struct{ nonce, verifier string }

func newRelyingParty(t *testing.T, g *gateway, clientID, secret string, redirect string) *relyingParty {
	t.Helper()
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, g.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := provider.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	rp := &relyingParty{endSess: meta.EndSession, pending: map[string]rpLogin{},
		verifier: provider.Verifier(&oidc.Config{ClientID: clientID, Now: g.Clock.Now}),
		conf: &oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: redirect,
			Scopes: []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}}}
	rp.srv = httptest.NewUnstartedServer(http.HandlerFunc(rp.serve))
	return rp
}

func randomText() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (rp *relyingParty) serve(w http.ResponseWriter, r *http.Request) {
	page := func(title, body string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>%s</title></head><body><main><h1>%s</h1>%s</main></body></html>`,
			html.EscapeString(title), html.EscapeString(title), body)
	}
	switch r.URL.Path {
	case "/login":
		state, l := randomText(), rpLogin{nonce: randomText(), verifier: oauth2.GenerateVerifier()}
		rp.mu.Lock()
		rp.pending[state] = l
		rp.mu.Unlock()
		http.Redirect(w, r, rp.conf.AuthCodeURL(state, oidc.Nonce(l.nonce), oauth2.S256ChallengeOption(l.verifier)), http.StatusFound)
	case "/callback":
		rp.mu.Lock()
		l, ok := rp.pending[r.URL.Query().Get("state")]
		delete(rp.pending, r.URL.Query().Get("state"))
		rp.mu.Unlock()
		if !ok {
			page("Unknown state", "")
			return
		}
		if e := r.URL.Query().Get("error"); e != "" {
			page("Sign-in refused", "<p id=error>"+html.EscapeString(e)+"</p>")
			return
		}
		tok, err := rp.conf.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(l.verifier))
		if err == nil {
			var idt *oidc.IDToken
			raw, _ := tok.Extra("id_token").(string)
			if idt, err = rp.verifier.Verify(r.Context(), raw); err == nil {
				if idt.Nonce != l.nonce {
					err = fmt.Errorf("nonce %q, want %q", idt.Nonce, l.nonce)
				} else if err = idt.VerifyAccessToken(tok.AccessToken); err == nil {
					var c struct {
						Name string `json:"preferred_username"`
					}
					_ = idt.Claims(&c)
					rp.mu.Lock()
					rp.idToken, rp.refresh = raw, tok.RefreshToken
					rp.mu.Unlock()
					page("Welcome", "<p id=who>"+html.EscapeString(c.Name)+"</p>")
					return
				}
			}
		}
		rp.mu.Lock()
		rp.err = err
		rp.mu.Unlock()
		page("Sign-in failed", "<p id=error>"+html.EscapeString(err.Error())+"</p>")
	case "/logout":
		rp.mu.Lock()
		hint := rp.idToken
		rp.mu.Unlock()
		q := url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {rp.srv.URL + "/bye"}, "state": {"bye"}}
		http.Redirect(w, r, rp.endSess+"?"+q.Encode(), http.StatusFound)
	case "/bye":
		page("Signed out", "<p id=state>"+html.EscapeString(r.URL.Query().Get("state"))+"</p>")
	default:
		http.NotFound(w, r)
	}
}

// TestBrowserOIDC walks a relying party's sign-in in Chromium: the
// application sends the browser to tokengate, the UI's sign-in page and
// the consent page (in words, passing axe) take it, the application
// verifies the ID token and greets the user, the profile lists the
// consent, and the application's logout ends the sign-in and returns.
func TestBrowserOIDC(t *testing.T) {
	axe := axeSource(t)
	root := chrome(t)
	dir := artifacts(t)
	g := newGateway(t, nil)
	ctx := context.Background()
	g.user(t, "alice", "alice-password", true, false)

	// The application's address is its redirect URI's, so the server is
	// created before the client is registered and started after.
	rp := newRelyingParty(t, g, "printer", "", "")
	rp.srv.Start()
	t.Cleanup(rp.srv.Close)
	rp.conf.RedirectURL = rp.srv.URL + "/callback"
	if _, _, err := g.App.Engine.CreateClient(ctx, engine.NewClient{ID: "printer", Name: "Photo Printer", Public: true,
		RedirectURIs: []string{rp.conf.RedirectURL}, PostLogoutRedirectURIs: []string{rp.srv.URL + "/bye"}}); err != nil {
		t.Fatal(err)
	}

	// The administrator sees and edits the client's sign-in settings.
	admin := tab(t, root)
	signInByKeyboard(t, admin, g, "admin", adminPassword)
	for _, path := range []string{"/ui/admin/clients", "/ui/admin/clients/printer"} {
		do(t, admin, path, chromedp.Navigate(g.URL+path), chromedp.WaitVisible(chromedp.CSS("main h1")))
		accessible(t, admin, axe, "admin "+path)
	}
	if got := run(t, admin, "redirect URIs", chromedp.Value(chromedp.ID("c-redirects"))); got != rp.conf.RedirectURL {
		t.Errorf("the client page shows redirect URIs %q", got)
	}
	shot(t, admin, dir, "admin-client")

	user := tab(t, root)
	do(t, user, "the application's sign-in", chromedp.Navigate(rp.srv.URL+"/login"), chromedp.WaitVisible(chromedp.ID("username")))
	accessible(t, user, axe, "sign-in for an application")
	do(t, user, "sign in", chromedp.SendKeys(chromedp.ID("username"), "alice"), chromedp.SendKeys(chromedp.ID("password"), "alice-password"),
		chromedp.Submit(chromedp.ID("password")), chromedp.WaitVisible(chromedp.CSS(`button[value="allow"]`)))
	if got := text(t, user, "h1"); got != "Allow Photo Printer?" {
		t.Errorf("consent page heading %q", got)
	}
	if got := text(t, user, "ul.scopes"); !contains(got, "See your e-mail address.", "Stay connected while you are away") {
		t.Errorf("consent page scopes: %q", got)
	}
	accessible(t, user, axe, "consent")
	shot(t, user, dir, "consent")
	do(t, user, "allow", chromedp.Click(chromedp.CSS(`button[value="allow"]`)), chromedp.WaitVisible(chromedp.ID("who")))
	rp.mu.Lock()
	rpErr := rp.err
	rp.mu.Unlock()
	if got := text(t, user, "#who"); got != "alice" || rpErr != nil {
		t.Fatalf("the application greets %q (error %v)", got, rpErr)
	}

	// The profile lists the application the user allowed.
	do(t, user, "profile", chromedp.Navigate(g.URL+"/ui/profile"), chromedp.WaitVisible(chromedp.ID("consents-h")))
	if got := text(t, user, `tr[data-consent="printer"]`); !contains(got, "Photo Printer") {
		t.Errorf("consent row %q", got)
	}
	accessible(t, user, axe, "profile with a consent")

	// A second sign-in passes through (consent remembered).
	do(t, user, "sign in again", chromedp.Navigate(rp.srv.URL+"/login"), chromedp.WaitVisible(chromedp.ID("who")))

	// The application's logout: back at its page with state, signed out.
	do(t, user, "logout", chromedp.Navigate(rp.srv.URL+"/logout"), chromedp.WaitVisible(chromedp.ID("state")))
	if got := text(t, user, "#state"); got != "bye" {
		t.Errorf("post-logout state %q", got)
	}
	do(t, user, "profile after logout", chromedp.Navigate(g.URL+"/ui/profile"), chromedp.WaitVisible(chromedp.ID("username")))
	rp.mu.Lock()
	refresh := rp.refresh
	rp.mu.Unlock()
	if _, err := rp.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: refresh}).Token(); err == nil {
		t.Error("the application's refresh token works after logout")
	}

	// A first-party confidential application: no consent, the sign-in
	// form's answer redirects straight to the application (which the
	// sign-in page's form-action must allow).
	own := newRelyingParty(t, g, "intranet", "", "")
	own.srv.Start()
	t.Cleanup(own.srv.Close)
	own.conf.RedirectURL = own.srv.URL + "/callback"
	_, secret, err := g.App.Engine.CreateClient(ctx, engine.NewClient{ID: "intranet", Name: "Intranet", FirstParty: true,
		RedirectURIs: []string{own.conf.RedirectURL}, PostLogoutRedirectURIs: []string{own.srv.URL + "/bye"}})
	if err != nil {
		t.Fatal(err)
	}
	own.conf.ClientSecret = secret
	do(t, user, "first-party sign-in", chromedp.Navigate(own.srv.URL+"/login"), chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "alice"), chromedp.SendKeys(chromedp.ID("password"), "alice-password"),
		chromedp.Submit(chromedp.ID("password")), chromedp.WaitVisible(chromedp.ID("who")))
	if got := text(t, user, "#who"); got != "alice" {
		t.Errorf("the first-party application greets %q", got)
	}
}

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
