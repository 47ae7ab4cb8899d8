package web

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/idp"
)

// ExternalLogin is what the "Sign in with …" buttons need of the external
// issuers (package idp's Registry implements it).
type ExternalLogin interface {
	LoginIssuers(tenant string) []idp.LoginIssuer
	LoginEndpoints(ctx context.Context, tenant, id string) (idp.LoginIssuer, oauth2.Endpoint, error)
	VerifyIDToken(ctx context.Context, tenant, id, raw, nonce string) (engine.ExternalIdentity, error)
}

var _ ExternalLogin = (*idp.Registry)(nil)

var errExternalFailed = errors.New("the external sign-in failed")

// flowTTL bounds an external sign-in from the button to the callback.
const flowTTL = 10 * time.Minute

// flow is an external sign-in under way. It travels in a cookie sealed
// with AES-GCM under a key of the gateway's, so any node finishes what
// another began, and the browser can neither read nor change it.
type flow struct {
	Issuer   string `json:"i"`
	Tenant   string `json:"t"`
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	ReturnTo string `json:"r"`
	Expires  int64  `json:"e"`
}

func (h *Handler) flowCookie() string {
	if h.secure {
		return "__Host-tokengate_oidc"
	}
	return "tokengate_oidc"
}

// startExternal sends the browser to the issuer's authorization endpoint
// with a fresh state, nonce and PKCE challenge (RFC 7636 §4: S256).
func (h *Handler) startExternal(w http.ResponseWriter, r *http.Request) {
	if h.opts.Login == nil {
		h.notFound(w, r)
		return
	}
	tenant := cleanTenant(r.PostForm.Get("tenant"))
	li, ep, err := h.opts.Login.LoginEndpoints(r.Context(), tenant, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	f := flow{Issuer: li.ID, Tenant: tenant, State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier(),
		ReturnTo: safeReturn(r.PostForm.Get("return_to")), Expires: time.Now().Add(flowTTL).Unix()}
	sealed, err := h.seal(f)
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	h.setCookie(w, h.flowCookie(), sealed, int(flowTTL/time.Second))
	conf := h.oauthConfig(li, ep)
	http.Redirect(w, r, conf.AuthCodeURL(f.State, oauth2.S256ChallengeOption(f.Verifier), oauth2.SetAuthURLParam("nonce", f.Nonce)), http.StatusSeeOther)
}

func (h *Handler) oauthConfig(li idp.LoginIssuer, ep oauth2.Endpoint) *oauth2.Config {
	return &oauth2.Config{ClientID: li.ClientID, ClientSecret: li.ClientSecret, Endpoint: ep,
		RedirectURL: h.opts.PublicURL + "/ui/signin/oidc/callback", Scopes: []string{"openid", "email", "profile"}}
}

// finishExternal is the redirect back from the issuer (a GET, as OAuth
// 2.0 has it; RFC 6749 §4.1.2). It changes state only for a request that
// carries the state this browser's sealed flow cookie holds, and the code
// is redeemed with the PKCE verifier only this server knows, so a forged
// callback signs no one in.
func (h *Handler) finishExternal(w http.ResponseWriter, r *http.Request) {
	if h.opts.Login == nil {
		h.notFound(w, r)
		return
	}
	c, err := r.Cookie(h.flowCookie())
	h.setCookie(w, h.flowCookie(), "", -1) // one use
	if err != nil {
		h.fail(w, r, nil, errExternalFailed)
		return
	}
	var f flow
	if err := h.unseal(c.Value, &f); err != nil || time.Now().Unix() > f.Expires {
		h.fail(w, r, nil, errExternalFailed)
		return
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1 {
		h.log.InfoContext(r.Context(), "web: external sign-in refused", "reason", "state")
		h.fail(w, r, nil, errExternalFailed)
		return
	}
	if e := q.Get("error"); e != "" || q.Get("code") == "" {
		h.log.InfoContext(r.Context(), "web: external sign-in refused", "reason", "issuer error", "error", truncateASCII(e, 64))
		h.fail(w, r, nil, errExternalFailed)
		return
	}
	li, ep, err := h.opts.Login.LoginEndpoints(r.Context(), f.Tenant, f.Issuer)
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	ctx := context.WithValue(r.Context(), oauth2.HTTPClient, h.opts.HTTPClient)
	tok, err := h.oauthConfig(li, ep).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(f.Verifier))
	if err != nil {
		h.log.InfoContext(r.Context(), "web: external sign-in refused", "reason", "code exchange", "err", err)
		h.fail(w, r, nil, errExternalFailed)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := h.opts.Login.VerifyIDToken(r.Context(), f.Tenant, f.Issuer, raw, f.Nonce)
	if err != nil {
		h.fail(w, r, nil, errors.Join(errExternalFailed, err))
		return
	}
	b, err := h.eng.SignInBrowserExternal(r.Context(), f.Tenant, f.Issuer, id)
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	h.startBrowser(w, r, b, f.ReturnTo)
}

func (h *Handler) seal(f flow) (string, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return "", err
	}
	aead, err := h.aead()
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, b, []byte("flow"))), nil
}

func (h *Handler) unseal(s string, f *flow) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	aead, err := h.aead()
	if err != nil {
		return err
	}
	if len(b) < aead.NonceSize() {
		return errExternalFailed
	}
	plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], []byte("flow"))
	if err != nil {
		return err
	}
	return json.Unmarshal(plain, f)
}

func (h *Handler) aead() (cipher.AEAD, error) {
	block, err := aes.NewCipher(h.subKey("external sign-in state"))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func defaultHTTPClient() *http.Client { return &http.Client{Timeout: 10 * time.Second} }

// truncateASCII keeps a short, printable prefix of an issuer's error code
// for the log.
func truncateASCII(s string, n int) string {
	out := make([]byte, 0, n)
	for i := 0; i < len(s) && len(out) < n; i++ {
		if s[i] >= 0x20 && s[i] < 0x7f {
			out = append(out, s[i])
		}
	}
	return string(out)
}
