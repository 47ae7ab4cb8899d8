package engine_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

func TestBrowserSignIn(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", false)

	b, err := e.eng.SignInBrowser(e.ctx, "", "alice", password)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if len(b.Token) < 40 || b.User.ID != u.ID || b.Session.AuthMethod != string(store.AuthPassword) {
		t.Fatalf("sign-in = token %d chars, user %q, method %q", len(b.Token), b.User.Name, b.Session.AuthMethod)
	}
	now := e.clock.Now()
	if !b.Session.AuthTime.Equal(now) || !b.Session.PasswordAt.Equal(now) {
		t.Fatalf("auth time %v, password at %v, want %v", b.Session.AuthTime, b.Session.PasswordAt, now)
	}
	// The store keeps the token's hash, never the token.
	stored, err := e.st.GetBrowserSession(e.ctx, b.Session.ID)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(b.Token))
	if !bytes.Equal(stored.TokenHash, sum[:]) || bytes.Contains(stored.TokenHash, []byte(b.Token)) {
		t.Fatal("stored token hash is not the SHA-256 of the token")
	}
	// A browser session is no token session: nothing counts toward limits.
	if n := e.liveSessions(u.ID); n != 0 {
		t.Fatalf("browser sign-in started %d token sessions", n)
	}

	p, err := e.eng.BrowserSession(e.ctx, b.Token)
	if err != nil || p.User.ID != u.ID || p.Tenant.Name != "default" {
		t.Fatalf("BrowserSession = %q, %v", p.User.Name, err)
	}

	// Unknown user and wrong password: the same error.
	_, err1 := e.eng.SignInBrowser(e.ctx, "", "nobody", password)
	_, err2 := e.eng.SignInBrowser(e.ctx, "", "alice", "wrong")
	wantErr(t, err1, engine.ErrInvalidCredentials)
	wantErr(t, err2, engine.ErrInvalidCredentials)
	if err1.Error() != err2.Error() {
		t.Fatalf("unknown user %q and wrong password %q differ", err1, err2)
	}
	// Failed browser sign-ins are audited like any failed sign-on.
	evs, err := e.st.ListAudit(e.ctx, store.AuditFilter{Type: "signon.failed"})
	if err != nil || len(evs) != 2 || evs[0].Detail["service"] != engine.ServiceWeb {
		t.Fatalf("signon.failed events = %+v, %v", evs, err)
	}

	for _, tok := range []string{"", "x", b.Token + "x", string(make([]byte, 300))} {
		if _, err := e.eng.BrowserSession(e.ctx, tok); err != engine.ErrBrowserSessionEnded {
			t.Errorf("BrowserSession(%.10q) = %v, want ErrBrowserSessionEnded", tok, err)
		}
	}
}

func TestBrowserSessionLifetimes(t *testing.T) {
	e := newEnv(t)
	e.user("alice", false)
	b, err := e.eng.SignInBrowser(e.ctx, "", "alice", password)
	if err != nil {
		t.Fatal(err)
	}
	// Used every 20 minutes, it slides past the 30-minute idle lifetime...
	for range 6 {
		e.clock.Advance(20 * time.Minute)
		if _, err := e.eng.BrowserSession(e.ctx, b.Token); err != nil {
			t.Fatalf("at %v: %v", e.clock.Now(), err)
		}
	}
	// ...but left alone for 31 minutes it ends.
	e.clock.Advance(31 * time.Minute)
	if _, err := e.eng.BrowserSession(e.ctx, b.Token); err != engine.ErrBrowserSessionEnded {
		t.Fatalf("after idle: %v", err)
	}

	// However often it is used, it ends 12 hours after sign-in.
	b, err = e.eng.SignInBrowser(e.ctx, "", "alice", password)
	if err != nil {
		t.Fatal(err)
	}
	start := e.clock.Now()
	for e.clock.Now().Sub(start) < 12*time.Hour-20*time.Minute {
		e.clock.Advance(20 * time.Minute)
		if _, err := e.eng.BrowserSession(e.ctx, b.Token); err != nil {
			t.Fatalf("at +%v: %v", e.clock.Now().Sub(start), err)
		}
	}
	e.clock.Advance(20 * time.Minute)
	if _, err := e.eng.BrowserSession(e.ctx, b.Token); err != engine.ErrBrowserSessionEnded {
		t.Fatalf("past the absolute lifetime: %v", err)
	}
}

func TestBrowserSignOut(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", true)
	other := e.user("bob", false)
	b1, _ := e.eng.SignInBrowser(e.ctx, "", "alice", password)
	b2, _ := e.eng.SignInBrowser(e.ctx, "", "alice", password)
	bob, _ := e.eng.SignInBrowser(e.ctx, "", "bob", password)

	if err := e.eng.SignOutBrowser(e.ctx, b1.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.BrowserSession(e.ctx, b1.Token); err != engine.ErrBrowserSessionEnded {
		t.Fatalf("signed-out session: %v", err)
	}
	if err := e.eng.SignOutBrowser(e.ctx, b1.Token); err != nil {
		t.Fatalf("signing out twice: %v", err)
	}
	if _, err := e.eng.BrowserSession(e.ctx, b2.Token); err != nil {
		t.Fatalf("the other browser was signed out too: %v", err)
	}
	// A user can't end another user's browser session.
	wantErr(t, e.eng.EndBrowserSession(e.ctx, u.ID, bob.Session.ID), engine.ErrUnknownSession)
	if _, err := e.eng.BrowserSession(e.ctx, bob.Token); err != nil {
		t.Fatalf("bob was signed out by alice: %v", err)
	}
	live, err := e.eng.BrowserSessions(e.ctx, u.ID)
	if err != nil || len(live) != 1 || live[0].ID != b2.Session.ID {
		t.Fatalf("live browser sessions = %v, %v", live, err)
	}
	wantErr(t, e.eng.EndBrowserSession(e.ctx, other.ID, b2.Session.ID), engine.ErrUnknownSession)
	if err := e.eng.EndBrowserSession(e.ctx, u.ID, b2.Session.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.BrowserSession(e.ctx, b2.Token); err != engine.ErrBrowserSessionEnded {
		t.Fatalf("ended session: %v", err)
	}
}

func TestSignOutEverywhereKeepsAPITokens(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", true)
	b, _ := e.eng.SignInBrowser(e.ctx, "", "alice", password)
	g1 := e.signOn("alice", "oauth2")
	g2 := e.signOn("alice", "core")
	api, err := e.eng.CreateAPIToken(e.ctx, engine.APITokenRequest{User: u.ID, Label: "laptop", ByAdministrator: true})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.eng.SignOutEverywhere(e.ctx, u.ID)
	if err != nil || out.Browsers != 1 || out.Sessions != 2 {
		t.Fatalf("SignOutEverywhere = %+v, %v", out, err)
	}
	if _, err := e.eng.BrowserSession(e.ctx, b.Token); err != engine.ErrBrowserSessionEnded {
		t.Fatalf("browser: %v", err)
	}
	for _, g := range []*engine.Grant{g1, g2} {
		if _, err := e.refresh(g.RefreshToken); err == nil {
			t.Fatalf("session %s still refreshes", g.Session.Service)
		}
	}
	if _, err := e.refresh(api.RefreshToken); err != nil {
		t.Fatalf("the API token was ended: %v", err)
	}
}

func TestPasswordChangeAndDisableEndBrowserSessions(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", false)
	b, _ := e.eng.SignInBrowser(e.ctx, "", "alice", password)
	pw := "a new password"
	if _, err := e.eng.UpdateUser(e.ctx, u.ID, engine.UserUpdate{Password: &pw}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.BrowserSession(e.ctx, b.Token); err != engine.ErrBrowserSessionEnded {
		t.Fatalf("after a password change: %v", err)
	}
	b, err := e.eng.SignInBrowser(e.ctx, "", "alice", pw)
	if err != nil {
		t.Fatal(err)
	}
	// Withdrawing refresh ends token sessions, not the browser.
	no := false
	if _, err := e.eng.UpdateUser(e.ctx, u.ID, engine.UserUpdate{RefreshEnabled: &no}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.BrowserSession(e.ctx, b.Token); err != nil {
		t.Fatalf("a refresh change signed the browser out: %v", err)
	}
	yes := true
	if _, err := e.eng.UpdateUser(e.ctx, u.ID, engine.UserUpdate{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.BrowserSession(e.ctx, b.Token); err != engine.ErrBrowserSessionEnded {
		t.Fatalf("after disabling: %v", err)
	}
	if _, err := e.eng.SignInBrowser(e.ctx, "", "alice", pw); err != engine.ErrUserDisabled {
		t.Fatalf("disabled user signs in: %v", err)
	}
}

func TestAPITokenInBrowserNeedsRecentPassword(t *testing.T) {
	e := newEnv(t)
	e.user("alice", true)
	b, _ := e.eng.SignInBrowser(e.ctx, "", "alice", password)
	g, err := e.eng.CreateAPITokenInBrowser(e.ctx, b.BrowserPrincipal, "fresh")
	if err != nil || g.RefreshToken == "" || g.Session.Label != "fresh" {
		t.Fatalf("fresh sign-in: %v", err)
	}
	// Past the engine's reauthentication window (5 minutes by default)
	// the browser, though signed in, must give the password again.
	e.clock.Advance(engine.DefaultAPITokenReauth + time.Minute)
	p, err := e.eng.BrowserSession(e.ctx, b.Token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.CreateAPITokenInBrowser(e.ctx, p, "stale"); !errors.Is(err, engine.ErrReauthenticationRequired) {
		t.Fatalf("after the window: %v", err)
	}
	if _, err := e.eng.ConfirmPassword(e.ctx, p, "wrong"); !errors.Is(err, engine.ErrInvalidCredentials) {
		t.Fatalf("confirm with a wrong password: %v", err)
	}
	p, err = e.eng.ConfirmPassword(e.ctx, p, password)
	if err != nil || !p.Session.PasswordAt.Equal(e.clock.Now()) || !p.Session.AuthTime.Equal(e.clock.Now()) {
		t.Fatalf("confirm: %v, password at %v", err, p.Session.PasswordAt)
	}
	// The confirmation is stored: a later request reads it.
	p, _ = e.eng.BrowserSession(e.ctx, b.Token)
	if _, err := e.eng.CreateAPITokenInBrowser(e.ctx, p, "after confirming"); err != nil {
		t.Fatalf("after confirming: %v", err)
	}
}

func TestExternalBrowserSignInCreatesNoAPIToken(t *testing.T) {
	e := newEnv(t)
	b, err := e.eng.SignInBrowserExternal(e.ctx, "", "corp", engine.ExternalIdentity{Issuer: "https://id.example", Subject: "s-1",
		Username: "erin", CreateUser: true, RefreshEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Session.PasswordAt.IsZero() || b.Session.AuthMethod != engine.AuthOIDCPrefix+"corp" {
		t.Fatalf("external sign-in recorded %q, password at %v", b.Session.AuthMethod, b.Session.PasswordAt)
	}
	// No password was given in this browser: an API token needs one.
	if _, err := e.eng.CreateAPITokenInBrowser(e.ctx, b.BrowserPrincipal, "x"); !errors.Is(err, engine.ErrReauthenticationRequired) {
		t.Fatalf("API token from an external sign-in: %v", err)
	}
}

func TestThrottledBrowserSignIn(t *testing.T) {
	e := newEnv(t)
	e.user("alice", false)
	var err error
	for range 20 {
		if _, err = e.eng.SignInBrowser(e.ctx, "", "alice", "wrong"); errors.Is(err, engine.ErrThrottled) {
			break
		}
	}
	if !errors.Is(err, engine.ErrThrottled) || engine.RetryAfter(err) < 1 {
		t.Fatalf("repeated wrong passwords in the browser: %v (retry after %d)", err, engine.RetryAfter(err))
	}
	// The same throttle holds for the dialects' password sign-on.
	if _, err := e.eng.SignOnPassword(e.ctx, engine.SignOnRequest{Service: "oauth2", ClientID: engine.DefaultClientID, Username: "alice", Password: password}); !errors.Is(err, engine.ErrThrottled) {
		t.Fatalf("the token endpoint's sign-on is not throttled after the browser's failures: %v", err)
	}
}

func TestDeadBrowserSessionsPurged(t *testing.T) {
	e := newEnv(t)
	e.user("alice", false)
	old, _ := e.eng.SignInBrowser(e.ctx, "", "alice", password)
	if err := e.eng.SignOutBrowser(e.ctx, old.Token); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(engine.PurgeRetention + time.Minute)
	live, _ := e.eng.SignInBrowser(e.ctx, "", "alice", password)
	n, err := e.eng.PurgeBrowserSessions(e.ctx, 100, 10)
	if err != nil || n != 1 {
		t.Fatalf("purged %d, %v; want the one signed out a day ago", n, err)
	}
	if _, err := e.st.GetBrowserSession(e.ctx, old.Session.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the dead browser session is still stored: %v", err)
	}
	if _, err := e.eng.BrowserSession(e.ctx, live.Token); err != nil {
		t.Fatalf("the live one was purged: %v", err)
	}
}
