package oauth2_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// claimsOf decodes a JWT's payload without verifying it (tests verify with
// go-oidc separately).
func claimsOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTokenSuccessShapes(t *testing.T) {
	s := newServer(t, "")
	gold := newGolden(t, "token_success")
	check := func(name string, req request) response {
		t.Helper()
		req.path = "/oauth2/token"
		resp := s.do(req)
		gold.add(name, s, resp)
		if resp.status != http.StatusOK {
			t.Fatalf("%s: %d %s", name, resp.status, resp.body)
		}
		if cc := resp.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", name, cc)
		}
		return resp
	}
	pw := check("password grant", request{form: url.Values{"grant_type": {"password"}, "client_id": {"tokengate"}, "username": {"bob"}, "password": {password}, "scope": {"read  write"}}})
	var p tokenPair
	if err := json.Unmarshal(pw.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.TokenType != "Bearer" || p.ExpiresIn != 900 || p.RefreshToken == "" || p.RefreshExpiresIn != 7*86400 {
		t.Fatalf("password grant: %s", pw.body)
	}
	s.clock.Advance(time.Minute)
	rf := check("refresh grant", request{form: url.Values{"grant_type": {"refresh_token"}, "client_id": {"tokengate"}, "refresh_token": {p.RefreshToken}}})
	var r tokenPair
	if err := json.Unmarshal(rf.body, &r); err != nil {
		t.Fatal(err)
	}
	if r.RefreshToken == "" || r.RefreshToken == p.RefreshToken {
		t.Fatal("refresh did not rotate the refresh token")
	}
	check("password grant without refresh", request{form: url.Values{"grant_type": {"password"}, "client_id": {"tokengate"}, "username": {"nora"}, "password": {password}}})
	check("client_credentials with client_secret_basic", request{form: url.Values{"grant_type": {"client_credentials"}, "scope": {"jobs"}}, basicUser: s.svc, basicPass: s.svcSecret})
	check("client_credentials with client_secret_post", request{form: url.Values{"grant_type": {"client_credentials"}, "client_id": {s.svc}, "client_secret": {s.svcSecret}}})
}

func TestClientCredentialsToken(t *testing.T) {
	s := newServer(t, "")
	for _, tc := range []struct {
		name string
		req  request
	}{
		{"client_secret_basic", request{form: url.Values{"grant_type": {"client_credentials"}}, basicUser: s.svc, basicPass: s.svcSecret}},
		{"client_secret_post", request{form: url.Values{"grant_type": {"client_credentials"}, "client_id": {s.svc}, "client_secret": {s.svcSecret}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.path = "/oauth2/token"
			resp := s.do(tc.req)
			if resp.status != 200 {
				t.Fatalf("%d %s", resp.status, resp.body)
			}
			body := resp.json(t)
			if _, ok := body["refresh_token"]; ok {
				t.Fatal("client credentials returned a refresh token")
			}
			c := claimsOf(t, body["access_token"].(string))
			if c["sub"] != s.svc || c["client_id"] != s.svc || c["iss"] != s.URL || c["usefor"] != "access" {
				t.Fatalf("claims %v", c)
			}
			if _, ok := c["sid"]; ok {
				t.Fatal("client credentials token carries a session id")
			}
		})
	}
}

func TestRevoke(t *testing.T) {
	s := newServer(t, "")
	revoke := func(form url.Values) response {
		t.Helper()
		return s.do(request{path: "/oauth2/revoke", form: form})
	}
	// RFC 7009 §2.2: an unknown or invalid token is answered 200.
	for _, tok := range []string{"garbage", "a.b.c"} {
		if r := revoke(url.Values{"client_id": {"tokengate"}, "token": {tok}}); r.status != 200 {
			t.Fatalf("revoke %q: %d %s", tok, r.status, r.body)
		}
	}
	if r := revoke(url.Values{"client_id": {"tokengate"}}); r.status != 400 || r.json(t)["error"] != "invalid_request" {
		t.Fatalf("revoke without token: %d %s", r.status, r.body)
	}
	if r := revoke(url.Values{"client_id": {"nope"}, "token": {"x"}}); r.status != 401 {
		t.Fatalf("revoke by unknown client: %d %s", r.status, r.body)
	}
	p := s.passwordGrant("bob")
	// Another client may not revoke bob's token.
	if r := revoke(url.Values{"client_id": {"other-app"}, "token": {p.RefreshToken}}); r.status != 400 || r.json(t)["error"] != "unauthorized_client" {
		t.Fatalf("revoke by another client: %d %s", r.status, r.body)
	}
	s.refreshGrant(p.RefreshToken) // still works
	p = s.passwordGrant("bob")
	r := revoke(url.Values{"client_id": {"tokengate"}, "token": {p.RefreshToken}, "token_type_hint": {"refresh_token"}})
	if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("revoke: %d %v %s", r.status, r.header, r.body)
	}
	resp := s.do(request{path: "/oauth2/token", form: url.Values{"grant_type": {"refresh_token"}, "client_id": {"tokengate"}, "refresh_token": {p.RefreshToken}}})
	if resp.status != 400 || resp.json(t)["error"] != "invalid_grant" {
		t.Fatalf("refresh after revoke: %d %s", resp.status, resp.body)
	}
}

func TestIntrospect(t *testing.T) {
	s := newServer(t, "")
	gold := newGolden(t, "introspect")
	p := s.passwordGrant("bob")
	introspect := func(name string, req request) response {
		t.Helper()
		req.path = "/oauth2/introspect"
		resp := s.do(req)
		if name != "" {
			gold.add(name, s, resp)
		}
		return resp
	}
	// RFC 7662 §2.1: the caller must authenticate; a public client can't.
	for _, req := range []request{
		{form: url.Values{"client_id": {"tokengate"}, "token": {p.AccessToken}}},
		{form: url.Values{"token": {p.AccessToken}}},
		{form: url.Values{"token": {p.AccessToken}}, basicUser: s.svc, basicPass: "wrong"},
	} {
		if r := introspect("", req); r.status != 401 || r.json(t)["error"] != "invalid_client" || r.header.Get("WWW-Authenticate") == "" {
			t.Fatalf("introspect without a confidential client: %d %v %s", r.status, r.header, r.body)
		}
	}
	as := func(tok string) request {
		return request{form: url.Values{"token": {tok}}, basicUser: s.svc, basicPass: s.svcSecret}
	}
	r := introspect("active access token", as(p.AccessToken))
	body := r.json(t)
	if r.status != 200 || body["active"] != true || body["sub"] != "bob" || body["username"] != "bob" || body["iss"] != s.URL ||
		body["usefor"] != "access" || body["token_type"] != "Bearer" || body["client_id"] != "tokengate" || body["sid"] == nil || body["exp"] == nil {
		t.Fatalf("active access token: %d %s", r.status, r.body)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
	}
	r = introspect("active refresh token", as(p.RefreshToken))
	if body := r.json(t); body["active"] != true || body["token_type"] != "refresh_token" || body["usefor"] != "refresh" {
		t.Fatalf("active refresh token: %s", r.body)
	}
	r = introspect("inactive token", as("garbage"))
	if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"active":false}` {
		t.Fatalf("inactive: %d %s", r.status, r.body)
	}
	// After revocation both tokens of the session are inactive.
	s.do(request{path: "/oauth2/revoke", form: url.Values{"client_id": {"tokengate"}, "token": {p.AccessToken}}})
	for _, tok := range []string{p.AccessToken, p.RefreshToken} {
		if body := introspect("", as(tok)).json(t); body["active"] != false {
			t.Fatalf("revoked token still active: %v", body)
		}
	}
}

func TestDiscoveryAndOIDCVerification(t *testing.T) {
	for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			s := newServer(t, alg)
			r := s.do(request{method: http.MethodGet, path: "/.well-known/openid-configuration"})
			if r.status != 200 {
				t.Fatalf("discovery: %d %s", r.status, r.body)
			}
			d := r.json(t)
			if d["issuer"] != s.URL {
				t.Fatalf("issuer %v, want %s", d["issuer"], s.URL)
			}
			algs, _ := d["id_token_signing_alg_values_supported"].([]any)
			if !slices.Contains(algs, any(alg)) {
				t.Fatalf("id_token_signing_alg_values_supported %v lacks %s", algs, alg)
			}
			if d["jwks_uri"] != s.URL+"/.well-known/jwks.json" || d["token_endpoint"] != s.URL+"/oauth2/token" {
				t.Fatalf("endpoints: %s", r.body)
			}
			if alg == "EdDSA" {
				g := newGolden(t, "discovery")
				g.add("openid-configuration", s, r)
			}

			p := s.passwordGrant("bob")
			q := s.refreshGrant(p.RefreshToken)
			cc := s.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {s.svc}, "client_secret": {s.svcSecret}})
			for _, tok := range []string{p.AccessToken, p.RefreshToken, q.AccessToken, q.RefreshToken, cc.AccessToken} {
				if iss := claimsOf(t, tok)["iss"]; iss != s.URL {
					t.Fatalf("token iss %v, want %s", iss, s.URL)
				}
			}

			ctx := oidc.ClientContext(s.ctx, s.client)
			provider, err := oidc.NewProvider(ctx, s.URL)
			if err != nil {
				t.Fatalf("oidc.NewProvider: %v", err)
			}
			v := provider.Verifier(&oidc.Config{ClientID: "tokengate", Now: s.clock.Now})
			for name, tok := range map[string]string{"sign-on": p.AccessToken, "refreshed": q.AccessToken} {
				idt, err := v.Verify(ctx, tok)
				if err != nil {
					t.Fatalf("%s access token does not verify against the JWKS: %v", name, err)
				}
				if idt.Subject != "bob" || idt.Issuer != s.URL {
					t.Fatalf("verified sub %q iss %q", idt.Subject, idt.Issuer)
				}
			}
			// A token tampered with does not verify.
			parts := strings.Split(q.AccessToken, ".")
			forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+s.URL+`","sub":"admin","aud":"tokengate","exp":9999999999}`)) + "." + parts[2]
			if _, err := v.Verify(ctx, forged); err == nil {
				t.Fatal("a forged token verified")
			}
			// Once expired, go-oidc refuses it on the same clock.
			s.clock.Advance(16 * time.Minute)
			if _, err := v.Verify(ctx, p.AccessToken); err == nil {
				t.Fatal("an expired access token verified")
			}
		})
	}
}

func TestHealthReadinessMetricsAndCorrelation(t *testing.T) {
	s := newServer(t, "")
	for _, path := range []string{"/healthz", "/readyz"} {
		r := s.do(request{method: http.MethodGet, path: path})
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
	}
	p := s.passwordGrant("bob")
	s.refreshGrant(p.RefreshToken)
	r := s.do(request{method: http.MethodGet, path: "/metrics"})
	if r.status != 200 || !strings.Contains(string(r.body), "tokengate_refreshes_total") {
		t.Fatalf("/metrics: %d, tokengate_refreshes_total present: %t", r.status, strings.Contains(string(r.body), "tokengate_refreshes_total"))
	}
	if strings.Contains(string(r.body), p.RefreshToken) || strings.Contains(string(r.body), password) {
		t.Fatal("metrics carry a secret")
	}

	r = s.do(request{path: "/oauth2/token", form: url.Values{"grant_type": {"password"}}, header: map[string]string{"X-Correlation-Id": "test-corr-42"}})
	if got := r.header.Get("X-Correlation-Id"); got != "test-corr-42" {
		t.Fatalf("correlation id echoed as %q", got)
	}
	r = s.do(request{method: http.MethodGet, path: "/healthz"})
	if r.header.Get("X-Correlation-Id") == "" {
		t.Fatal("no correlation id generated")
	}
}
