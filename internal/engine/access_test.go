package engine_test

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/token"
)

func errorIs(err, target error) bool { return errors.Is(err, target) }

func TestIntrospect(t *testing.T) {
	e := newEnv(t)
	e.user("alice", true)
	g := e.signOn("alice", "oauth2")
	other := e.signOn("alice", "oauth2")
	e.clock.Advance(time.Minute)
	g1 := e.mustRefresh(g.RefreshToken)
	if err := e.eng.RevokeSession(e.ctx, other.Session.ID, "test"); err != nil {
		t.Fatal(err)
	}
	check := func(name, tok string, want bool) {
		t.Helper()
		in, err := e.eng.Inspect(e.ctx, tok)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if in.Active != want {
			t.Fatalf("%s: active %t, want %t", name, in.Active, want)
		}
		if want && (in.Claims == nil || in.Session.ID == "") {
			t.Fatalf("%s: active without claims or session", name)
		}
	}
	check("access token", g.AccessToken, true)
	check("current refresh token", g1.RefreshToken, true)
	check("previous refresh token in grace", g.RefreshToken, true)
	check("revoked session's access token", other.AccessToken, false)
	check("revoked session's refresh token", other.RefreshToken, false)
	check("garbage", "garbage", false)
	e.clock.Advance(grace + time.Second)
	check("previous refresh token after grace", g.RefreshToken, false)
	check("current refresh token after grace", g1.RefreshToken, true)
	e.clock.Advance(accessTTL)
	check("expired access token", g1.AccessToken, false)
}

func TestClientCredentialsAndIntrospect(t *testing.T) {
	e := newEnv(t)
	_, secret, err := e.eng.CreateClient(e.ctx, engine.NewClient{ID: "svc"})
	if err != nil || secret == "" {
		t.Fatalf("create client: %v", err)
	}
	if _, err := e.eng.AuthenticateClient(e.ctx, "svc", "wrong"); !errors.Is(err, engine.ErrInvalidClient) {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := e.eng.AuthenticateClient(e.ctx, engine.DefaultClientID, "a secret"); !errors.Is(err, engine.ErrInvalidClient) {
		t.Fatalf("public client with secret: %v", err)
	}
	authed, err := e.eng.AuthenticateClient(e.ctx, "svc", secret)
	if err != nil {
		t.Fatal(err)
	}
	g, err := e.eng.ClientCredentials(e.ctx, authed.Client, "read")
	if err != nil {
		t.Fatal(err)
	}
	if g.RefreshToken != "" {
		t.Fatal("client credentials issued a refresh token")
	}
	ac, err := e.eng.VerifyAccess(g.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	// The client's own token: a sub no user can have (sub was the bare
	// client_id, which a user could have as a name, before ids in sub).
	if ac.Subject != engine.ClientSubjectPrefix+"svc" || ac.ClientID != "svc" || ac.SessionID != "" || ac.Scope != "read" {
		t.Fatalf("claims sub %q client %q sid %q scope %q", ac.Subject, ac.ClientID, ac.SessionID, ac.Scope)
	}
	in, err := e.eng.Inspect(e.ctx, g.AccessToken)
	if err != nil || !in.Active {
		t.Fatalf("introspect: active %t err %v", in.Active, err)
	}
}

func TestRevokeToken(t *testing.T) {
	for _, use := range []string{token.UseAccess, token.UseRefresh} {
		t.Run(use, func(t *testing.T) {
			e := newEnv(t)
			e.user("alice", true)
			g := e.signOn("alice", "oauth2")
			tok := g.AccessToken
			if use == token.UseRefresh {
				tok = g.RefreshToken
			}
			err := e.eng.RevokeToken(e.ctx, tok, "another-client")
			wantErr(t, err, engine.ErrUnauthorizedClient)
			if _, err := e.eng.SessionLive(e.ctx, g.Session.ID); err != nil {
				t.Fatalf("a refused revocation ended the session: %v", err)
			}
			if err := e.eng.RevokeToken(e.ctx, tok, engine.DefaultClientID); err != nil {
				t.Fatal(err)
			}
			_, err = e.refresh(g.RefreshToken)
			wantErr(t, err, engine.ErrTokenRevoked)
			if s := e.session(g.Session.ID); s.RevokeReason != "revoked_by_client" {
				t.Fatalf("reason %q", s.RevokeReason)
			}
			// Revoking again, or revoking garbage, is not an error (RFC 7009 §2.2).
			if err := e.eng.RevokeToken(e.ctx, tok, engine.DefaultClientID); err != nil {
				t.Fatal(err)
			}
			if err := e.eng.RevokeToken(e.ctx, "garbage", ""); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestClientSecretChangeTakesEffectAtOnce: AuthenticateClient remembers
// client records briefly, but a secret that does not match the remembered
// record is checked against the store again, so a secret set by another
// process (tokengate client ... on the same data directory) works at once.
func TestClientSecretChangeTakesEffectAtOnce(t *testing.T) {
	e := newEnv(t)
	c, secret, err := e.eng.CreateClient(e.ctx, engine.NewClient{ID: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.AuthenticateClient(e.ctx, "svc", secret); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("a new secret"))
	c.SecretHash = sum[:]
	if err := e.st.UpdateClient(e.ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.AuthenticateClient(e.ctx, "svc", "a new secret"); err != nil {
		t.Fatalf("new secret: %v", err)
	}
	c.Disabled = true
	if err := e.st.UpdateClient(e.ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.AuthenticateClient(e.ctx, "svc", "wrong"); !errors.Is(err, engine.ErrInvalidClient) {
		t.Fatalf("wrong secret: %v", err)
	}
	// The refusal re-read the record: the disabled client is refused now,
	// not only after the cache's bound.
	if _, err := e.eng.AuthenticateClient(e.ctx, "svc", "a new secret"); !errors.Is(err, engine.ErrInvalidClient) {
		t.Fatalf("disabled client after a re-read: %v", err)
	}
}
