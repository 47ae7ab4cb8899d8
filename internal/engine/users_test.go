package engine_test

import (
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

func TestRefreshDisabledUserGetsAccessTokenOnly(t *testing.T) {
	e := newEnv(t)
	e.user("dave", false)
	g := e.signOn("dave", "oauth2")
	if g.RefreshToken != "" {
		t.Fatal("a user without refresh got a refresh token")
	}
	if g.Session.Policy != store.PolicyNone {
		t.Fatalf("policy %q, want none", g.Session.Policy)
	}
	if g.RefreshExpiresIn() != g.AccessExpiresIn() {
		t.Fatalf("session outlives its access token: %d s vs %d s", g.RefreshExpiresIn(), g.AccessExpiresIn())
	}
	if _, err := e.eng.SessionLive(e.ctx, g.Session.ID); err != nil {
		t.Fatalf("session not live after sign-on: %v", err)
	}
	e.clock.Advance(accessTTL)
	_, err := e.eng.SessionLive(e.ctx, g.Session.ID)
	wantErr(t, err, engine.ErrTokenExpired)
	_, err = e.eng.VerifyAccess(g.AccessToken)
	wantErr(t, err, engine.ErrTokenExpired)
	// Nor can an API token be made for such a user.
	u, _ := e.eng.User(e.ctx, "", "dave")
	_, err = e.eng.CreateAPIToken(e.ctx, engine.APITokenRequest{User: u.ID, Label: "ci", ByAdministrator: true})
	wantErr(t, err, engine.ErrRefreshNotEnabled)
}

func TestUserChangesEndSessions(t *testing.T) {
	newPW := "a new password"
	yes, no := true, false
	for _, tc := range []struct {
		name   string
		update engine.UserUpdate
		reason string
		// signOn is the error of a sign-on after the update (with the old password).
		signOn error
		// refresh is the error of a refresh of a session the update ended.
		refresh error
	}{
		{"withdraw refresh", engine.UserUpdate{RefreshEnabled: &no}, "refresh_disabled", nil, engine.ErrTokenRevoked},
		// A disabled user's refresh says why, while the user is disabled.
		{"disable", engine.UserUpdate{Disabled: &yes}, "user_disabled", engine.ErrUserDisabled, engine.ErrUserDisabled},
		{"password change", engine.UserUpdate{Password: &newPW}, "password_changed", engine.ErrInvalidCredentials, engine.ErrTokenRevoked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			u := e.user("erin", true)
			g1 := e.signOn("erin", "oauth2")
			g2 := e.signOn("erin", "core")
			if n := e.liveSessions(u.ID); n != 2 {
				t.Fatalf("%d live sessions before, want 2", n)
			}
			if _, err := e.eng.UpdateUser(e.ctx, u.ID, tc.update); err != nil {
				t.Fatalf("update: %v", err)
			}
			if n := e.liveSessions(u.ID); n != 0 {
				t.Fatalf("%d live sessions after, want 0", n)
			}
			for _, g := range []*engine.Grant{g1, g2} {
				_, err := e.refresh(g.RefreshToken)
				wantErr(t, err, tc.refresh)
				if s := e.session(g.Session.ID); s.RevokeReason != tc.reason {
					t.Fatalf("revoke reason %q, want %q", s.RevokeReason, tc.reason)
				}
			}
			g, err := e.eng.SignOnPassword(e.ctx, engine.SignOnRequest{Service: "oauth2", ClientID: engine.DefaultClientID, Username: "erin", Password: password})
			if tc.signOn != nil {
				wantErr(t, err, tc.signOn)
				return
			}
			if err != nil {
				t.Fatalf("sign on: %v", err)
			}
			if g.RefreshToken != "" {
				t.Fatal("refresh token after refresh was withdrawn")
			}
		})
	}
}

func TestNewPasswordSignsOn(t *testing.T) {
	e := newEnv(t)
	u := e.user("erin", true)
	pw := "another password"
	if _, err := e.eng.UpdateUser(e.ctx, u.ID, engine.UserUpdate{Password: &pw}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.SignOnPassword(e.ctx, engine.SignOnRequest{Service: "oauth2", Username: "erin", Password: pw}); err != nil {
		t.Fatalf("sign on with the new password: %v", err)
	}
}

func TestSignOnFailures(t *testing.T) {
	e := newEnv(t)
	e.user("frank", true)
	for _, tc := range []struct {
		name string
		req  engine.SignOnRequest
		want error
	}{
		{"wrong password", engine.SignOnRequest{Service: "oauth2", Username: "frank", Password: "nope"}, engine.ErrInvalidCredentials},
		{"unknown user", engine.SignOnRequest{Service: "oauth2", Username: "nobody", Password: password}, engine.ErrInvalidCredentials},
		{"unknown tenant", engine.SignOnRequest{Tenant: "nowhere", Service: "oauth2", Username: "frank", Password: password}, engine.ErrInvalidCredentials},
		{"missing password", engine.SignOnRequest{Service: "oauth2", Username: "frank"}, engine.ErrInvalidRequest},
		{"unknown service", engine.SignOnRequest{Service: "nope", Username: "frank", Password: password}, engine.ErrInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.eng.SignOnPassword(e.ctx, tc.req)
			wantErr(t, err, tc.want)
		})
	}
}

func TestAPITokenIsStable(t *testing.T) {
	e := newEnv(t)
	u := e.user("gina", true)
	g, err := e.eng.CreateAPIToken(e.ctx, engine.APITokenRequest{User: u.ID, Label: "ci", ByAdministrator: true})
	if err != nil {
		t.Fatal(err)
	}
	if g.Session.Policy != store.PolicyStable || g.Session.Label != "ci" || g.RefreshToken == "" {
		t.Fatalf("API token session: policy %q label %q", g.Session.Policy, g.Session.Label)
	}
	e.clock.Advance(time.Hour)
	for range 2 {
		if n := e.mustRefresh(g.RefreshToken); n.RefreshToken != "" {
			t.Fatal("stable refresh returned a new token")
		}
	}
}

// TestReenabledUserKeepsEndedSessions: enabling a disabled user again does
// not bring back the sessions that disabling ended; their refresh tokens
// are then simply revoked.
func TestReenabledUserKeepsEndedSessions(t *testing.T) {
	e := newEnv(t)
	u := e.user("erin", true)
	g := e.signOn("erin", "oauth2")
	yes, no := true, false
	if _, err := e.eng.UpdateUser(e.ctx, u.ID, engine.UserUpdate{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	_, err := e.refresh(g.RefreshToken)
	wantErr(t, err, engine.ErrUserDisabled)
	if _, err := e.eng.UpdateUser(e.ctx, u.ID, engine.UserUpdate{Disabled: &no}); err != nil {
		t.Fatal(err)
	}
	_, err = e.refresh(g.RefreshToken)
	wantErr(t, err, engine.ErrTokenRevoked)
}

// TestSignOnRacingAnAdminChange: a sign-on authenticates on the user as it
// read it, then starts the session. If an administrator disabled the user,
// changed the password or withdrew refresh in between (ending the user's
// sessions), no session may start after that.
func TestSignOnRacingAnAdminChange(t *testing.T) {
	yes, no := true, false
	newPW := "changed meanwhile"
	for _, tc := range []struct {
		name   string
		update engine.UserUpdate
		want   error
	}{
		{"disabled", engine.UserUpdate{Disabled: &yes}, engine.ErrUserDisabled},
		{"password changed", engine.UserUpdate{Password: &newPW}, engine.ErrInvalidCredentials},
		{"refresh withdrawn", engine.UserUpdate{RefreshEnabled: &no}, engine.ErrRefreshNotEnabled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			stale := e.user("erin", true) // read before the change, as signOnPassword does
			if _, err := e.eng.UpdateUser(e.ctx, stale.ID, tc.update); err != nil {
				t.Fatal(err)
			}
			tn, err := e.eng.Tenant(e.ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.eng.StartSession(e.ctx, tn, stale, engine.SignOnRequest{Service: "oauth2", ClientID: engine.DefaultClientID, Username: "erin", Password: password})
			wantErr(t, err, tc.want)
			if n := e.liveSessions(stale.ID); n != 0 {
				t.Fatalf("%d live sessions after a sign-on that raced the change", n)
			}
		})
	}
}
