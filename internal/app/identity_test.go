package app_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
)

// passwordToken signs name on to a tenant ("" = default) with the OAuth
// 2.0 password grant of the built-in client and returns the token pair.
func passwordToken(t *testing.T, s *apptest.Server, tenant, name, password string) map[string]any {
	t.Helper()
	ctx := context.Background()
	clientID := engine.DefaultClientID
	if tenant != "" {
		// The built-in client signs users on to the default tenant; a
		// tenant's users sign on through a client of their tenant.
		clientID = "pub-" + tenant
		if _, err := s.App.Engine.Client(ctx, clientID); err != nil {
			if _, _, err := s.App.Engine.CreateClient(ctx, engine.NewClient{Tenant: tenant, ID: clientID, Public: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := s.Send(t, apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"password"}, "client_id": {clientID},
		"username": {name}, "password": {password}}})
	if r.Status != http.StatusOK {
		t.Fatalf("password grant for %s: %d %s", name, r.Status, r.Body)
	}
	return r.JSON(t)
}

// TestSubjectIsImmutableAndUnique checks the sub of standard tokens: the
// user's id, unique within the issuer (two users named alice in two
// tenants differ), never what a client's own token carries (a client
// named like a user differs), with the name in preferred_username.
func TestSubjectIsImmutableAndUnique(t *testing.T) {
	s := apptest.New(t, nil)
	ctx := context.Background()
	if _, err := s.App.Engine.CreateTenant(ctx, engine.NewTenant{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	s.User(t, "", "alice", "alice-password", true)
	s.User(t, "acme", "alice", "alice-password", true)
	s.User(t, "", "reporting", "reporting-password", false)
	aliceDefault, err := s.App.Engine.User(ctx, "", "alice")
	if err != nil {
		t.Fatal(err)
	}
	aliceAcme, err := s.App.Engine.User(ctx, "acme", "alice")
	if err != nil {
		t.Fatal(err)
	}
	reporting, err := s.App.Engine.User(ctx, "", "reporting")
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := s.App.Engine.CreateClient(ctx, engine.NewClient{ID: "reporting"})
	if err != nil {
		t.Fatal(err)
	}

	c1 := apptest.Claims(t, passwordToken(t, s, "", "alice", "alice-password")["access_token"].(string))
	c2 := apptest.Claims(t, passwordToken(t, s, "acme", "alice", "alice-password")["access_token"].(string))
	if c1["sub"] != aliceDefault.ID || c2["sub"] != aliceAcme.ID || c1["sub"] == c2["sub"] {
		t.Fatalf("sub of alice@default %v, of alice@acme %v; want their ids %s and %s", c1["sub"], c2["sub"], aliceDefault.ID, aliceAcme.ID)
	}
	for _, c := range []map[string]any{c1, c2} {
		if c["preferred_username"] != "alice" {
			t.Fatalf("preferred_username %v, want alice", c["preferred_username"])
		}
	}
	cu := apptest.Claims(t, passwordToken(t, s, "", "reporting", "reporting-password")["access_token"].(string))
	r := s.Send(t, apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"client_credentials"}}, BasicUser: "reporting", BasicPass: secret})
	if r.Status != http.StatusOK {
		t.Fatalf("client credentials: %d %s", r.Status, r.Body)
	}
	cc := apptest.Claims(t, r.JSON(t)["access_token"].(string))
	if cu["sub"] != reporting.ID || cc["sub"] != "client:reporting" || cc["client_id"] != "reporting" || cc["preferred_username"] != nil {
		t.Fatalf("user reporting: sub %v; client reporting: sub %v, client_id %v, preferred_username %v", cu["sub"], cc["sub"], cc["client_id"], cc["preferred_username"])
	}

	// Introspection says the same: sub the id, username the name.
	introspect := introspector(t, s)
	in := introspect(passwordToken(t, s, "", "alice", "alice-password")["access_token"].(string))
	if in["sub"] != aliceDefault.ID || in["username"] != "alice" {
		t.Fatalf("introspection: sub %v username %v", in["sub"], in["username"])
	}
	in = introspect(r.JSON(t)["access_token"].(string))
	if in["sub"] != "client:reporting" || in["username"] != nil || in["client_id"] != "reporting" {
		t.Fatalf("introspection of a client's own token: %v", in)
	}
}

// TestDialectSubjects checks the dialects that keep their own claim
// shape: datarhei Core's sub is the user name (seed 003); AGS's seed
// shows no sub, so its tokens carry the standard one, equal to its
// userId and accountId; Sync Gateway's id_token is a standard token.
func TestDialectSubjects(t *testing.T) {
	s := apptest.New(t, nil)
	s.User(t, "", "alice", "alice-password", true)
	alice, err := s.App.Engine.User(context.Background(), "", "alice")
	if err != nil {
		t.Fatal(err)
	}
	r := s.Do(t, "POST", "/api/login", nil, `{"username":"alice","password":"alice-password"}`)
	if r.Status != http.StatusOK {
		t.Fatalf("core login: %d %s", r.Status, r.Body)
	}
	for _, k := range []string{"access_token", "refresh_token"} {
		if c := apptest.Claims(t, r.JSON(t)[k].(string)); c["sub"] != "alice" {
			t.Fatalf("core %s: sub %v, want the user name as Core clients read it", k, c["sub"])
		}
	}
	r = s.Do(t, "POST", "/ags/signOn", map[string]string{"x-auth-service-id": "password"},
		`{"parameters":[{"name":"username","value":"alice"},{"name":"password","value":"alice-password"}]}`)
	if r.Status != http.StatusOK {
		t.Fatalf("ags sign-on: %d %s", r.Status, r.Body)
	}
	c := apptest.Claims(t, r.JSON(t)["access_token"].(string))
	if c["sub"] != alice.ID || c["userId"] != alice.ID || c["accountId"] != alice.ID || c["preferred_username"] != "alice" {
		t.Fatalf("ags access token: sub %v userId %v accountId %v preferred_username %v", c["sub"], c["userId"], c["accountId"], c["preferred_username"])
	}
}

// TestRenameKeepsSubject renames a user with live sessions: the sessions
// go on, the sub of every new token is the same id, and the new name is
// what preferred_username, introspection, the proxy's identity headers and
// Core's sub (the dialect's own shape) say; the old name is free again.
func TestRenameKeepsSubject(t *testing.T) {
	var seen http.Header
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		io.WriteString(w, `{}`)
	}))
	defer up.Close()
	s := apptest.New(t, func(c *config.Config) {
		c.Proxy.Routes = []config.ProxyRoute{{Prefix: "/data/", Upstream: up.URL + "/"}}
	})
	ctx := context.Background()
	s.User(t, "", "alice", "alice-password", true)
	alice, err := s.App.Engine.User(ctx, "", "alice")
	if err != nil {
		t.Fatal(err)
	}
	pair := passwordToken(t, s, "", "alice", "alice-password")
	core := s.Do(t, "POST", "/api/login", nil, `{"username":"alice","password":"alice-password"}`).JSON(t)

	u, err := s.App.Engine.RenameUser(ctx, "", "alice", "alicia")
	if err != nil || u.ID != alice.ID || u.Name != "alicia" {
		t.Fatalf("RenameUser = %+v, %v", u, err)
	}
	r := s.Send(t, apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"refresh_token"}, "client_id": {"tokengate"},
		"refresh_token": {pair["refresh_token"].(string)}}})
	if r.Status != http.StatusOK {
		t.Fatalf("refresh after the rename: %d %s", r.Status, r.Body)
	}
	tok := r.JSON(t)["access_token"].(string)
	if c := apptest.Claims(t, tok); c["sub"] != alice.ID || c["preferred_username"] != "alicia" {
		t.Fatalf("after the rename: sub %v preferred_username %v", c["sub"], c["preferred_username"])
	}
	in := introspector(t, s)(r.JSON(t)["refresh_token"].(string))
	if in["sub"] != alice.ID || in["username"] != "alicia" {
		t.Fatalf("introspection of the refresh token after the rename: %v", in)
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/data/x", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || seen.Get("X-Tokengate-User") != "alicia" || seen.Get("X-Tokengate-User-Id") != alice.ID {
		t.Fatalf("proxy: %d, X-Tokengate-User %q, X-Tokengate-User-Id %q", resp.StatusCode, seen.Get("X-Tokengate-User"), seen.Get("X-Tokengate-User-Id"))
	}
	// Core's stable refresh token goes on working; its new access token
	// names the user as Core does, by the new name.
	r = s.Do(t, "GET", "/api/login/refresh", map[string]string{"Authorization": "Bearer " + core["refresh_token"].(string)}, "")
	if r.Status != http.StatusOK {
		t.Fatalf("core refresh after the rename: %d %s", r.Status, r.Body)
	}
	if c := apptest.Claims(t, r.JSON(t)["access_token"].(string)); c["sub"] != "alicia" {
		t.Fatalf("core sub after the rename: %v", c["sub"])
	}

	if _, err := s.App.Engine.CreateUser(ctx, engine.NewUser{Name: "alice", Password: "new-alice-password"}); err != nil {
		t.Fatalf("the old name is not free: %v", err)
	}
	if _, err := s.App.Engine.RenameUser(ctx, "", "alicia", "alice"); !errors.Is(err, engine.ErrAlreadyExists) {
		t.Fatalf("rename to a taken name: %v", err)
	}
	if _, err := s.App.Engine.RenameUser(ctx, "", "alicia", "not a name"); !errors.Is(err, engine.ErrInvalidRequest) {
		t.Fatalf("rename to an invalid name: %v", err)
	}
	if _, err := s.App.Engine.RenameUser(ctx, "", "nobody", "somebody"); !errors.Is(err, engine.ErrUnknownUser) {
		t.Fatalf("rename of an unknown user: %v", err)
	}

	// The bootstrap administrator renamed is still the administrator: a
	// restart's bootstrap adds no second one.
	if _, err := s.App.Engine.RenameUser(ctx, "", "admin", "root"); err != nil {
		t.Fatal(err)
	}
	res, err := s.App.Engine.Bootstrap(ctx, "")
	if err != nil || res.CreatedAdmin {
		t.Fatalf("bootstrap after renaming the administrator: %+v, %v", res, err)
	}
}
