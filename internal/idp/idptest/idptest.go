// Package idptest runs a local OpenID Connect issuer on loopback for tests:
// discovery, a JWKS of its own keys, and token minting with go-jose,
// including the malformed tokens a verifier must refuse.
package idptest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Key is a signing key of the issuer.
type Key struct {
	ID      string
	Alg     jose.SignatureAlgorithm
	Private crypto.Signer
}

// Issuer is a running local OIDC issuer.
type Issuer struct {
	URL string
	srv *httptest.Server

	mu        sync.Mutex
	current   Key
	published []Key
	n         int
	// JWKSFetches counts requests of the JWKS document.
	JWKSFetches atomic.Int64
	flow        authFlow // authcode.go
}

// New starts an issuer with one RS256 key; it stops when the test ends.
func New(t testing.TB) *Issuer {
	t.Helper()
	is := &Issuer{flow: authFlow{clients: map[string]authClient{}, codes: map[string]authCode{}}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", is.authorize)
	mux.HandleFunc("POST /token", is.token)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{
			"issuer":                                is.URL,
			"authorization_endpoint":                is.URL + "/authorize",
			"token_endpoint":                        is.URL + "/token",
			"jwks_uri":                              is.URL + "/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		is.JWKSFetches.Add(1)
		is.mu.Lock()
		defer is.mu.Unlock()
		var set jose.JSONWebKeySet
		for _, k := range is.published {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Private.Public(), KeyID: k.ID, Algorithm: string(k.Alg), Use: "sig"})
		}
		writeJSON(w, set)
	})
	is.srv = httptest.NewServer(mux)
	is.URL = is.srv.URL
	t.Cleanup(is.srv.Close)
	is.Rotate(t, jose.RS256)
	return is
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// NewKey makes a key of alg (RS256 or ES256) without publishing it.
func (is *Issuer) NewKey(t testing.TB, alg jose.SignatureAlgorithm) Key {
	t.Helper()
	is.mu.Lock()
	is.n++
	kid := fmt.Sprintf("k%d", is.n)
	is.mu.Unlock()
	var priv crypto.Signer
	var err error
	switch alg {
	case jose.RS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		t.Fatalf("idptest: unsupported alg %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return Key{ID: kid, Alg: alg, Private: priv}
}

// Rotate makes a new current key of alg and publishes only it, as an
// issuer that rotated its keys.
func (is *Issuer) Rotate(t testing.TB, alg jose.SignatureAlgorithm) Key {
	k := is.NewKey(t, alg)
	is.mu.Lock()
	defer is.mu.Unlock()
	is.current, is.published = k, []Key{k}
	return k
}

// Current returns the key tokens are signed with.
func (is *Issuer) Current() Key {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.current
}

// Mint signs claims with the current key.
func (is *Issuer) Mint(t testing.TB, claims map[string]any) string {
	return MintWith(t, is.Current(), claims)
}

// MintWith signs claims with k. t may be nil (in a handler), where a
// failure panics.
func MintWith(t testing.TB, k Key, claims map[string]any) string {
	if t == nil {
		t = panicTB{}
	}
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: k.Alg, Key: jose.JSONWebKey{Key: k.Private, KeyID: k.ID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// MintNone returns an unsigned token (alg "none").
func MintNone(t testing.TB, kid string, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT", "kid": kid})
	p, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(p) + "."
}

// MintHS256WithPublicKey returns a token "signed" with HS256 using k's
// public key (DER) as the HMAC secret: the classic algorithm confusion.
func MintHS256WithPublicKey(t testing.TB, k Key, claims map[string]any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k.Private.Public())
	if err != nil {
		t.Fatal(err)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: jose.JSONWebKey{Key: der, KeyID: k.ID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// panicTB is the testing.TB of a handler that mints: a failure panics,
// which net/http turns into a failed request.
type panicTB struct{ testing.TB }

func (panicTB) Helper()                   {}
func (panicTB) Fatal(args ...any)         { panic(fmt.Sprint(args...)) }
func (panicTB) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
