package app_test

// The adversarial suite: one test per attack on tokens and sign-on, each
// over real HTTP against a whole gateway (every dialect and a proxy
// route), asserting the status and body every surface must answer.
// docs/SECURITY.md lists which guarantee each test proves.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/token"
)

const advPassword = "alice-pass-1"

// adversary is a gateway with every dialect, a proxy route /api/ to an
// upstream that counts its calls, the users alice (default tenant) and
// carol (tenant acme), a confidential client for introspection, and the
// gateway's own signing key, which the tests use to sign tokens with
// claims or headers the gateway itself never writes.
type adversary struct {
	*apptest.Server
	t        *testing.T
	upstream atomic.Int64
	kid      string
	alg      string
	priv     crypto.Signer
	pkix     []byte
	rsSecret string
}

func newAdversary(t *testing.T) *adversary {
	t.Helper()
	a := &adversary{t: t}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.upstream.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"upstream":true}`))
	}))
	t.Cleanup(up.Close)
	a.Server = apptest.New(t, func(c *config.Config) {
		c.Proxy.Routes = []config.ProxyRoute{{Prefix: "/api/", Upstream: up.URL + "/"}}
		apptest.NoThrottle(c)
	})
	ctx := context.Background()
	e := a.App.Engine
	if _, err := e.CreateTenant(ctx, engine.NewTenant{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	a.User(t, "", "alice", advPassword, true)
	a.User(t, "acme", "carol", advPassword, true)
	_, secret, err := e.CreateClient(ctx, engine.NewClient{ID: "rs", GrantTypes: []string{"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	a.rsSecret = secret
	// The gateway's current signing key, opened as the node opens it.
	master, _, err := token.LoadOrCreateMasterKey("", a.App.Config.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := token.NewSealer(master)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := engine.KeyStore(a.App.Store).ListKeys(ctx)
	if err != nil || len(recs) != 1 {
		t.Fatalf("keys %v, %v", recs, err)
	}
	der, err := sealer.Open(recs[0].PrivateSealed, []byte(recs[0].ID))
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	a.kid, a.alg, a.priv, a.pkix = recs[0].ID, recs[0].Alg, k.(crypto.Signer), recs[0].Public
	// The harness's own check: a token it signs with the claims the
	// gateway writes passes everywhere, so a refusal below is the attack's.
	a.acceptedEverywhere(a.sign(a.header(nil), a.claims(nil)))
	return a
}

// signOn signs alice on with the OAuth 2.0 password grant.
func (a *adversary) signOn() (access, refresh string) {
	a.t.Helper()
	r := a.Send(a.t, apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"password"},
		"client_id": {engine.DefaultClientID}, "username": {"alice"}, "password": {advPassword}}})
	if r.Status != http.StatusOK {
		a.t.Fatalf("sign-on: %d %s", r.Status, r.Body)
	}
	m := r.JSON(a.t)
	return m["access_token"].(string), m["refresh_token"].(string)
}

// claims are those of an access token the gateway would mint for alice
// now, with mod applied (a nil value deletes the claim).
func (a *adversary) claims(mod map[string]any) map[string]any {
	a.t.Helper()
	acc, _ := a.signOn()
	c := apptest.Claims(a.t, acc)
	for k, v := range mod {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// header is the gateway's own header for its key, with mod applied.
func (a *adversary) header(mod map[string]any) map[string]any {
	h := map[string]any{"alg": a.alg, "kid": a.kid, "typ": token.TypeAccess}
	for k, v := range mod {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	return h
}

func b64j(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// sign signs a compact JWS over header and claims with the gateway's key.
func (a *adversary) sign(header, claims map[string]any) string {
	return signJWS(a.t, a.priv, b64j(a.t, header)+"."+b64j(a.t, claims))
}

// signJWS signs input with key (Ed25519, ECDSA P-256 or RSA), as JWS
// EdDSA, ES256 or RS256 would.
func signJWS(t *testing.T, key crypto.Signer, input string) string {
	t.Helper()
	var sig []byte
	var err error
	h := sha256.Sum256([]byte(input))
	switch k := key.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(input))
	case *ecdsa.PrivateKey:
		var r, s *big.Int
		if r, s, err = ecdsa.Sign(rand.Reader, k, h[:]); err == nil {
			sig = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
		}
	case *rsa.PrivateKey:
		sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, h[:])
	default:
		t.Fatalf("key %T", key)
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// acceptedEverywhere checks that tok passes every surface that takes an
// access token: the control for the attacks' refusals.
func (a *adversary) acceptedEverywhere(tok string) {
	a.t.Helper()
	before := a.upstream.Load()
	if r := a.proxy(tok); r.Status != http.StatusOK || a.upstream.Load() != before+1 {
		a.t.Fatalf("control: proxy %d %s", r.Status, r.Body)
	}
	if r := a.Do(a.t, "GET", "/ags/validate", bearer(tok), ""); r.Status != http.StatusOK {
		a.t.Fatalf("control: AGS validate %d %s", r.Status, r.Body)
	}
	if m := a.introspect(tok); m["active"] != true {
		a.t.Fatalf("control: introspection %v", m)
	}
	if r := a.Do(a.t, "GET", "/api", bearer(tok), ""); r.Status != http.StatusOK || r.JSON(a.t)["id"] == nil {
		a.t.Fatalf("control: Core about %d %s", r.Status, r.Body)
	}
}

// proxy sends GET /api/whoami with tok through the proxy route, which
// the OpenAPI document does not describe (routes are configured).
func (a *adversary) proxy(tok string) apptest.Response {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.URL+"/api/whoami", nil)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := a.Client.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func (a *adversary) introspectRaw(tok string) apptest.Response {
	a.t.Helper()
	return a.Send(a.t, apptest.Request{Path: "/oauth2/introspect", Form: url.Values{"token": {tok}}, BasicUser: "rs", BasicPass: a.rsSecret})
}

func (a *adversary) introspect(tok string) map[string]any {
	a.t.Helper()
	r := a.introspectRaw(tok)
	if r.Status != http.StatusOK {
		a.t.Fatalf("introspection: %d %s", r.Status, r.Body)
	}
	return r.JSON(a.t)
}

// accessMessages are the engine's public words for a refused access token.
var accessMessages = []string{engine.ErrInvalidToken.Error(), engine.ErrTokenExpired.Error(), engine.ErrWrongTokenUse.Error()}

// refusedEverywhere checks that tok, presented as an access token, is
// refused by every surface in its own shape, and that nothing reached the
// upstream: the proxy's WSAUTH 401 with a Bearer challenge, AGS's 401, an
// inactive introspection ({"active":false} alone), Core's minimal about.
func (a *adversary) refusedEverywhere(tok string) {
	a.t.Helper()
	a.refusedAsAccess(tok, true)
}

// refusedAsAccess is refusedEverywhere, leaving introspection out when
// introspect is false (a live refresh token is active there, as a
// refresh_token: RFC 7662 introspects both kinds).
func (a *adversary) refusedAsAccess(tok string, introspect bool) {
	a.t.Helper()
	before := a.upstream.Load()
	r := a.proxy(tok)
	wantJSON(a.t, "proxy", r, http.StatusUnauthorized, map[string]any{"error": true, "reason": "Invalid WSAUTH: token is invalid, expired or revoked"})
	if ch := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer ") {
		a.t.Errorf("proxy: WWW-Authenticate %q", ch)
	}
	if n := a.upstream.Load(); n != before {
		a.t.Errorf("the upstream was called %d times", n-before)
	}
	r = a.Do(a.t, "GET", "/ags/validate", bearer(tok), "")
	m := wantAGS(a.t, r, http.StatusUnauthorized)
	if !contains(accessMessages, m["message"]) {
		a.t.Errorf("AGS validate message %q", m["message"])
	}
	if !introspect {
	} else if len(tok) > httpx.MaxBodyBytes {
		// Too long for a form body: introspection refuses the request.
		r := a.introspectRaw(tok)
		wantJSON(a.t, "introspection", r, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "the request body could not be parsed"})
	} else if m := a.introspect(tok); !reflect.DeepEqual(m, map[string]any{"active": false}) {
		a.t.Errorf("introspection = %v, want {active:false}", m)
	}
	r = a.Do(a.t, "GET", "/api", bearer(tok), "")
	if r.Status != http.StatusOK {
		a.t.Errorf("Core about: %d %s", r.Status, r.Body)
	} else if m := r.JSON(a.t); m["id"] != nil || m["name"] != nil {
		a.t.Errorf("Core about is the full one for a refused token: %s", r.Body)
	}
}

// refreshRefusedEverywhere checks that rt, presented as a refresh token,
// is refused by every refresh endpoint in its own shape: OAuth 2.0's 400
// invalid_grant, Core's 401, AGS's 401, Sync Gateway's 401 "Unable to
// refresh token." (a 400 for the body, at the form endpoints, when the
// token is longer than a request body may be).
func (a *adversary) refreshRefusedEverywhere(rt string) {
	a.t.Helper()
	// A token longer than a request body may be: the form endpoints
	// refuse the body itself.
	tooLong := len(rt) > httpx.MaxBodyBytes
	r := a.Send(a.t, apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"refresh_token"},
		"client_id": {engine.DefaultClientID}, "refresh_token": {rt}}})
	if tooLong {
		wantJSON(a.t, "oauth2", r, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "the request body could not be parsed"})
	} else if m := wantStatusJSON(a.t, "oauth2", r, http.StatusBadRequest); m["error"] != "invalid_grant" || !contains(accessMessages, m["error_description"]) {
		a.t.Errorf("oauth2: %s", r.Body)
	}
	r = a.Do(a.t, "GET", "/api/login/refresh", bearer(rt), "")
	m := wantStatusJSON(a.t, "core", r, http.StatusUnauthorized)
	if d, _ := m["details"].([]any); m["code"] != float64(401) || m["message"] != "Unauthorized" || len(d) != 1 || !contains(accessMessages, d[0]) {
		a.t.Errorf("core: %s", r.Body)
	}
	r = a.Do(a.t, "POST", "/ags/refresh", map[string]string{"x-auth-service-id": "password", "Authorization": rt}, "")
	if m := wantAGS(a.t, r, http.StatusUnauthorized); !contains(accessMessages, m["message"]) {
		a.t.Errorf("ags: %s", r.Body)
	}
	r = a.Send(a.t, apptest.Request{Path: "/whitespace/_oidc_refresh", Form: url.Values{"refresh_token": {rt}}})
	if tooLong {
		wantJSON(a.t, "syncgw", r, http.StatusBadRequest, map[string]any{"error": "Bad Request", "reason": "the body could not be parsed"})
	} else {
		wantJSON(a.t, "syncgw", r, http.StatusUnauthorized, map[string]any{"error": "Unauthorized", "reason": "Unable to refresh token."})
	}
}

func contains(list []string, v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func wantStatusJSON(t *testing.T, what string, r apptest.Response, status int) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: status %d, want %d: %s", what, r.Status, status, r.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Errorf("%s: body is not JSON: %s", what, r.Body)
	}
	return m
}

func wantJSON(t *testing.T, what string, r apptest.Response, status int, body map[string]any) {
	t.Helper()
	if m := wantStatusJSON(t, what, r, status); !reflect.DeepEqual(m, body) {
		t.Errorf("%s: body %s, want %v", what, r.Body, body)
	}
}

// wantAGS checks AGS's error shape: status, the status text and a message.
func wantAGS(t *testing.T, r apptest.Response, status int) map[string]any {
	t.Helper()
	m := wantStatusJSON(t, "ags", r, status)
	if m["status"] != float64(status) || m["error"] != http.StatusText(status) || m["message"] == "" {
		t.Errorf("ags: body %s not in AGS's shape for %d", r.Body, status)
	}
	return m
}

// session returns the stored session of a refresh token.
func (a *adversary) session(rt string) store.Session {
	a.t.Helper()
	sid := apptest.Claims(a.t, rt)["sid"].(string)
	all, err := a.App.Engine.Sessions(context.Background(), engine.SessionQuery{User: "alice", IncludeDead: true})
	if err != nil {
		a.t.Fatal(err)
	}
	for _, s := range all {
		if s.ID == sid {
			return s
		}
	}
	a.t.Fatalf("no session %s", sid)
	return store.Session{}
}

// familyIntact checks that the session of rt is where it was (before):
// same generation, not revoked, and that rt itself still refreshes.
func (a *adversary) familyIntact(rt string, before store.Session) {
	a.t.Helper()
	now := a.session(rt)
	if now.Generation != before.Generation || !now.RevokedAt.IsZero() {
		a.t.Fatalf("the family moved: generation %d → %d, revoked at %v", before.Generation, now.Generation, now.RevokedAt)
	}
	r := a.Send(a.t, apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"refresh_token"},
		"client_id": {engine.DefaultClientID}, "refresh_token": {rt}}})
	if r.Status != http.StatusOK {
		a.t.Fatalf("the genuine refresh token no longer refreshes: %d %s", r.Status, r.Body)
	}
}

func TestAttackAlgNoneInAnyCase(t *testing.T) {
	a := newAdversary(t)
	c := a.claims(nil)
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		t.Run(alg, func(t *testing.T) {
			unsigned := b64j(t, a.header(map[string]any{"alg": alg})) + "." + b64j(t, c)
			a.refusedEverywhere(unsigned + ".")
			a.refusedEverywhere(unsigned + "." + strings.Split(a.sign(a.header(nil), c), ".")[2])
		})
	}
}

func TestAttackHS256SignedWithThePublicKey(t *testing.T) {
	a := newAdversary(t)
	c := a.claims(nil)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: a.pkix})
	var jwks struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(a.Do(t, "GET", "/.well-known/jwks.json", nil, "").Body, &jwks); err != nil || len(jwks.Keys) == 0 {
		t.Fatalf("jwks: %v", err)
	}
	x, _ := jwks.Keys[0]["x"].(string)
	raw, _ := base64.RawURLEncoding.DecodeString(x)
	jwkJSON, _ := json.Marshal(jwks.Keys[0])
	for name, key := range map[string][]byte{"PKIX DER": a.pkix, "PEM": pemKey, "raw key": raw, "JWK JSON": jwkJSON, "JWK x": []byte(x)} {
		t.Run(name, func(t *testing.T) {
			input := b64j(t, a.header(map[string]any{"alg": "HS256"})) + "." + b64j(t, c)
			m := hmac.New(sha256.New, key)
			m.Write([]byte(input))
			a.refusedEverywhere(input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)))
		})
	}
}

func TestAttackAlgorithmOtherThanTheKeys(t *testing.T) {
	a := newAdversary(t)
	c := a.claims(nil)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	for alg, key := range map[string]crypto.Signer{"ES256": ec, "RS256": rs, "EdDSA": ed} {
		if alg == a.alg {
			continue
		}
		t.Run(alg, func(t *testing.T) {
			a.refusedEverywhere(signJWS(t, key, b64j(t, a.header(map[string]any{"alg": alg}))+"."+b64j(t, c)))
		})
	}
	t.Run("PS256 and ES512 with the gateway's kid", func(t *testing.T) {
		for _, alg := range []string{"PS256", "ES512", "HS512", "EdDSA ", "eddsa"} {
			a.refusedEverywhere(a.sign(a.header(map[string]any{"alg": alg}), c))
		}
	})
}

// kidAttack signs alice's claims with an attacker's key under a hostile kid.
func kidAttack(t *testing.T, kid string) {
	a := newAdversary(t)
	_, attacker, _ := ed25519.GenerateKey(rand.Reader)
	c := a.claims(nil)
	a.refusedEverywhere(signJWS(t, attacker, b64j(t, a.header(map[string]any{"alg": "EdDSA", "kid": kid}))+"."+b64j(t, c)))
	// The gateway's own signature under the hostile kid fails as well.
	a.refusedEverywhere(a.sign(a.header(map[string]any{"kid": kid}), c))
	if logs := a.Logs(); strings.Contains(logs, kid) && len(kid) > 40 {
		t.Errorf("the log carries the whole hostile kid")
	}
}

func TestAttackKidPathTraversal(t *testing.T) {
	kidAttack(t, "../../../../../../etc/passwd")
}

func TestAttackKidSQL(t *testing.T) {
	kidAttack(t, "x' UNION SELECT id, alg, public, private_sealed FROM signing_keys --")
}

func TestAttackKid4KB(t *testing.T) {
	kidAttack(t, strings.Repeat("k", 4096))
}

// TestAttackKeyURLHeadersIgnored sends tokens signed by an attacker's
// key whose header points at it (jku, x5u) or carries it (jwk): each is
// refused, and the listener serving the attacker's keys is never
// connected to.
func TestAttackKeyURLHeadersIgnored(t *testing.T) {
	a := newAdversary(t)
	var conns atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, attacker, _ := ed25519.GenerateKey(rand.Reader)
	pub := attacker.Public().(ed25519.PublicKey)
	jwk := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub), "kid": "evil"}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"keys": []any{jwk}})
	}), ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	keysURL := "http://" + ln.Addr().String() + "/jwks.json"
	c := a.claims(nil)
	for name, h := range map[string]map[string]any{
		"jku":               {"alg": "EdDSA", "kid": "evil", "jku": keysURL},
		"jku with our kid":  {"alg": "EdDSA", "jku": keysURL},
		"x5u":               {"alg": "EdDSA", "kid": "evil", "x5u": keysURL},
		"jwk":               {"alg": "EdDSA", "kid": "evil", "jwk": jwk},
		"jwk with our kid":  {"alg": "EdDSA", "jwk": jwk},
		"jku, x5u and jwk":  {"alg": "EdDSA", "kid": "evil", "jku": keysURL, "x5u": keysURL, "jwk": jwk},
		"x5c self-asserted": {"alg": "EdDSA", "kid": "evil", "x5c": []string{base64.StdEncoding.EncodeToString(pub)}},
	} {
		t.Run(name, func(t *testing.T) {
			a.refusedEverywhere(signJWS(t, attacker, b64j(t, a.header(h))+"."+b64j(t, c)))
		})
	}
	// Let any fetch the gateway might have started in the background
	// arrive before counting: a request of our own on the listener is
	// served after every connection accepted before it.
	resp, err := http.Get(keysURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := conns.Load(); n != 1 {
		t.Fatalf("the attacker's key server saw %d connections from the gateway", n-1)
	}
}

func TestAttackUnknownCrit(t *testing.T) {
	a := newAdversary(t)
	c := a.claims(nil)
	for name, h := range map[string]map[string]any{
		"unknown extension":   {"crit": []string{"urn:example:never"}, "urn:example:never": true},
		"crit naming exp":     {"crit": []string{"exp"}, "exp": 1},
		"unencoded payload":   {"crit": []string{"b64"}, "b64": false},
		"crit without params": {"crit": []string{"x"}},
	} {
		t.Run(name, func(t *testing.T) {
			a.refusedEverywhere(a.sign(a.header(h), c))
		})
	}
}

func TestAttackExpiredToken(t *testing.T) {
	a := newAdversary(t)
	now := a.Clock.Now().Unix()
	// Past the 5 s leeway, by a second and by a day.
	a.refusedEverywhere(a.sign(a.header(nil), a.claims(map[string]any{"exp": now - 6, "iat": now - 600, "nbf": now - 600})))
	a.refusedEverywhere(a.sign(a.header(nil), a.claims(map[string]any{"exp": now - 86400, "iat": now - 90000, "nbf": now - 90000})))
	// A token the gateway minted, once its lifetime and the leeway passed.
	acc, _ := a.signOn()
	a.Clock.Advance(time.Duration(apptest.Claims(t, acc)["exi"].(float64))*time.Second + 6*time.Second)
	a.refusedEverywhere(acc)
}

func TestAttackNotYetValidToken(t *testing.T) {
	a := newAdversary(t)
	now := a.Clock.Now().Unix()
	a.refusedEverywhere(a.sign(a.header(nil), a.claims(map[string]any{"nbf": now + 60, "exp": now + 3600})))
	a.refusedEverywhere(a.sign(a.header(nil), a.claims(map[string]any{"iat": now + 60, "nbf": nil, "exp": now + 3600})))
}

func TestAttackMissingExp(t *testing.T) {
	a := newAdversary(t)
	a.refusedEverywhere(a.sign(a.header(nil), a.claims(map[string]any{"exp": nil})))
	a.refusedEverywhere(a.sign(a.header(nil), a.claims(map[string]any{"exp": 0})))
}

func TestAttackWrongIssuer(t *testing.T) {
	a := newAdversary(t)
	for _, iss := range []string{"https://evil.example", a.URL + "/", strings.ToUpper(a.URL), ""} {
		a.refusedEverywhere(a.sign(a.header(nil), a.claims(map[string]any{"iss": iss})))
	}
	a.refusedEverywhere(a.sign(a.header(nil), a.claims(map[string]any{"iss": nil})))
}

func TestAttackWrongAudience(t *testing.T) {
	a := newAdversary(t)
	for _, aud := range []any{"https://other.example", []string{"https://other.example"}, []string{}} {
		a.refusedEverywhere(a.sign(a.header(nil), a.claims(map[string]any{"aud": aud})))
	}
	a.refusedEverywhere(a.sign(a.header(nil), a.claims(map[string]any{"aud": nil})))
}

func TestAttackRefreshTokenUsedAsAccessToken(t *testing.T) {
	a := newAdversary(t)
	_, rt := a.signOn()
	before := a.session(rt)
	a.refusedAsAccess(rt, false)
	if m := a.introspect(rt); m["active"] != true || m["token_type"] != "refresh_token" {
		t.Errorf("introspection of the refresh token: %v", m)
	}
	// The refresh token's claims under the access type and key.
	a.refusedEverywhere(a.sign(a.header(nil), apptest.Claims(t, rt)))
	a.familyIntact(rt, before)
}

func TestAttackAccessTokenUsedAsRefreshToken(t *testing.T) {
	a := newAdversary(t)
	acc, rt := a.signOn()
	before := a.session(rt)
	a.refreshRefusedEverywhere(acc)
	// An access token claiming refresh use, signed with the access key.
	a.refreshRefusedEverywhere(a.sign(a.header(map[string]any{"typ": token.TypeRefresh}), a.claims(map[string]any{"usefor": "refresh"})))
	a.familyIntact(rt, before)
}

func TestAttackExternalIdPTokenAtTheProxy(t *testing.T) {
	a := newAdversary(t)
	// A valid token of the trusted external issuer, for a user it may sign
	// on: it is exchanged at a sign-on endpoint, never taken as access.
	ext := a.ExternalToken(t, "auth0|alice", nil)
	a.refusedEverywhere(ext)
	a.refusedEverywhere(a.ExternalToken(t, "auth0|alice", map[string]any{"iss": a.URL, "aud": "tokengate"}))
}

func TestAttackTamperedPayload(t *testing.T) {
	a := newAdversary(t)
	acc, _ := a.signOn()
	parts := strings.Split(acc, ".")
	for name, mod := range map[string]map[string]any{
		"user":    {"preferred_username": "admin", "sub": "admin"},
		"tenant":  {"tenant": "acme"},
		"expiry":  {"exp": a.Clock.Now().Unix() + 86400*365},
		"session": {"sid": "other"},
	} {
		t.Run(name, func(t *testing.T) {
			c := apptest.Claims(t, acc)
			for k, v := range mod {
				c[k] = v
			}
			a.refusedEverywhere(parts[0] + "." + b64j(t, c) + "." + parts[2])
		})
	}
}

func TestAttackMalformedTokens(t *testing.T) {
	a := newAdversary(t)
	acc, rt := a.signOn()
	p := strings.Split(acc, ".")
	huge := p[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("A", 75*1024))) + "." + p[2]
	cases := map[string]string{
		"one segment":        p[0],
		"two segments":       p[0] + "." + p[1],
		"four segments":      acc + "." + p[2],
		"empty segments":     "..",
		"bad base64":         p[0] + ".$$$." + p[2],
		"padded base64":      p[0] + "." + p[1] + "==." + p[2],
		"standard base64":    p[0] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(p[1]) + "." + p[2],
		"header not JSON":    base64.RawURLEncoding.EncodeToString([]byte("not json")) + "." + p[1] + "." + p[2],
		"payload not JSON":   signJWS(t, a.priv, p[0]+"."+base64.RawURLEncoding.EncodeToString([]byte("[1,2]"))),
		"JSON serialization": `{"protected":"` + p[0] + `","payload":"` + p[1] + `","signature":"` + p[2] + `"}`,
		"100 KB":             huge,
		"whitespace inside":  p[0] + ". " + p[1] + "." + p[2],
	}
	for name, tok := range cases {
		if tok == acc {
			continue // the transformation changed nothing in this token
		}
		t.Run(name, func(t *testing.T) {
			if name == "100 KB" && len(tok) < 100*1024 {
				t.Fatalf("only %d bytes", len(tok))
			}
			a.refusedEverywhere(tok)
		})
	}
	t.Run("as refresh tokens", func(t *testing.T) {
		before := a.session(rt)
		rp := strings.Split(rt, ".")
		for _, tok := range []string{rp[0], rp[0] + "." + rp[1], rt + ".x", rp[0] + ".$$$." + rp[2], strings.Repeat("A", 100*1024)} {
			a.refreshRefusedEverywhere(tok)
		}
		a.familyIntact(rt, before)
	})
}

// TestAttackRefreshTokenOfAnotherTenant presents a refresh token of the
// default tenant with tenant acme's header (AGS's nv-tenant-id): refused
// with AGS's 403, the family untouched.
func TestAttackRefreshTokenOfAnotherTenant(t *testing.T) {
	a := newAdversary(t)
	g, err := a.App.Engine.SignOnPassword(context.Background(), engine.SignOnRequest{Service: "ags:password", Username: "alice", Password: advPassword})
	if err != nil {
		t.Fatal(err)
	}
	before := a.session(g.RefreshToken)
	r := a.Do(t, "POST", "/ags/refresh", map[string]string{"x-auth-service-id": "password", "nv-tenant-id": "acme", "Authorization": g.RefreshToken}, "")
	if m := wantAGS(t, r, http.StatusForbidden); m["message"] != engine.ErrTenantMismatch.Error() {
		t.Errorf("message %q", m["message"])
	}
	r = a.Do(t, "POST", "/ags/signOff", map[string]string{"nv-tenant-id": "acme", "Authorization": g.RefreshToken}, "")
	if m := wantAGS(t, r, http.StatusForbidden); m["message"] != engine.ErrTenantMismatch.Error() {
		t.Errorf("signOff message %q", m["message"])
	}
	r = a.Do(t, "GET", "/ags/validate", map[string]string{"nv-tenant-id": "acme", "Authorization": g.AccessToken}, "")
	wantAGS(t, r, http.StatusForbidden)
	if now := a.session(g.RefreshToken); now.Generation != before.Generation || !now.RevokedAt.IsZero() {
		t.Fatalf("the family moved: %+v", now)
	}
	r = a.Do(t, "POST", "/ags/refresh", map[string]string{"x-auth-service-id": "password", "Authorization": g.RefreshToken}, "")
	if r.Status != http.StatusOK {
		t.Fatalf("the genuine refresh in its own tenant: %d %s", r.Status, r.Body)
	}
}

// TestAttackForgedRefreshTokens presents random, truncated and
// one-bit-flipped copies of a live refresh token at every refresh
// endpoint: each is refused in the endpoint's shape, and the family they
// imitate neither moves nor is revoked (no reuse is detected), so the
// genuine token still refreshes.
func TestAttackForgedRefreshTokens(t *testing.T) {
	a := newAdversary(t)
	_, rt := a.signOn()
	before := a.session(rt)
	forged := map[string]string{}
	for i := range 3 {
		b := make([]byte, len(rt)*3/4)
		rand.Read(b)
		forged[fmt.Sprintf("random %d", i)] = base64.RawURLEncoding.EncodeToString(b)
	}
	for _, n := range []int{1, 2, 5, len(rt) / 2, len(rt) - 1} {
		forged[fmt.Sprintf("truncated by %d", n)] = rt[:len(rt)-n]
	}
	forged["extended"] = rt + "A"
	// Other spellings of the same bytes, which lenient base64 decoders
	// read as the genuine token: the padding bits of the last character
	// set, and a line break inside the signature.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	forged["padding bits set"] = rt[:len(rt)-1] + string(alphabet[strings.IndexByte(alphabet, rt[len(rt)-1])^1])
	forged["line break in the signature"] = rt[:len(rt)-4] + "\r\n" + rt[len(rt)-4:]
	for i := 0; i < len(rt); i++ {
		for bit := range 7 { // 7 bits: the token is ASCII
			b := []byte(rt)
			b[i] ^= 1 << bit
			if s := string(b); !strings.ContainsAny(s, "\x00\r\n\t ") {
				forged[fmt.Sprintf("bit %d of byte %d", bit, i)] = s
			}
		}
	}
	// Every flip at the oauth2 endpoint (the cheapest), the others for a
	// sample: each endpoint verifies through the same engine call.
	n := 0
	for name, tok := range forged {
		r := a.Send(t, apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"refresh_token"},
			"client_id": {engine.DefaultClientID}, "refresh_token": {tok}}})
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"invalid_grant"`) {
			t.Fatalf("%s: %d %s", name, r.Status, r.Body)
		}
		headerSafe := !strings.ContainsFunc(tok, func(r rune) bool { return r < 0x21 || r > 0x7e })
		if n++; headerSafe && (n%97 == 0 || !strings.HasPrefix(name, "bit")) {
			a.refreshRefusedEverywhere(tok)
		}
	}
	a.familyIntact(rt, before)
}

// TestAttackHostileUserNames signs on with SQL-shaped, NUL-bearing,
// 10 KB and Unicode-confusable names of alice, with alice's password, at
// every password sign-on: each is refused as bad credentials in the
// dialect's shape, no session is created, and alice's own sign-on still
// works.
func TestAttackHostileUserNames(t *testing.T) {
	a := newAdversary(t)
	names := map[string]string{
		"SQL comment":        "alice'--",
		"SQL tautology":      "' OR '1'='1",
		"SQL union":          "x' UNION SELECT name FROM users --",
		"SQL stacked":        "alice'; DROP TABLE users; --",
		"NUL after":          "alice\x00",
		"NUL inside":         "al\x00ice",
		"10 KB":              strings.Repeat("a", 10*1024),
		"Cyrillic a":         "\u0430lice",
		"fullwidth":          "\uff41\uff4c\uff49\uff43\uff45",
		"combining":          "alic\u0065\u0301",
		"zero width":         "al\u200bice",
		"upper case":         "ALICE",
		"trailing space":     "alice ",
		"dotless i":          "al\u0131ce",
		"mathematical alpha": "\U0001d41a\U0001d425\U0001d422\U0001d41c\U0001d41e",
	}
	live := func() int {
		s, err := a.App.Engine.Sessions(context.Background(), engine.SessionQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return len(s)
	}
	sessions := live()
	cred := engine.ErrInvalidCredentials.Error()
	for name, user := range names {
		t.Run(name, func(t *testing.T) {
			r := a.Send(t, apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"password"},
				"client_id": {engine.DefaultClientID}, "username": {user}, "password": {advPassword}}})
			wantJSON(t, "oauth2", r, http.StatusBadRequest, map[string]any{"error": "invalid_grant", "error_description": cred})
			body, _ := json.Marshal(map[string]string{"username": user, "password": advPassword})
			r = a.Do(t, "POST", "/api/login", nil, string(body))
			wantJSON(t, "core", r, http.StatusUnauthorized, map[string]any{"code": float64(401), "message": "Unauthorized", "details": []any{cred}})
			pb, _ := json.Marshal(map[string]any{"parameters": []map[string]string{{"name": "username", "value": user}, {"name": "password", "value": advPassword}}})
			r = a.Do(t, "POST", "/ags/signOn", map[string]string{"x-auth-service-id": "password"}, string(pb))
			if m := wantAGS(t, r, http.StatusUnauthorized); m["message"] != cred {
				t.Errorf("ags message %q", m["message"])
			}
		})
	}
	if n := live(); n != sessions {
		t.Fatalf("%d sessions were created", n-sessions)
	}
	a.signOn()
}
