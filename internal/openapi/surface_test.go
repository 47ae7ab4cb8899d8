package openapi_test

import (
	"net/http"
	"testing"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
)

// TestOperationalSurface validates the responses of the endpoints no
// dialect test walks (discovery, JWKS, health, this document).
func TestOperationalSurface(t *testing.T) {
	s := apptest.New(t, nil)
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server",
		"/.well-known/jwks.json", "/healthz", "/readyz", "/openapi.json"} {
		t.Run(path, func(t *testing.T) {
			if r := s.Do(t, "GET", path, nil, ""); r.Status != http.StatusOK {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	}
	r := s.Do(t, "GET", "/openapi.json", nil, "")
	if m := r.JSON(t); m["openapi"] != "3.1.0" || m["paths"] == nil {
		t.Fatalf("served document: %.200s", r.Body)
	}
}

// TestWhitespaceSurface validates real responses of the Sync Gateway
// dialect and the proxy's built-in endpoints against the document.
func TestWhitespaceSurface(t *testing.T) {
	s := apptest.New(t, func(c *config.Config) {
		c.SyncGW = config.SyncGW{Enabled: true, Buckets: []string{"whitespace"}}
		c.Proxy.Routes = []config.ProxyRoute{{Prefix: "/wsapi/", Upstream: "http://127.0.0.1:1/", Builtins: true}}
	})
	s.User(t, "", "alice", "alice-pass-1", true)
	g := s.APIToken(t, "", "alice", "laptop")
	bearer := map[string]string{"Authorization": "Bearer " + g.AccessToken}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	tests := []struct {
		name   string
		method string
		path   string
		header map[string]string
		status int
	}{
		{"refresh", "GET", "/whitespace/_oidc_refresh?refresh_token=" + g.RefreshToken, nil, 200},
		{"refresh by POST", "POST", "/whitespace/_oidc_refresh", form, 200},
		{"refresh by POST with the token in the URL", "POST", "/whitespace/_oidc_refresh?refresh_token=" + g.RefreshToken, form, 400},
		{"refresh without token", "GET", "/whitespace/_oidc_refresh", nil, 0},
		{"refresh bad token", "GET", "/whitespace/_oidc_refresh?refresh_token=garbage", nil, 401},
		{"unknown bucket", "GET", "/nosuch/_oidc_refresh?refresh_token=garbage", nil, 404},
		{"corporate", "GET", "/wsapi/shared/corporate", bearer, 200},
		{"corporate without token", "GET", "/wsapi/shared/corporate", nil, 401},
		{"myDetails", "GET", "/wsapi/user/myDetails", bearer, 200},
		{"myDetails without token", "GET", "/wsapi/user/myDetails", nil, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := ""
			if tc.header["Content-Type"] != "" {
				body = "refresh_token=" + g.RefreshToken
			}
			r := s.Do(t, tc.method, tc.path, tc.header, body)
			if tc.status != 0 && r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
		})
	}
}

// TestAdminSurface validates real responses of the admin and profile API.
func TestAdminSurface(t *testing.T) {
	s := apptest.New(t, nil)
	s.User(t, "", "alice", "alice-pass-1", true)
	login := func(user, pass string) map[string]string {
		r := s.Do(t, "POST", "/api/login", nil, `{"username":"`+user+`","password":"`+pass+`"}`)
		if r.Status != http.StatusOK {
			t.Fatalf("login %s: %d %s", user, r.Status, r.Body)
		}
		return map[string]string{"Authorization": "Bearer " + r.JSON(t)["access_token"].(string)}
	}
	admin, alice := login("admin", "admin-pass"), login("alice", "alice-pass-1")
	// Removing a membership ends the member's sessions; the profile steps
	// sign alice on again.
	alice2 := map[string]string{}
	var mu, tokenID string
	steps := []struct {
		name, method string
		path         func() string
		header       map[string]string
		body         string
		status       int
		after        func(apptest.Response)
	}{
		{"create organisation", "POST", func() string { return "/admin/api/organisations" }, admin, `{"name":"gailbkr","displayName":"Gail Baker"}`, 201, nil},
		{"list organisations", "GET", func() string { return "/admin/api/organisations" }, admin, "", 200, nil},
		{"get organisation", "GET", func() string { return "/admin/api/organisations/gailbkr" }, admin, "", 200, nil},
		{"unknown organisation", "GET", func() string { return "/admin/api/organisations/nosuch" }, admin, "", 404, nil},
		{"not an administrator", "GET", func() string { return "/admin/api/organisations" }, alice, "", 403, nil},
		{"no token", "GET", func() string { return "/admin/api/organisations" }, nil, "", 401, nil},
		{"add membership", "POST", func() string { return "/admin/api/memberships" }, admin, `{"user":"alice","organisation":"gailbkr","channels":["risks"]}`, 201,
			func(r apptest.Response) { mu = r.JSON(t)["id"].(string) }},
		{"list memberships", "GET", func() string { return "/admin/api/memberships" }, admin, "", 200, nil},
		{"set channels", "PUT", func() string { return "/admin/api/memberships/" + mu + "/channels" }, admin, `{"channels":["a","b"]}`, 200, nil},
		{"get membership", "GET", func() string { return "/admin/api/memberships/" + mu }, admin, "", 200, nil},
		{"remove membership", "DELETE", func() string { return "/admin/api/memberships/" + mu }, admin, "", 200, nil},
		{"create API token", "POST", func() string {
			for k, v := range login("alice", "alice-pass-1") {
				alice2[k] = v
			}
			return "/profile/api-tokens"
		}, alice2, `{"label":"laptop"}`, 201,
			func(r apptest.Response) { tokenID = r.JSON(t)["id"].(string) }},
		{"list API tokens", "GET", func() string { return "/profile/api-tokens" }, alice2, "", 200, nil},
		{"revoke API token", "DELETE", func() string { return "/profile/api-tokens/" + tokenID }, alice2, "", 204, nil},
		{"delete organisation", "DELETE", func() string { return "/admin/api/organisations/gailbkr" }, admin, "", 204, nil},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := s.Do(t, st.method, st.path(), st.header, st.body)
			if r.Status != st.status {
				t.Fatalf("status %d, want %d: %s", r.Status, st.status, r.Body)
			}
			if st.after != nil {
				st.after(r)
			}
		})
	}
}
