package idptest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// The issuer's authorization code flow (OpenID Connect Core 1.0 §3.1)
// with PKCE (RFC 7636), for browser sign-in tests: /authorize signs in
// the user set with LoginAs at once, as if they had entered their
// password, and sends the browser back with a code; /token redeems the
// code, once, for an ID token, checking the client, the redirect URI and
// the code verifier.

type authClient struct {
	secret, redirect string
}

type authCode struct {
	client, redirect, challenge, nonce, sub string
	claims                                  map[string]any
}

type authFlow struct {
	mu      sync.Mutex
	clients map[string]authClient
	codes   map[string]authCode
	sub     string
	claims  map[string]any
	// Redeemed counts codes exchanged for tokens.
	redeemed int
}

// Client registers an OAuth 2.0 client of the issuer: its secret ("" for
// a public client) and its one redirect URI.
func (is *Issuer) Client(id, secret, redirect string) {
	is.flow.mu.Lock()
	defer is.flow.mu.Unlock()
	is.flow.clients[id] = authClient{secret: secret, redirect: redirect}
}

// LoginAs sets who signs in at the authorization endpoint from now on;
// claims are added to (or override) the ID token's claims.
func (is *Issuer) LoginAs(sub string, claims map[string]any) {
	is.flow.mu.Lock()
	defer is.flow.mu.Unlock()
	is.flow.sub, is.flow.claims = sub, claims
}

// Redeemed returns how many codes were exchanged for tokens.
func (is *Issuer) Redeemed() int {
	is.flow.mu.Lock()
	defer is.flow.mu.Unlock()
	return is.flow.redeemed
}

func (is *Issuer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := &is.flow
	f.mu.Lock()
	c, ok := f.clients[q.Get("client_id")]
	sub, claims := f.sub, f.claims
	f.mu.Unlock()
	if !ok || q.Get("redirect_uri") != c.redirect {
		http.Error(w, "unknown client or redirect_uri", http.StatusBadRequest)
		return
	}
	back, _ := url.Parse(c.redirect)
	v := back.Query()
	v.Set("state", q.Get("state"))
	switch {
	case q.Get("response_type") != "code":
		v.Set("error", "unsupported_response_type")
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		v.Set("error", "invalid_request")
	case sub == "":
		v.Set("error", "access_denied")
	default:
		code := randomCode()
		f.mu.Lock()
		f.codes[code] = authCode{client: q.Get("client_id"), redirect: c.redirect, challenge: q.Get("code_challenge"),
			nonce: q.Get("nonce"), sub: sub, claims: claims}
		f.mu.Unlock()
		v.Set("code", code)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (is *Issuer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request")
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	f := &is.flow
	f.mu.Lock()
	c, known := f.clients[id]
	code, found := f.codes[r.PostForm.Get("code")]
	delete(f.codes, r.PostForm.Get("code")) // a code is used once
	if found {
		f.redeemed++
	}
	f.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	switch {
	case !known || subtle.ConstantTimeCompare([]byte(secret), []byte(c.secret)) != 1:
		tokenError(w, "invalid_client")
	case r.PostForm.Get("grant_type") != "authorization_code" || !found || code.client != id ||
		r.PostForm.Get("redirect_uri") != code.redirect || challenge != code.challenge:
		tokenError(w, "invalid_grant")
	default:
		now := time.Now().Unix()
		claims := map[string]any{"iss": is.URL, "sub": code.sub, "aud": id, "iat": now, "exp": now + 300, "nonce": code.nonce}
		for k, v := range code.claims {
			claims[k] = v
		}
		tok := MintWith(nil, is.Current(), claims)
		writeJSON(w, map[string]any{"access_token": randomCode(), "token_type": "Bearer", "expires_in": 300, "id_token": tok})
	}
}

func tokenError(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write([]byte(`{"error":"` + code + `"}`))
}

func randomCode() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
