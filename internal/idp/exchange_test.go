package idp_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
)

// The token exchange of RFC 8693 is the oauth2 dialect's; this test stays
// beside the issuers it verifies with, and names the wire values itself.
const (
	grantTE              = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
	tokenTypeIDToken     = "urn:ietf:params:oauth:token-type:id_token"
	tokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
)

func formHeader() map[string]string {
	return map[string]string{"Content-Type": "application/x-www-form-urlencoded",
		"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("cli:"))}
}

func TestTokenExchange(t *testing.T) {
	s := apptest.New(t, nil)
	if _, _, err := s.App.Engine.CreateClient(context.Background(), engine.NewClient{ID: "cli", Public: true,
		GrantTypes: []string{grantTE, "refresh_token"}}); err != nil {
		t.Fatal(err)
	}
	exchange := func(tok, typ string) apptest.Response {
		f := url.Values{"grant_type": {grantTE}, "subject_token": {tok}, "subject_token_type": {typ}}
		return s.Do(t, "POST", "/oauth2/token", formHeader(), f.Encode())
	}
	r := exchange(s.ExternalToken(t, "auth0|alice", nil), tokenTypeJWT)
	if r.Status != http.StatusOK {
		t.Fatalf("exchange: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	if m["issued_token_type"] != tokenTypeAccessToken || m["token_type"] != "Bearer" || m["refresh_token"] == nil {
		t.Fatalf("exchange body %s", r.Body)
	}
	alice, err := s.App.Engine.User(context.Background(), "", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if c := apptest.Claims(t, m["access_token"].(string)); c["sub"] != alice.ID || c["preferred_username"] != "alice" || c["client_id"] != "cli" {
		t.Fatalf("claims %v", c)
	}
	f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {m["refresh_token"].(string)}}
	if r := s.Do(t, "POST", "/oauth2/token", formHeader(), f.Encode()); r.Status != http.StatusOK || r.JSON(t)["refresh_token"] == m["refresh_token"] {
		t.Fatalf("refresh of an exchanged session: %d %s", r.Status, r.Body)
	}
	if r := exchange(s.ExternalToken(t, "auth0|alice", nil), tokenTypeIDToken); r.Status != http.StatusOK {
		t.Fatalf("id_token type: %d %s", r.Status, r.Body)
	}

	for name, tc := range map[string]struct{ tok, typ string }{
		"wrong token type": {s.ExternalToken(t, "auth0|alice", nil), "urn:ietf:params:oauth:token-type:saml2"},
		"missing token":    {"", tokenTypeJWT},
		"not allowed":      {s.ExternalToken(t, "auth0|mallory", nil), tokenTypeJWT},
		"expired":          {s.ExternalToken(t, "auth0|alice", map[string]any{"exp": s.Clock.Now().Unix() - 3600}), tokenTypeJWT},
		"wrong audience":   {s.ExternalToken(t, "auth0|alice", map[string]any{"aud": "x"}), tokenTypeJWT},
	} {
		t.Run(name, func(t *testing.T) {
			r := exchange(tc.tok, tc.typ)
			if r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "invalid_request" {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	}
}

func TestTokenExchangeWithoutIssuers(t *testing.T) {
	s := apptest.New(t, func(c *config.Config) { c.OIDC.Issuers = nil })
	if _, _, err := s.App.Engine.CreateClient(context.Background(), engine.NewClient{ID: "cli", Public: true, GrantTypes: []string{grantTE}}); err != nil {
		t.Fatal(err)
	}
	f := url.Values{"grant_type": {grantTE}, "subject_token": {"x"}, "subject_token_type": {tokenTypeJWT}}
	r := s.Do(t, "POST", "/oauth2/token", formHeader(), f.Encode())
	if r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "unsupported_grant_type" {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	// Core's about lists no Auth0 tenant then.
	if auths := s.Do(t, "GET", "/api", nil, "").JSON(t)["auths"].([]any); len(auths) != 1 {
		t.Fatalf("auths %v", auths)
	}
}
