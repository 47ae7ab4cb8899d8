package engine_test

import (
	"testing"

	"github.com/tokengate/tokengate/internal/engine"
)

// TestAuthenticateClientNamesTenant: the authenticated client carries the
// name of its tenant, the one its grants sign users on to.
func TestAuthenticateClientNamesTenant(t *testing.T) {
	e := newEnv(t)
	if _, err := e.eng.CreateTenant(e.ctx, engine.NewTenant{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.eng.CreateClient(e.ctx, engine.NewClient{Tenant: "acme", ID: "pub", Public: true}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"pub", "pub"} { // a read, then the remembered record
		c, err := e.eng.AuthenticateClient(e.ctx, id, "")
		if err != nil || c.Tenant != "acme" || c.ID != "pub" {
			t.Fatalf("AuthenticateClient = %q in %q, %v", c.ID, c.Tenant, err)
		}
	}
	c, err := e.eng.AuthenticateClient(e.ctx, engine.DefaultClientID, "")
	if err != nil || c.Tenant != "default" {
		t.Fatalf("default client in %q, %v", c.Tenant, err)
	}
}

// TestUpdateClient: a new secret works at once and the old one stops; grant
// types and the disabled flag change; a public client has no secret to
// renew; an unknown client is ErrUnknownClient.
func TestUpdateClient(t *testing.T) {
	e := newEnv(t)
	_, old, err := e.eng.CreateClient(e.ctx, engine.NewClient{ID: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.AuthenticateClient(e.ctx, "svc", old); err != nil {
		t.Fatal(err)
	}
	c, secret, err := e.eng.UpdateClient(e.ctx, "svc", engine.ClientUpdate{NewSecret: true, GrantTypes: []string{"client_credentials", "password"}})
	if err != nil || secret == "" || secret == old {
		t.Fatalf("UpdateClient: secret %t, %v", secret != "", err)
	}
	if len(c.GrantTypes) != 2 {
		t.Errorf("grant types %v", c.GrantTypes)
	}
	_, err = e.eng.AuthenticateClient(e.ctx, "svc", old)
	wantErr(t, err, engine.ErrInvalidClient)
	ac, err := e.eng.AuthenticateClient(e.ctx, "svc", secret)
	if err != nil {
		t.Fatalf("new secret: %v", err)
	}
	if err := engine.ClientMayUse(ac.Client, "password"); err != nil {
		t.Errorf("new grant type: %v", err)
	}
	yes := true
	if _, s, err := e.eng.UpdateClient(e.ctx, "svc", engine.ClientUpdate{Disabled: &yes}); err != nil || s != "" {
		t.Fatalf("disable: secret %q, %v", s, err)
	}
	// The engine forgot its remembered record: the disabled client is
	// refused at once.
	_, err = e.eng.AuthenticateClient(e.ctx, "svc", secret)
	wantErr(t, err, engine.ErrInvalidClient)

	_, _, err = e.eng.UpdateClient(e.ctx, engine.DefaultClientID, engine.ClientUpdate{NewSecret: true})
	wantErr(t, err, engine.ErrInvalidRequest)
	_, _, err = e.eng.UpdateClient(e.ctx, "nope", engine.ClientUpdate{})
	wantErr(t, err, engine.ErrUnknownClient)
}

// TestDisabledClientTokens: while a client is disabled, the tokens of its
// sessions are inactive at introspection, its sessions do not refresh
// (whichever surface asks) and its sessions are not live for the proxy;
// its own client-credentials tokens are inactive too.
func TestDisabledClientTokens(t *testing.T) {
	e := newEnv(t)
	e.user("alice", true)
	c, secret, err := e.eng.CreateClient(e.ctx, engine.NewClient{ID: "app", GrantTypes: []string{"password", "refresh_token", "client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := e.eng.SignOnPassword(e.ctx, engine.SignOnRequest{Service: "oauth2", ClientID: "app", Username: "alice", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	own, err := e.eng.ClientCredentials(e.ctx, c, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.AuthenticateClient(e.ctx, "app", secret); err != nil { // remembered now
		t.Fatal(err)
	}
	yes, no := true, false
	if _, _, err := e.eng.UpdateClient(e.ctx, "app", engine.ClientUpdate{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"session access token": g.AccessToken, "refresh token": g.RefreshToken, "client's own token": own.AccessToken} {
		if in, err := e.eng.Inspect(e.ctx, tok); err != nil || in.Active {
			t.Errorf("%s of a disabled client: active %t, %v", name, in.Active, err)
		}
	}
	_, err = e.eng.Refresh(e.ctx, engine.RefreshRequest{Token: g.RefreshToken})
	wantErr(t, err, engine.ErrTokenRevoked)
	_, err = e.eng.SessionLive(e.ctx, g.Session.ID)
	wantErr(t, err, engine.ErrTokenRevoked)

	if _, _, err := e.eng.UpdateClient(e.ctx, "app", engine.ClientUpdate{Disabled: &no}); err != nil {
		t.Fatal(err)
	}
	if in, err := e.eng.Inspect(e.ctx, g.AccessToken); err != nil || !in.Active {
		t.Fatalf("enabled again: active %t, %v", in.Active, err)
	}
	if _, err := e.eng.Refresh(e.ctx, engine.RefreshRequest{Token: g.RefreshToken}); err != nil {
		t.Fatalf("refresh once enabled again: %v", err)
	}
}
