package engine_test

import (
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/engine"
)

// A token verified once is remembered, but what the cache skips is only
// the signature check: expiry, revocation and kind are checked at every
// use.
func TestVerifiedAccessTokenStillChecked(t *testing.T) {
	t.Run("revoked session", func(t *testing.T) {
		e := newEnv(t)
		e.user("vc-alice", true)
		g := e.signOn("vc-alice", "oauth2")
		for range 2 { // the second time from the cache
			in, err := e.eng.Inspect(e.ctx, g.AccessToken)
			if err != nil || !in.Active {
				t.Fatalf("introspect: active %t, err %v", in.Active, err)
			}
		}
		if err := e.eng.RevokeSession(e.ctx, g.Session.ID, "test"); err != nil {
			t.Fatal(err)
		}
		if in, err := e.eng.Inspect(e.ctx, g.AccessToken); err != nil || in.Active {
			t.Fatalf("after revocation: active %t, err %v", in.Active, err)
		}
	})
	t.Run("expiry", func(t *testing.T) {
		e := newEnv(t)
		e.user("vc-bob", true)
		g := e.signOn("vc-bob", "oauth2")
		if _, err := e.eng.VerifyAccess(g.AccessToken); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(accessTTL - time.Second)
		if _, err := e.eng.VerifyAccess(g.AccessToken); err != nil {
			t.Fatalf("before exp: %v", err)
		}
		e.clock.Advance(time.Minute + time.Second) // past exp and the leeway
		wantErr(t, func() error { _, err := e.eng.VerifyAccess(g.AccessToken); return err }(), engine.ErrTokenExpired)
	})
	t.Run("kind", func(t *testing.T) {
		e := newEnv(t)
		e.user("vc-carol", true)
		g := e.signOn("vc-carol", "oauth2")
		if _, err := e.eng.Inspect(e.ctx, g.RefreshToken); err != nil {
			t.Fatal(err)
		}
		if _, err := e.eng.Inspect(e.ctx, g.AccessToken); err != nil {
			t.Fatal(err)
		}
		// A cached access token is still refused where a refresh token is
		// wanted, and a refresh token is never taken as an access token.
		if _, err := e.eng.Refresh(e.ctx, engine.RefreshRequest{Token: g.AccessToken}); err == nil {
			t.Error("refresh with an access token succeeded")
		}
		if _, err := e.eng.VerifyAccess(g.RefreshToken); err == nil {
			t.Error("a refresh token verified as an access token")
		}
	})
	t.Run("returned claims are copies", func(t *testing.T) {
		e := newEnv(t)
		e.user("vc-dave", true)
		g := e.signOn("vc-dave", "oauth2")
		c1, err := e.eng.VerifyAccess(g.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		c1.Subject, c1.PreferredUsername = "mallory", "mallory"
		c2, err := e.eng.VerifyAccess(g.AccessToken)
		if err != nil || c2.Subject != g.User.ID || c2.PreferredUsername != "vc-dave" {
			t.Fatalf("second verification: subject %q (%q), err %v", c2.Subject, c2.PreferredUsername, err)
		}
	})
}
