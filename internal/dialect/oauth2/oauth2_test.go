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
	"github.com/tokengate/tokengate/internal/app/apptest"
)

func TestTokenSuccessShapes(t *testing.T) {
	s := newServer(t, "")
	gold := s.GoldenResponses(t, "token_success")
	check := func(name string, req apptest.Request) apptest.Response {
		t.Helper()
		req.Path = "/oauth2/token"
		resp := s.do(req)
		gold.Add(name, resp)
		if resp.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", name, resp.Status, resp.Body)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", name, cc)
		}
		return resp
	}
	pw := check("password grant", apptest.Request{Form: url.Values{"grant_type": {"password"}, "client_id": {"tokengate"}, "username": {"bob"}, "password": {password}, "scope": {"read  write"}}})
	var p tokenPair
	if err := json.Unmarshal(pw.Body, &p); err != nil {
		t.Fatal(err)
	}
	if p.TokenType != "Bearer" || p.ExpiresIn != 900 || p.RefreshToken == "" || p.RefreshExpiresIn != 7*86400 {
		t.Fatalf("password grant: %s", pw.Body)
	}
	s.Clock.Advance(time.Minute)
	rf := check("refresh grant", apptest.Request{Form: url.Values{"grant_type": {"refresh_token"}, "client_id": {"tokengate"}, "refresh_token": {p.RefreshToken}}})
	var r tokenPair
	if err := json.Unmarshal(rf.Body, &r); err != nil {
		t.Fatal(err)
	}
	if r.RefreshToken == "" || r.RefreshToken == p.RefreshToken {
		t.Fatal("refresh did not rotate the refresh token")
	}
	check("password grant without refresh", apptest.Request{Form: url.Values{"grant_type": {"password"}, "client_id": {"tokengate"}, "username": {"nora"}, "password": {password}}})
	check("client_credentials with client_secret_basic", apptest.Request{Form: url.Values{"grant_type": {"client_credentials"}, "scope": {"jobs"}}, BasicUser: s.svc, BasicPass: s.svcSecret})
	check("client_credentials with client_secret_post", apptest.Request{Form: url.Values{"grant_type": {"client_credentials"}, "client_id": {s.svc}, "client_secret": {s.svcSecret}}})
}

func TestClientCredentialsToken(t *testing.T) {
	s := newServer(t, "")
	for _, tc := range []struct {
		name string
		req  apptest.Request
	}{
		{"client_secret_basic", apptest.Request{Form: url.Values{"grant_type": {"client_credentials"}}, BasicUser: s.svc, BasicPass: s.svcSecret}},
		{"client_secret_post", apptest.Request{Form: url.Values{"grant_type": {"client_credentials"}, "client_id": {s.svc}, "client_secret": {s.svcSecret}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Path = "/oauth2/token"
			resp := s.do(tc.req)
			if resp.Status != 200 {
				t.Fatalf("%d %s", resp.Status, resp.Body)
			}
			body := resp.JSON(t)
			if _, ok := body["refresh_token"]; ok {
				t.Fatal("client credentials returned a refresh token")
			}
			c := apptest.Claims(t, body["access_token"].(string))
			// A client's own token has a sub no user can have.
			if c["sub"] != "client:"+s.svc || c["client_id"] != s.svc || c["iss"] != s.URL || c["usefor"] != "access" {
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
	revoke := func(form url.Values) apptest.Response {
		t.Helper()
		return s.do(apptest.Request{Path: "/oauth2/revoke", Form: form})
	}
	// RFC 7009 §2.2: an unknown or invalid token is answered 200.
	for _, tok := range []string{"garbage", "a.b.c"} {
		if r := revoke(url.Values{"client_id": {"tokengate"}, "token": {tok}}); r.Status != 200 {
			t.Fatalf("revoke %q: %d %s", tok, r.Status, r.Body)
		}
	}
	if r := revoke(url.Values{"client_id": {"tokengate"}}); r.Status != 400 || r.JSON(t)["error"] != "invalid_request" {
		t.Fatalf("revoke without token: %d %s", r.Status, r.Body)
	}
	if r := revoke(url.Values{"client_id": {"nope"}, "token": {"x"}}); r.Status != 401 {
		t.Fatalf("revoke by unknown client: %d %s", r.Status, r.Body)
	}
	p := s.passwordGrant("bob")
	// Another client may not revoke bob's token.
	if r := revoke(url.Values{"client_id": {"other-app"}, "token": {p.RefreshToken}}); r.Status != 400 || r.JSON(t)["error"] != "unauthorized_client" {
		t.Fatalf("revoke by another client: %d %s", r.Status, r.Body)
	}
	s.refreshGrant(p.RefreshToken) // still works
	p = s.passwordGrant("bob")
	r := revoke(url.Values{"client_id": {"tokengate"}, "token": {p.RefreshToken}, "token_type_hint": {"refresh_token"}})
	if r.Status != 200 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("revoke: %d %v %s", r.Status, r.Header, r.Body)
	}
	resp := s.do(apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"refresh_token"}, "client_id": {"tokengate"}, "refresh_token": {p.RefreshToken}}})
	if resp.Status != 400 || resp.JSON(t)["error"] != "invalid_grant" {
		t.Fatalf("refresh after revoke: %d %s", resp.Status, resp.Body)
	}
}

func TestIntrospect(t *testing.T) {
	s := newServer(t, "")
	gold := s.GoldenResponses(t, "introspect")
	p := s.passwordGrant("bob")
	introspect := func(name string, req apptest.Request) apptest.Response {
		t.Helper()
		req.Path = "/oauth2/introspect"
		resp := s.do(req)
		if name != "" {
			gold.Add(name, resp)
		}
		return resp
	}
	// RFC 7662 §2.1: the caller must authenticate; a public client can't.
	for _, req := range []apptest.Request{
		{Form: url.Values{"client_id": {"tokengate"}, "token": {p.AccessToken}}},
		{Form: url.Values{"token": {p.AccessToken}}},
		{Form: url.Values{"token": {p.AccessToken}}, BasicUser: s.svc, BasicPass: "wrong"},
	} {
		if r := introspect("", req); r.Status != 401 || r.JSON(t)["error"] != "invalid_client" || r.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("introspect without a confidential client: %d %v %s", r.Status, r.Header, r.Body)
		}
	}
	as := func(tok string) apptest.Request {
		return apptest.Request{Form: url.Values{"token": {tok}}, BasicUser: s.svc, BasicPass: s.svcSecret}
	}
	r := introspect("active access token", as(p.AccessToken))
	body := r.JSON(t)
	if r.Status != 200 || body["active"] != true || body["sub"] != s.userID("bob") || body["username"] != "bob" || body["iss"] != s.URL ||
		body["usefor"] != "access" || body["token_type"] != "Bearer" || body["client_id"] != "tokengate" || body["sid"] == nil || body["exp"] == nil {
		t.Fatalf("active access token: %d %s", r.Status, r.Body)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	r = introspect("active refresh token", as(p.RefreshToken))
	if body := r.JSON(t); body["active"] != true || body["token_type"] != "refresh_token" || body["usefor"] != "refresh" {
		t.Fatalf("active refresh token: %s", r.Body)
	}
	r = introspect("inactive token", as("garbage"))
	if r.Status != 200 || strings.TrimSpace(string(r.Body)) != `{"active":false}` {
		t.Fatalf("inactive: %d %s", r.Status, r.Body)
	}
	// After revocation both tokens of the session are inactive.
	s.do(apptest.Request{Path: "/oauth2/revoke", Form: url.Values{"client_id": {"tokengate"}, "token": {p.AccessToken}}})
	for _, tok := range []string{p.AccessToken, p.RefreshToken} {
		if body := introspect("", as(tok)).JSON(t); body["active"] != false {
			t.Fatalf("revoked token still active: %v", body)
		}
	}
}

func TestDiscoveryAndOIDCVerification(t *testing.T) {
	for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			s := newServer(t, alg)
			r := s.do(apptest.Request{Method: http.MethodGet, Path: "/.well-known/openid-configuration"})
			if r.Status != 200 {
				t.Fatalf("discovery: %d %s", r.Status, r.Body)
			}
			d := r.JSON(t)
			if d["issuer"] != s.URL {
				t.Fatalf("issuer %v, want %s", d["issuer"], s.URL)
			}
			algs, _ := d["id_token_signing_alg_values_supported"].([]any)
			if !slices.Contains(algs, any(alg)) {
				t.Fatalf("id_token_signing_alg_values_supported %v lacks %s", algs, alg)
			}
			if d["jwks_uri"] != s.URL+"/.well-known/jwks.json" || d["token_endpoint"] != s.URL+"/oauth2/token" {
				t.Fatalf("endpoints: %s", r.Body)
			}
			if alg == "EdDSA" {
				g := s.GoldenResponses(t, "discovery")
				g.Add("openid-configuration", r)
			}

			p := s.passwordGrant("bob")
			q := s.refreshGrant(p.RefreshToken)
			cc := s.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {s.svc}, "client_secret": {s.svcSecret}})
			for _, tok := range []string{p.AccessToken, p.RefreshToken, q.AccessToken, q.RefreshToken, cc.AccessToken} {
				if iss := apptest.Claims(t, tok)["iss"]; iss != s.URL {
					t.Fatalf("token iss %v, want %s", iss, s.URL)
				}
			}

			ctx := oidc.ClientContext(s.ctx, s.Client)
			provider, err := oidc.NewProvider(ctx, s.URL)
			if err != nil {
				t.Fatalf("oidc.NewProvider: %v", err)
			}
			v := provider.Verifier(&oidc.Config{ClientID: "tokengate", Now: s.Clock.Now})
			for name, tok := range map[string]string{"sign-on": p.AccessToken, "refreshed": q.AccessToken} {
				idt, err := v.Verify(ctx, tok)
				if err != nil {
					t.Fatalf("%s access token does not verify against the JWKS: %v", name, err)
				}
				if idt.Subject != s.userID("bob") || idt.Issuer != s.URL {
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
			s.Clock.Advance(16 * time.Minute)
			if _, err := v.Verify(ctx, p.AccessToken); err == nil {
				t.Fatal("an expired access token verified")
			}
		})
	}
}

func TestHealthReadinessMetricsAndCorrelation(t *testing.T) {
	s := newServer(t, "")
	for _, path := range []string{"/healthz", "/readyz"} {
		r := s.do(apptest.Request{Method: http.MethodGet, Path: path})
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
	}
	p := s.passwordGrant("bob")
	s.refreshGrant(p.RefreshToken)
	r := s.do(apptest.Request{Method: http.MethodGet, Path: "/metrics"})
	if r.Status != 200 || !strings.Contains(string(r.Body), "tokengate_refreshes_total") {
		t.Fatalf("/metrics: %d, tokengate_refreshes_total present: %t", r.Status, strings.Contains(string(r.Body), "tokengate_refreshes_total"))
	}
	if strings.Contains(string(r.Body), p.RefreshToken) || strings.Contains(string(r.Body), password) {
		t.Fatal("metrics carry a secret")
	}

	r = s.do(apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"password"}}, Header: map[string]string{"X-Correlation-Id": "test-corr-42"}})
	if got := r.Header.Get("X-Correlation-Id"); got != "test-corr-42" {
		t.Fatalf("correlation id echoed as %q", got)
	}
	r = s.do(apptest.Request{Method: http.MethodGet, Path: "/healthz"})
	if r.Header.Get("X-Correlation-Id") == "" {
		t.Fatal("no correlation id generated")
	}
}
