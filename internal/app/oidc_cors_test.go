package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// TestOIDCBrowserAppCORS: a single-page app of a registered redirect
// URI's origin may call the token and userinfo endpoints cross-origin
// (preflight and answer), a page of any other origin may not read them,
// and discovery and the JWKS are readable from anywhere.
func TestOIDCBrowserAppCORS(t *testing.T) {
	w := newOIDCWorld(t)
	appOrigin := w.rp.URL // the spa client's redirect URI is on it
	send := func(method, path, origin string, body url.Values, hdr map[string]string) *http.Response {
		t.Helper()
		var req *http.Request
		if body != nil {
			req, _ = http.NewRequest(method, w.s.URL+path, strings.NewReader(body.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req, _ = http.NewRequest(method, w.s.URL+path, nil)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := w.s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, path := range []string{"/oauth2/token", "/oauth2/userinfo", "/oauth2/revoke"} {
		pre := send("OPTIONS", path, appOrigin, nil, map[string]string{"Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "authorization, content-type"})
		if pre.StatusCode != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != appOrigin ||
			!strings.Contains(pre.Header.Get("Access-Control-Allow-Methods"), "POST") ||
			!strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Authorization") ||
			pre.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("preflight of %s: %d %v", path, pre.StatusCode, pre.Header)
		}
		if evil := send("OPTIONS", path, "https://evil.example", nil, nil); evil.Header.Get("Access-Control-Allow-Origin") != "" ||
			evil.Header.Get("Access-Control-Allow-Methods") != "" {
			t.Errorf("preflight of %s from another origin allowed: %v", path, evil.Header)
		}
	}

	// The app's code redemption, cross-origin, as a public client.
	l := newLogin()
	code := w.authorize(t, newRPBrowser(t, w), w.spa, l)
	form := codeForm(code, w.spa.RedirectURL, l.verifier)
	form.Set("client_id", "spa")
	resp := send("POST", "/oauth2/token", appOrigin, form, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != appOrigin ||
		!strings.Contains(resp.Header.Get("Vary"), "Origin") {
		t.Errorf("token answer: %d %v", resp.StatusCode, resp.Header)
	}
	tok, err := w.spa.Exchange(w.ctx, w.authorize(t, newRPBrowser(t, w), w.spa, l), oauth2.VerifierOption(l.verifier))
	if err != nil {
		t.Fatal(err)
	}
	if r := send("GET", "/oauth2/userinfo", "https://evil.example", nil, map[string]string{"Authorization": "Bearer " + tok.AccessToken}); r.StatusCode != http.StatusOK ||
		r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("userinfo to another origin: %d, ACAO %q", r.StatusCode, r.Header.Get("Access-Control-Allow-Origin"))
	}
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/jwks.json"} {
		if r := send("GET", path, "https://anywhere.example", nil, nil); r.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: ACAO %q", path, r.Header.Get("Access-Control-Allow-Origin"))
		}
	}
	// A client disabled here stops its origin at once.
	if _, err := w.s.App.Engine.DisableClient(w.ctx, "", "spa"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.App.Engine.DisableClient(w.ctx, "", "webapp"); err != nil {
		t.Fatal(err)
	}
	if pre := send("OPTIONS", "/oauth2/token", appOrigin, nil, nil); pre.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("a disabled client's origin is still allowed")
	}
}
