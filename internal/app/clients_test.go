package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/engine"
)

// clientWorld is a gateway with a confidential client "app" that may use
// the password, refresh and client-credentials grants, a user "alice",
// and the introspection client "rs".
type clientWorld struct {
	s          *apptest.Server
	secret     string
	admin      map[string]string
	introspect func(tok string) map[string]any
}

func newClientWorld(t *testing.T) *clientWorld {
	t.Helper()
	s := apptest.New(t, nil)
	s.User(t, "", "alice", "alice-password", true)
	_, secret, err := s.App.Engine.CreateClient(context.Background(), engine.NewClient{ID: "app",
		GrantTypes: []string{"password", "refresh_token", "client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	return &clientWorld{s: s, secret: secret, admin: adminBearer(t, s), introspect: introspector(t, s)}
}

// token posts a grant as client app with secret.
func (w *clientWorld) token(t *testing.T, secret string, form url.Values) apptest.Response {
	t.Helper()
	return w.s.Send(t, apptest.Request{Path: "/oauth2/token", Form: form, BasicUser: "app", BasicPass: secret})
}

func ccGrant() url.Values { return url.Values{"grant_type": {"client_credentials"}} }

func passwordGrant() url.Values {
	return url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alice-password"}}
}

func refreshGrant(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
}

// TestClientDisable disables a client through the admin API while its
// record is remembered by the engine (it has just authenticated): it is
// refused at the token endpoint at once, its tokens are inactive at
// introspection and its sessions do not refresh; enabled again, all works.
func TestClientDisable(t *testing.T) {
	w := newClientWorld(t)
	s := w.s
	pair := w.token(t, w.secret, passwordGrant())
	if pair.Status != http.StatusOK {
		t.Fatalf("password grant: %d %s", pair.Status, pair.Body)
	}
	cc := w.token(t, w.secret, ccGrant())
	if cc.Status != http.StatusOK {
		t.Fatalf("client credentials: %d %s", cc.Status, cc.Body)
	}
	access, own := pair.JSON(t)["access_token"].(string), cc.JSON(t)["access_token"].(string)
	rt := pair.JSON(t)["refresh_token"].(string)
	for _, tok := range []string{access, own} {
		if got := w.introspect(tok); got["active"] != true {
			t.Fatalf("before: %v", got)
		}
	}

	r := s.Do(t, "POST", "/admin/api/clients/app/disable", w.admin, "")
	if r.Status != http.StatusOK || r.JSON(t)["disabled"] != true {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	if r := w.token(t, w.secret, ccGrant()); r.Status != http.StatusUnauthorized || r.JSON(t)["error"] != "invalid_client" {
		t.Fatalf("client credentials of a disabled client: %d %s", r.Status, r.Body)
	}
	if r := w.token(t, w.secret, refreshGrant(rt)); r.Status != http.StatusUnauthorized {
		t.Fatalf("refresh of a disabled client: %d %s", r.Status, r.Body)
	}
	for name, tok := range map[string]string{"session token": access, "client's own token": own} {
		if got := w.introspect(tok); got["active"] != false {
			t.Fatalf("%s of a disabled client: %v", name, got)
		}
	}
	// Nor revoke (RFC 7009 §2.1: the client authenticates), nor introspect.
	if r := s.Send(t, apptest.Request{Path: "/oauth2/revoke", Form: url.Values{"token": {rt}}, BasicUser: "app", BasicPass: w.secret}); r.Status != http.StatusUnauthorized {
		t.Fatalf("revocation by a disabled client: %d %s", r.Status, r.Body)
	}
	if r := s.Send(t, apptest.Request{Path: "/oauth2/introspect", Form: url.Values{"token": {access}}, BasicUser: "app", BasicPass: w.secret}); r.Status != http.StatusUnauthorized {
		t.Fatalf("introspection by a disabled client: %d %s", r.Status, r.Body)
	}

	if r := s.Do(t, "POST", "/admin/api/clients/app/enable", w.admin, ""); r.Status != http.StatusOK || r.JSON(t)["disabled"] != false {
		t.Fatalf("enable: %d %s", r.Status, r.Body)
	}
	if got := w.introspect(access); got["active"] != true {
		t.Fatalf("after enable: %v", got)
	}
	if r := w.token(t, w.secret, refreshGrant(rt)); r.Status != http.StatusOK {
		t.Fatalf("refresh after enable: %d %s", r.Status, r.Body)
	}
}

// TestClientSecretRotate rotates a client's secret through the admin API:
// with an overlap the old secret works until it ends, without one it
// stops at once (on this node: the engine forgets its remembered record).
func TestClientSecretRotate(t *testing.T) {
	w := newClientWorld(t)
	s := w.s
	if r := w.token(t, w.secret, ccGrant()); r.Status != http.StatusOK {
		t.Fatalf("before: %d %s", r.Status, r.Body)
	}
	r := s.Do(t, "POST", "/admin/api/clients/app/secret", w.admin, `{"overlap":"1h"}`)
	if r.Status != http.StatusOK {
		t.Fatalf("rotate: %d %s", r.Status, r.Body)
	}
	out := r.JSON(t)
	second, _ := out["clientSecret"].(string)
	until, err := time.Parse(time.RFC3339, out["previousSecretExpiresAt"].(string))
	if second == "" || second == w.secret || err != nil || !until.Equal(s.Clock.Now().Add(time.Hour).Truncate(time.Second)) {
		t.Fatalf("rotate answered %v (%v)", out, err)
	}
	for name, secret := range map[string]string{"old secret within the overlap": w.secret, "new secret": second} {
		if r := w.token(t, secret, ccGrant()); r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	s.Clock.Advance(time.Hour + time.Second)
	if r := w.token(t, w.secret, ccGrant()); r.Status != http.StatusUnauthorized {
		t.Fatalf("old secret after the overlap: %d %s", r.Status, r.Body)
	}
	if r := w.token(t, second, ccGrant()); r.Status != http.StatusOK {
		t.Fatalf("new secret after the overlap: %d %s", r.Status, r.Body)
	}
	// Without an overlap, the previous secret stops at once. (The
	// administrator's token expired during the hour.)
	w.admin = adminBearer(t, s)
	r = s.Do(t, "POST", "/admin/api/clients/app/secret", w.admin, "")
	third, _ := r.JSON(t)["clientSecret"].(string)
	if r.Status != http.StatusOK || third == "" || r.JSON(t)["previousSecretExpiresAt"] != nil {
		t.Fatalf("rotate without overlap: %d %s", r.Status, r.Body)
	}
	if r := w.token(t, second, ccGrant()); r.Status != http.StatusUnauthorized {
		t.Fatalf("previous secret after a rotation without overlap: %d %s", r.Status, r.Body)
	}
	if r := w.token(t, third, ccGrant()); r.Status != http.StatusOK {
		t.Fatalf("newest secret: %d %s", r.Status, r.Body)
	}
	for _, bad := range []string{`{"overlap":"soon"}`, `{"overlap":"-1h"}`} {
		if r := s.Do(t, "POST", "/admin/api/clients/app/secret", w.admin, bad); r.Status != http.StatusBadRequest {
			t.Fatalf("rotate with %s: %d %s", bad, r.Status, r.Body)
		}
	}
	if r := s.Do(t, "POST", "/admin/api/clients/tokengate/secret", w.admin, ""); r.Status != http.StatusBadRequest {
		t.Fatalf("rotate a public client's secret: %d %s", r.Status, r.Body)
	}
}

// TestClientRemove removes a client through the admin API: its sessions
// end with it and it no longer authenticates; the built-in public client,
// which every dialect's sessions use, can't be removed; an administrator
// of another tenant doesn't see the client at all.
func TestClientRemove(t *testing.T) {
	w := newClientWorld(t)
	s := w.s
	pair := w.token(t, w.secret, passwordGrant())
	if pair.Status != http.StatusOK {
		t.Fatalf("password grant: %d %s", pair.Status, pair.Body)
	}
	access, rt := pair.JSON(t)["access_token"].(string), pair.JSON(t)["refresh_token"].(string)

	ctx := context.Background()
	if _, err := s.App.Engine.CreateTenant(ctx, engine.NewTenant{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Engine.CreateUser(ctx, engine.NewUser{Tenant: "acme", Name: "boss", Password: "boss-password", Admin: true}); err != nil {
		t.Fatal(err)
	}
	g, err := s.App.Engine.SignOnPassword(ctx, engine.SignOnRequest{Tenant: "acme", Service: engine.ServiceOAuth2, Username: "boss", Password: "boss-password"})
	if err != nil {
		t.Fatal(err)
	}
	other := map[string]string{"Authorization": "Bearer " + g.AccessToken}
	if r := s.Do(t, "DELETE", "/admin/api/clients/app", other, ""); r.Status != http.StatusNotFound {
		t.Fatalf("remove by another tenant's administrator: %d %s", r.Status, r.Body)
	}
	if r := s.Do(t, "GET", "/admin/api/clients", w.admin, ""); r.Status != http.StatusOK {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}

	r := s.Do(t, "DELETE", "/admin/api/clients/app", w.admin, "")
	if r.Status != http.StatusOK || r.JSON(t)["sessionsEnded"] != float64(1) {
		t.Fatalf("remove: %d %s", r.Status, r.Body)
	}
	if got := w.introspect(access); got["active"] != false {
		t.Fatalf("token of a removed client's session: %v", got)
	}
	if r := w.token(t, w.secret, refreshGrant(rt)); r.Status != http.StatusUnauthorized {
		t.Fatalf("refresh as a removed client: %d %s", r.Status, r.Body)
	}
	if r := s.Do(t, "GET", "/admin/api/clients/app", w.admin, ""); r.Status != http.StatusNotFound {
		t.Fatalf("get a removed client: %d %s", r.Status, r.Body)
	}
	if r := s.Do(t, "DELETE", "/admin/api/clients/tokengate", w.admin, ""); r.Status != http.StatusConflict {
		t.Fatalf("remove the built-in client: %d %s", r.Status, r.Body)
	}
}

// TestClientRegistrationAPI registers a browser client through the admin
// API, changes its redirect URIs, and sees a bad URI and another tenant's
// client refused.
func TestClientRegistrationAPI(t *testing.T) {
	s := apptest.New(t, nil)
	admin := adminBearer(t, s)
	r := s.Do(t, "POST", "/admin/api/clients", admin, `{"clientId":"rp","name":"Relying party","redirectUris":["https://rp.example/cb"],
		"postLogoutRedirectUris":["https://rp.example/"],"scopes":["openid","email"]}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	if m["clientSecret"] == "" || m["public"] != false || m["firstParty"] != false || fmt.Sprint(m["grantTypes"]) != "[authorization_code refresh_token]" ||
		fmt.Sprint(m["redirectUris"]) != "[https://rp.example/cb]" || fmt.Sprint(m["scopes"]) != "[openid email]" {
		t.Errorf("created: %s", r.Body)
	}
	r = s.Do(t, "PATCH", "/admin/api/clients/rp", admin, `{"redirectUris":["https://rp.example/cb","https://rp.example/cb2"],"firstParty":true}`)
	if m := r.JSON(t); r.Status != http.StatusOK || fmt.Sprint(m["redirectUris"]) != "[https://rp.example/cb https://rp.example/cb2]" ||
		m["firstParty"] != true || fmt.Sprint(m["postLogoutRedirectUris"]) != "[https://rp.example/]" {
		t.Errorf("patch: %d %s", r.Status, r.Body)
	}
	if r := s.Do(t, "PATCH", "/admin/api/clients/rp", admin, `{"redirectUris":["https://rp.example/*"]}`); r.Status != http.StatusBadRequest ||
		!strings.Contains(string(r.Body), "no wildcards") {
		t.Errorf("wildcard: %d %s", r.Status, r.Body)
	}
	if _, _, err := s.App.Engine.CreateClient(context.Background(), engine.NewClient{Tenant: "other", ID: "theirs"}); err == nil {
		t.Fatal("a client of an unknown tenant was created")
	}
	if _, err := s.App.Engine.CreateTenant(context.Background(), engine.NewTenant{Name: "other"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.App.Engine.CreateClient(context.Background(), engine.NewClient{Tenant: "other", ID: "theirs",
		RedirectURIs: []string{"https://theirs.example/cb"}}); err != nil {
		t.Fatal(err)
	}
	if r := s.Do(t, "PATCH", "/admin/api/clients/theirs", admin, `{"redirectUris":["https://evil.example/cb"]}`); r.Status != http.StatusNotFound {
		t.Errorf("another tenant's client: %d %s", r.Status, r.Body)
	}
}
