package app_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/internal/app/apptest"
)

// TestOIDCWireShapes records the new wire shapes in golden files: the
// authorization code grant's token response, the ID token's claims,
// userinfo and its refusals, the token endpoint's refusal of a replayed
// code, and the authorization endpoint's answers as the redirect URI
// receives them.
func TestOIDCWireShapes(t *testing.T) {
	w := newOIDCWorld(t)
	gold := w.s.GoldenResponses(t, "oidc")
	b := newRPBrowser(t, w)
	l := login{state: "state-1", nonce: "nonce-1", verifier: oauth2.GenerateVerifier()}
	p := b.signIn(b.get(l.url(w.web)))
	q := w.callback(t, p, "/callback")
	gold.Add("authorize answer (query)", queryShape(q))
	code := q.Get("code")

	r := w.tokenRequest(t, codeForm(code, w.web.RedirectURL, l.verifier), "webapp", w.web.ClientSecret)
	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	gold.Add("token: authorization_code grant", r)
	tok := r.JSON(t)
	gold.Add("ID token claims", apptest.Response{Status: 200, Header: http.Header{}, Body: jwtPayload(t, tok["id_token"].(string))})
	gold.Add("ID token header", apptest.Response{Status: 200, Header: http.Header{}, Body: jwtHeader(t, tok["id_token"].(string))})

	gold.Add("token: refresh of a code's session", w.tokenRequest(t, url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {tok["refresh_token"].(string)}}, "webapp", w.web.ClientSecret))
	bearer := map[string]string{"Authorization": "Bearer " + tok["access_token"].(string)}
	gold.Add("userinfo", w.s.Do(t, "GET", "/oauth2/userinfo", bearer, ""))
	gold.Add("userinfo without a token", w.s.Do(t, "GET", "/oauth2/userinfo", nil, ""))
	gold.Add("userinfo with a bad token", w.s.Do(t, "GET", "/oauth2/userinfo", map[string]string{"Authorization": "Bearer nonsense"}, ""))
	gold.Add("userinfo PUT", w.s.Do(t, "PUT", "/oauth2/userinfo", bearer, ""))
	gold.Add("token: code replayed", w.tokenRequest(t, codeForm(code, w.web.RedirectURL, l.verifier), "webapp", w.web.ClientSecret))

	none := login{state: "state-2", nonce: "n", verifier: l.verifier}
	q = w.callback(t, newRPBrowser(t, w).get(none.url(w.web, oauth2.SetAuthURLParam("prompt", "none"))), "/callback")
	gold.Add("authorize error (prompt=none, no sign-in)", queryShape(q))

	// form_post: the page's form, its fields and its CSP.
	fp := login{state: "state-3", nonce: "n", verifier: l.verifier}
	resp, err := b.c.Get(fp.url(w.web, oauth2.SetAuthURLParam("response_mode", "form_post")))
	if err != nil {
		t.Fatal(err)
	}
	page := b.read(resp)
	if !strings.Contains(page.body, `action="`+w.web.RedirectURL+`"`) || !strings.Contains(page.body, `name="state" value="state-3"`) ||
		!strings.Contains(page.body, `name="code"`) || !strings.Contains(page.body, "data-autosubmit") {
		t.Errorf("form_post page:\n%s", page.body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action "+w.rp.URL) || strings.Contains(csp, "form-action 'self'") {
		t.Errorf("form_post CSP %q", csp)
	}
}

// queryShape records a redirect's query as a response body.
func queryShape(q url.Values) apptest.Response {
	m := map[string]string{}
	for k := range q {
		m[k] = q.Get(k)
	}
	if m["code"] != "" {
		m["code"] = "<code>" // random
	}
	body, _ := json.Marshal(m)
	return apptest.Response{Status: http.StatusSeeOther, Header: http.Header{}, Body: body}
}

func jwtPart(t *testing.T, tok string, i int) []byte {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jwtHeader(t *testing.T, tok string) []byte  { return jwtPart(t, tok, 0) }
func jwtPayload(t *testing.T, tok string) []byte { return jwtPart(t, tok, 1) }
