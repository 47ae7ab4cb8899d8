package app_test

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/token"
)

var b64 = base64.RawURLEncoding

// joseHeader decodes the protected header of a compact JWS.
func joseHeader(t *testing.T, tok string) map[string]any {
	t.Helper()
	head, _, ok := strings.Cut(tok, ".")
	if !ok {
		t.Fatalf("not a JWS: %.20q", tok)
	}
	raw, err := b64.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// retyped returns tok with its header's typ set to typ (deleted when
// empty), signed again by sign: the same token, claiming another type.
func retyped(t *testing.T, tok, typ string, sign func([]byte) []byte) string {
	t.Helper()
	h := joseHeader(t, tok)
	delete(h, "typ")
	if typ != "" {
		h["typ"] = typ
	}
	hb, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(tok, ".")
	payload, _, _ := strings.Cut(rest, ".")
	in := b64.EncodeToString(hb) + "." + payload
	return in + "." + b64.EncodeToString(sign([]byte(in)))
}

// accessSigner signs with the gateway's current Ed25519 key, unsealed from
// the store as only a test may.
func (g *gateway) accessSigner(t *testing.T) func([]byte) []byte {
	t.Helper()
	keys, err := g.App.Store.ListKeys(context.Background())
	if err != nil || len(keys) != 1 || keys[0].Alg != "EdDSA" {
		t.Fatalf("keys %v, %v", keys, err)
	}
	der, err := g.sealer(t).Open(keys[0].PrivateSealed, []byte(keys[0].ID))
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	priv := k.(ed25519.PrivateKey)
	return func(in []byte) []byte { return ed25519.Sign(priv, in) }
}

// refreshSigner signs HS256 under the key the engine's refresh tokens are
// signed with, derived from the master key as app and engine derive it.
func (g *gateway) refreshSigner(t *testing.T) func([]byte) []byte {
	t.Helper()
	m := hmac.New(sha256.New, g.sealer(t).DeriveKey("tokengate refresh-token id v1"))
	m.Write([]byte("refresh-token signature v1"))
	key := m.Sum(nil)
	return func(in []byte) []byte {
		h := hmac.New(sha256.New, key)
		h.Write(in)
		return h.Sum(nil)
	}
}

func (g *gateway) sealer(t *testing.T) *token.Sealer {
	t.Helper()
	master, _, err := token.LoadOrCreateMasterKey(testMasterKey, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := token.NewSealer(master)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (g *gateway) post(t *testing.T, path string, header map[string]string, body string) (int, map[string]any) {
	t.Helper()
	resp, raw := g.do(t, probe{method: "POST", path: path, header: header, body: body})
	var m map[string]any
	_ = json.Unmarshal([]byte(raw), &m)
	return resp.StatusCode, m
}

// TestTokenTypesOnTheWire checks the JOSE typ of every token each sign-on
// surface issues: access tokens at+jwt (RFC 9068 §2.1), refresh tokens
// rt+jwt (RFC 8725 §3.11: each kind its own type).
func TestTokenTypesOnTheWire(t *testing.T) {
	g := newGateway(t)
	ags := map[string]string{"Content-Type": "application/json", "x-auth-service-id": "password"}
	cases := []struct {
		name, path string
		header     map[string]string
		body       string
	}{
		{"oauth2", "/oauth2/token", form, "grant_type=password&client_id=tokengate&username=admin&password=" + apptest.AdminPassword},
		{"core", "/api/login", jsonBody, `{"username":"admin","password":"` + apptest.AdminPassword + `"}`},
		{"ags", "/ags/signOn", ags, `{"parameters":[{"name":"username","value":"admin"},{"name":"password","value":"` + apptest.AdminPassword + `"}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := g.post(t, tc.path, tc.header, tc.body)
			at, _ := body["access_token"].(string)
			rt, _ := body["refresh_token"].(string)
			if status != http.StatusOK || at == "" || rt == "" {
				t.Fatalf("status %d: %v", status, body)
			}
			if h := joseHeader(t, at); h["typ"] != "at+jwt" {
				t.Errorf("access token header %v", h)
			}
			if h := joseHeader(t, rt); h["typ"] != "rt+jwt" {
				t.Errorf("refresh token header %v", h)
			}
		})
	}
}

// TestTokenOfAnotherTypeRefused presents tokens signed with the gateway's
// own keys but claiming another type (or none): every access-token
// verifier refuses a token that is not at+jwt, every refresh path one
// that is not rt+jwt, whatever its usefor claim says.
func TestTokenOfAnotherTypeRefused(t *testing.T) {
	g := newGateway(t)
	ctx := context.Background()
	_, secret, err := g.App.Engine.CreateClient(ctx, engine.NewClient{ID: "rs", Name: "resource server", GrantTypes: []string{"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	status, pair := g.post(t, "/oauth2/token", form, "grant_type=password&client_id=tokengate&username=admin&password="+apptest.AdminPassword)
	at, _ := pair["access_token"].(string)
	rt, _ := pair["refresh_token"].(string)
	if status != 200 || at == "" || rt == "" {
		t.Fatalf("sign-on: %d %v", status, pair)
	}
	signAT, signRT := g.accessSigner(t), g.refreshSigner(t)
	basic := map[string]string{"Content-Type": "application/x-www-form-urlencoded",
		"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("rs:"+secret))}

	for _, typ := range []string{"JWT", "", "jwt", "application/jwt", "rt+jwt", "at+jwt+x", "id_token+jwt"} {
		t.Run("access typ "+typ, func(t *testing.T) {
			forged := retyped(t, at, typ, signAT)
			bearer := map[string]string{"Authorization": "Bearer " + forged}
			for _, p := range []probe{
				{"proxy", "GET", "/svc/anything", bearer, ""},
				{"proxy builtin", "GET", "/svc/user/myDetails", bearer, ""},
				{"admin api", "GET", "/admin/api/organisations", bearer, ""},
				{"profile", "GET", "/profile/api-tokens", bearer, ""},
				{"ags validate", "GET", "/ags/validate", bearer, ""},
			} {
				if resp, body := g.do(t, p); resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s: status %d: %.200s", p.name, resp.StatusCode, body)
				}
			}
			if status, body := g.post(t, "/oauth2/introspect", basic, "token="+url.QueryEscape(forged)); status != 200 || body["active"] != false {
				t.Errorf("introspect: %d %v", status, body)
			}
		})
	}
	for _, typ := range []string{"JWT", "", "jwt", "at+jwt", "rt+jwt+x"} {
		t.Run("refresh typ "+typ, func(t *testing.T) {
			forged := retyped(t, rt, typ, signRT)
			if status, body := g.post(t, "/oauth2/token", form, "grant_type=refresh_token&client_id=tokengate&refresh_token="+url.QueryEscape(forged)); status != 400 || body["error"] != "invalid_grant" {
				t.Errorf("refresh: %d %v", status, body)
			}
			if status, body := g.post(t, "/oauth2/introspect", basic, "token="+url.QueryEscape(forged)); status != 200 || body["active"] != false {
				t.Errorf("introspect: %d %v", status, body)
			}
		})
	}
	t.Run("the genuine tokens still work", func(t *testing.T) {
		if resp, body := g.do(t, probe{"proxy", "GET", "/svc/anything", map[string]string{"Authorization": "Bearer " + at}, ""}); resp.StatusCode != 200 {
			t.Errorf("proxy: %d %s", resp.StatusCode, body)
		}
		if status, body := g.post(t, "/oauth2/introspect", basic, "token="+url.QueryEscape(rt)); status != 200 || body["active"] != true {
			t.Errorf("introspect refresh token: %d %v", status, body)
		}
		if status, body := g.post(t, "/oauth2/token", form, "grant_type=refresh_token&client_id=tokengate&refresh_token="+url.QueryEscape(rt)); status != 200 {
			t.Errorf("refresh: %d %v", status, body)
		}
	})
}
