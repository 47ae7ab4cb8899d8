package oauth2_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/engine"
)

// TestIntrospectionStaysInTenant: a confidential client learns nothing of
// another tenant's tokens; to it they are inactive (RFC 7662 §2.2), like
// tokens it may not see. Access, refresh and client-credentials tokens
// alike.
func TestIntrospectionStaysInTenant(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, "")
	eng := s.App.Engine
	if _, err := eng.CreateTenant(ctx, engine.NewTenant{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.CreateUser(ctx, engine.NewUser{Tenant: "acme", Name: "ann", Password: password, RefreshEnabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := eng.CreateClient(ctx, engine.NewClient{Tenant: "acme", ID: "acme-app", Public: true}); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{}
	for _, c := range []struct{ tenant, id string }{{"", "default-svc"}, {"acme", "acme-svc"}} {
		_, secret, err := eng.CreateClient(ctx, engine.NewClient{Tenant: c.tenant, ID: c.id, GrantTypes: []string{"client_credentials"}})
		if err != nil {
			t.Fatal(err)
		}
		secrets[c.id] = secret
	}
	token := func(v url.Values) map[string]any {
		t.Helper()
		r := s.do(apptest.Request{Path: "/oauth2/token", Form: v})
		if r.Status != http.StatusOK {
			t.Fatalf("token: %d %s", r.Status, r.Body)
		}
		return r.JSON(t)
	}
	bob := token(url.Values{"grant_type": {"password"}, "client_id": {"tokengate"}, "username": {"bob"}, "password": {password}})
	ann := token(url.Values{"grant_type": {"password"}, "client_id": {"acme-app"}, "username": {"ann"}, "password": {password}})
	svc := token(url.Values{"grant_type": {"client_credentials"}, "client_id": {"default-svc"}, "client_secret": {secrets["default-svc"]}})

	introspect := func(client, tok string) map[string]any {
		t.Helper()
		v := url.Values{"token": {tok}, "client_id": {client}, "client_secret": {secrets[client]}}
		r := s.do(apptest.Request{Path: "/oauth2/introspect", Form: v})
		if r.Status != http.StatusOK {
			t.Fatalf("introspect: %d %s", r.Status, r.Body)
		}
		return r.JSON(t)
	}
	for _, tc := range []struct {
		name, client string
		tok          any
		active       bool
	}{
		{"own tenant's access token", "default-svc", bob["access_token"], true},
		{"own tenant's refresh token", "default-svc", bob["refresh_token"], true},
		{"own tenant's client token", "default-svc", svc["access_token"], true},
		{"acme's own access token", "acme-svc", ann["access_token"], true},
		{"another tenant's access token", "acme-svc", bob["access_token"], false},
		{"another tenant's refresh token", "acme-svc", bob["refresh_token"], false},
		{"another tenant's client token", "acme-svc", svc["access_token"], false},
		{"acme's token to the default tenant", "default-svc", ann["refresh_token"], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := introspect(tc.client, tc.tok.(string))
			if got["active"] != tc.active {
				t.Fatalf("active = %v, want %v: %v", got["active"], tc.active, got)
			}
			if !tc.active && len(got) != 1 {
				t.Fatalf("an inactive token answers only active:false, got %v", got)
			}
		})
	}
}
