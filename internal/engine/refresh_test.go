package engine_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/obs"
	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/token"
)

func TestRotationIssuesNewTokenAndAdvancesGeneration(t *testing.T) {
	e := newEnv(t)
	e.user("alice", true)
	g := e.signOn("alice", "oauth2")
	if g.RefreshToken == "" || g.Session.Policy != store.PolicyRotating {
		t.Fatalf("sign-on: refresh token %t, policy %q; want a rotating refresh token", g.RefreshToken != "", g.Session.Policy)
	}
	seen := map[string]bool{g.RefreshToken: true}
	rt := g.RefreshToken
	for gen := int64(1); gen <= 5; gen++ {
		e.clock.Advance(time.Minute)
		n := e.mustRefresh(rt)
		if n.RefreshToken == "" || seen[n.RefreshToken] {
			t.Fatalf("refresh %d: got no new refresh token", gen)
		}
		seen[n.RefreshToken] = true
		if c := e.claims(n.RefreshToken); c.Generation != gen || c.UseFor != token.UseRefresh || c.SessionID != g.Session.ID {
			t.Fatalf("refresh %d: claims gen %d use %q sid %q", gen, c.Generation, c.UseFor, c.SessionID)
		}
		if s := e.session(g.Session.ID); s.Generation != gen {
			t.Fatalf("stored generation %d, want %d", s.Generation, gen)
		}
		if c := e.claims(n.AccessToken); c.UseFor != token.UseAccess || c.SessionID != g.Session.ID {
			t.Fatalf("access token claims: use %q sid %q", c.UseFor, c.SessionID)
		}
		rt = n.RefreshToken
	}
}

func TestReuseRevokesFamily(t *testing.T) {
	e := newEnv(t)
	e.user("alice", true)
	g := e.signOn("alice", "oauth2")
	e.clock.Advance(time.Minute)
	g1 := e.mustRefresh(g.RefreshToken)
	e.clock.Advance(time.Minute)
	g2 := e.mustRefresh(g1.RefreshToken)

	// g.RefreshToken is two generations old: reuse, even inside the grace window
	// of the last rotation.
	_, err := e.refresh(g.RefreshToken)
	wantErr(t, err, engine.ErrTokenReused)
	s := e.session(g.Session.ID)
	if s.RevokedAt.IsZero() || s.RevokeReason != "reuse" {
		t.Fatalf("session after reuse: revoked %v reason %q", s.RevokedAt, s.RevokeReason)
	}
	_, err = e.refresh(g2.RefreshToken)
	wantErr(t, err, engine.ErrTokenRevoked)
	if _, err := e.eng.SessionLive(e.ctx, g.Session.ID); err == nil {
		t.Fatal("session still live after reuse")
	}
	ev, err := e.st.ListAudit(e.ctx, store.AuditFilter{SessionID: g.Session.ID, Type: "refresh.reuse"})
	if err != nil || len(ev) != 1 {
		t.Fatalf("audit refresh.reuse: %d events, err %v", len(ev), err)
	}
}

func TestReuseOfPreviousTokenAfterGraceWindow(t *testing.T) {
	e := newEnv(t)
	e.user("alice", true)
	g := e.signOn("alice", "oauth2")
	g1 := e.mustRefresh(g.RefreshToken)
	e.clock.Advance(grace + time.Second)
	_, err := e.refresh(g.RefreshToken)
	wantErr(t, err, engine.ErrTokenReused)
	_, err = e.refresh(g1.RefreshToken)
	wantErr(t, err, engine.ErrTokenRevoked)
}

func TestGraceWindowReturnsSameSuccessor(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after time.Duration
	}{
		{"immediately", 0},
		{"half way", grace / 2},
		{"at the edge", grace},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.user("alice", true)
			g := e.signOn("alice", "oauth2")
			e.clock.Advance(time.Minute)
			g1 := e.mustRefresh(g.RefreshToken)
			e.clock.Advance(tc.after)
			again := e.mustRefresh(g.RefreshToken)
			if again.RefreshToken != g1.RefreshToken {
				t.Fatal("retry inside the grace window returned a different refresh token (EdDSA must give the same bytes)")
			}
			if again.AccessToken == "" {
				t.Fatal("retry returned no access token")
			}
			if s := e.session(g.Session.ID); s.Generation != 1 || !s.RevokedAt.IsZero() {
				t.Fatalf("after retry: generation %d revoked %v; want 1, live", s.Generation, s.RevokedAt)
			}
			// The successor still rotates normally.
			g2 := e.mustRefresh(g1.RefreshToken)
			if g2.RefreshToken == g1.RefreshToken {
				t.Fatal("successor did not rotate")
			}
		})
	}
}

func TestIdleExpiry(t *testing.T) {
	e := newEnv(t)
	e.user("alice", true)
	g := e.signOn("alice", "oauth2")
	e.clock.Advance(idleTTL - time.Second)
	g1 := e.mustRefresh(g.RefreshToken)
	e.clock.Advance(idleTTL)
	_, err := e.refresh(g1.RefreshToken)
	wantErr(t, err, engine.ErrTokenExpired)
	if _, err := e.eng.SessionLive(e.ctx, g.Session.ID); err == nil {
		t.Fatal("session live after idle expiry")
	}
}

func TestAbsoluteExpiryIsNeverExtended(t *testing.T) {
	e := newEnv(t)
	e.user("alice", true)
	start := e.clock.Now()
	g := e.signOn("alice", "oauth2")
	abs := start.Add(absoluteTTL)
	if got := g.Session.AbsoluteExpiresAt; !got.Equal(abs) {
		t.Fatalf("absolute expiry %v, want %v", got, abs)
	}
	rt := g.RefreshToken
	step := idleTTL - 10*time.Minute
	for e.clock.Now().Add(step).Before(abs) {
		e.clock.Advance(step)
		n := e.mustRefresh(rt)
		c := e.claims(n.RefreshToken)
		if c.Expiry > abs.Unix() {
			t.Fatalf("refresh token exp %v after absolute expiry %v", time.Unix(c.Expiry, 0).UTC(), abs)
		}
		if ac := e.claims(n.AccessToken); ac.Expiry > abs.Unix() {
			t.Fatalf("access token exp %v after absolute expiry %v", time.Unix(ac.Expiry, 0).UTC(), abs)
		}
		if left := abs.Sub(e.clock.Now()); n.RefreshExpiresIn() > int64(left/time.Second) {
			t.Fatalf("RefreshExpiresIn %d s exceeds the %s left to absolute expiry", n.RefreshExpiresIn(), left)
		}
		if n.AbsoluteExpiresIn() != int64(abs.Sub(e.clock.Now())/time.Second) {
			t.Fatalf("AbsoluteExpiresIn %d, want %d", n.AbsoluteExpiresIn(), int64(abs.Sub(e.clock.Now())/time.Second))
		}
		if s := e.session(g.Session.ID); !s.AbsoluteExpiresAt.Equal(abs) || s.IdleExpiresAt.After(abs) {
			t.Fatalf("stored absolute %v idle %v; absolute must stay %v", s.AbsoluteExpiresAt, s.IdleExpiresAt, abs)
		}
		rt = n.RefreshToken
	}
	// Still inside the idle window of the last refresh, but at the absolute end.
	e.clock.Advance(abs.Sub(e.clock.Now()))
	_, err := e.refresh(rt)
	wantErr(t, err, engine.ErrTokenExpired)
}

func TestStablePolicy(t *testing.T) {
	e := newEnv(t)
	e.user("carol", true)
	g := e.signOn("carol", "core")
	if g.Session.Policy != store.PolicyStable || g.RefreshToken == "" {
		t.Fatalf("policy %q, refresh token %t", g.Session.Policy, g.RefreshToken != "")
	}
	rt := g.RefreshToken
	// Refreshing just before each idle expiry keeps the same token alive past
	// several idle lifetimes.
	for i := range 4 {
		e.clock.Advance(stableIdle - time.Minute)
		n := e.mustRefresh(rt)
		if n.RefreshToken != "" {
			t.Fatalf("refresh %d returned a new refresh token under the stable policy", i)
		}
		if n.AccessToken == "" {
			t.Fatalf("refresh %d returned no access token", i)
		}
		s := e.session(g.Session.ID)
		if want := e.clock.Now().Add(stableIdle); !s.IdleExpiresAt.Equal(want) || s.Generation != 0 {
			t.Fatalf("refresh %d: idle expiry %v (want %v), generation %d", i, s.IdleExpiresAt, want, s.Generation)
		}
	}
	e.clock.Advance(stableIdle)
	_, err := e.refresh(rt)
	wantErr(t, err, engine.ErrTokenExpired)
}

func TestWrongTokenUse(t *testing.T) {
	e := newEnv(t)
	e.user("alice", true)
	g := e.signOn("alice", "oauth2")
	_, err := e.refresh(g.AccessToken)
	wantErr(t, err, engine.ErrWrongTokenUse)
	_, err = e.eng.VerifyAccess(g.RefreshToken)
	wantErr(t, err, engine.ErrWrongTokenUse)
	if _, err := e.eng.VerifyAccess(g.AccessToken); err != nil {
		t.Fatalf("VerifyAccess: %v", err)
	}
	_, err = e.refresh("not.a.token")
	wantErr(t, err, engine.ErrInvalidToken)
	_, err = e.refresh("")
	wantErr(t, err, engine.ErrInvalidRequest)
}

func TestRefreshRequestMustMatchSession(t *testing.T) {
	e := newEnv(t)
	e.user("alice", true)
	rot := e.signOn("alice", "oauth2")
	stable := e.signOn("alice", "core")
	ags := e.signOn("alice", "ags:password")
	if ags.Session.Service != "ags:password" {
		t.Fatalf("service %q, want ags:password", ags.Session.Service)
	}
	for _, tc := range []struct {
		name string
		req  engine.RefreshRequest
		want error
	}{
		{"other service", engine.RefreshRequest{Token: rot.RefreshToken, Service: "core"}, engine.ErrPolicyMismatch},
		{"rotating on stable-only surface", engine.RefreshRequest{Token: rot.RefreshToken, Policy: store.PolicyStable}, engine.ErrPolicyMismatch},
		{"stable on rotating-only surface", engine.RefreshRequest{Token: stable.RefreshToken, Policy: store.PolicyRotating}, engine.ErrPolicyMismatch},
		{"base service does not match prefix", engine.RefreshRequest{Token: ags.RefreshToken, Service: "ag"}, engine.ErrPolicyMismatch},
		{"other client", engine.RefreshRequest{Token: rot.RefreshToken, ClientID: "someone-else"}, engine.ErrInvalidToken},
		{"other tenant", engine.RefreshRequest{Token: stable.RefreshToken, Tenant: "elsewhere"}, engine.ErrTenantMismatch},
		{"base service matches", engine.RefreshRequest{Token: ags.RefreshToken, Service: "ags"}, nil},
		{"same service and policy", engine.RefreshRequest{Token: stable.RefreshToken, Service: "core", Policy: store.PolicyStable, Tenant: "default"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.eng.Refresh(e.ctx, tc.req)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refresh: %v", err)
				}
				return
			}
			wantErr(t, err, tc.want)
		})
	}
	// A refused surface does not consume or revoke the token.
	if _, err := e.refresh(rot.RefreshToken); err != nil {
		t.Fatalf("rotating token after mismatches: %v", err)
	}
}

func TestForgedGenerationIsInvalid(t *testing.T) {
	e := newEnv(t)
	e.user("alice", true)
	g := e.signOn("alice", "oauth2")
	// A correctly signed refresh token whose jti is not the HMAC of its
	// (sid, gen) is not accepted: signatures alone are never trusted.
	c := e.claims(g.RefreshToken)
	c.Generation = 7
	forged, err := e.ring.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.refresh(forged)
	wantErr(t, err, engine.ErrInvalidToken)
	if s := e.session(g.Session.ID); !s.RevokedAt.IsZero() || s.Generation != 0 {
		t.Fatalf("forged token changed the session: %+v", s)
	}
}

// TestRefreshKeepsScope: a refresh without a scope keeps the scope granted
// at sign-on (RFC 6749 §6), through rotations and the grace window.
func TestRefreshKeepsScope(t *testing.T) {
	e := newEnv(t)
	e.user("alice", true)
	g, err := e.eng.SignOnPassword(e.ctx, engine.SignOnRequest{Service: "oauth2", ClientID: engine.DefaultClientID, Username: "alice", Password: password, Scope: "read write"})
	if err != nil {
		t.Fatal(err)
	}
	g1 := e.mustRefresh(g.RefreshToken)
	retry := e.mustRefresh(g.RefreshToken)
	g2 := e.mustRefresh(g1.RefreshToken)
	for name, n := range map[string]*engine.Grant{"first": g1, "grace retry": retry, "second": g2} {
		if n.Scope != "read write" || e.claims(n.AccessToken).Scope != "read write" {
			t.Fatalf("%s refresh: grant scope %q, access token scope %q; want %q", name, n.Scope, e.claims(n.AccessToken).Scope, "read write")
		}
	}
	if retry.RefreshToken != g1.RefreshToken {
		t.Fatal("grace retry returned another successor")
	}
}

// TestGraceWindowSameSuccessorClaimsES256: ECDSA signatures are randomised,
// but refresh tokens are signed with HS256 whatever the ring's algorithm, so
// the retried successor is the same token byte for byte, and either copy
// rotates the family exactly once.
func TestGraceWindowSameSuccessorClaimsES256(t *testing.T) {
	e := newEnvAlg(t, token.AlgES256)
	e.user("alice", true)
	g := e.signOn("alice", "oauth2")
	g1 := e.mustRefresh(g.RefreshToken)
	again := e.mustRefresh(g.RefreshToken)
	if again.RefreshToken != g1.RefreshToken {
		t.Error("retried successor differs in bytes")
	}
	a, b := e.claims(g1.RefreshToken), e.claims(again.RefreshToken)
	if a.ID != b.ID || a.Generation != b.Generation || a.Expiry != b.Expiry || a.IssuedAt != b.IssuedAt || a.SessionID != b.SessionID {
		t.Fatalf("retried successor differs: %+v vs %+v", a, b)
	}
	e.mustRefresh(again.RefreshToken)
	if s := e.session(g.Session.ID); s.Generation != 2 {
		t.Fatalf("generation %d, want 2", s.Generation)
	}
}

// TestRefreshTokenValidityIgnoresItsIssuer: a refresh token minted by an
// engine that stamped another issuer (an offline command that guessed the
// address, or the node before a change of its public URL) is renewed by
// the serving engine, which stamps its own issuer on what it mints. The
// access tokens of the other issuer stay refused: verifiers check iss.
func TestRefreshTokenValidityIgnoresItsIssuer(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", true)
	o := e.opts
	o.Issuer = "http://127.0.0.1:8080"
	o.Registerer = nil
	offline, err := engine.New(e.st, e.ring, o)
	if err != nil {
		t.Fatal(err)
	}
	api, err := offline.CreateAPIToken(e.ctx, engine.APITokenRequest{User: u.ID, Label: "script", ByAdministrator: true})
	if err != nil {
		t.Fatal(err)
	}
	rot, err := offline.SignOnPassword(e.ctx, engine.SignOnRequest{Service: "oauth2", ClientID: engine.DefaultClientID, Username: "alice", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	if iss := e.claims(api.RefreshToken).Issuer; iss != o.Issuer {
		t.Fatalf("offline token's iss %q, want %q", iss, o.Issuer)
	}

	g := e.mustRefresh(api.RefreshToken)
	if iss := e.claims(g.AccessToken).Issuer; iss != "https://auth.test" {
		t.Errorf("access token from the serving engine has iss %q", iss)
	}
	if in, err := e.eng.Inspect(e.ctx, api.RefreshToken); err != nil || !in.Active {
		t.Errorf("introspection of the offline refresh token: active %t, err %v", in.Active, err)
	}
	r1 := e.mustRefresh(rot.RefreshToken)
	if c := e.claims(r1.RefreshToken); c.Issuer != "https://auth.test" || c.Generation != 1 {
		t.Errorf("successor iss %q generation %d", c.Issuer, c.Generation)
	}
	if again := e.mustRefresh(rot.RefreshToken); again.RefreshToken != r1.RefreshToken {
		t.Error("grace retry of the offline token gave another successor")
	}
	// The issuer is no way around the session: revoked is revoked.
	if err := e.eng.RevokeAPIToken(e.ctx, u.ID, api.Session.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.refresh(api.RefreshToken)
	wantErr(t, err, engine.ErrTokenRevoked)
	_, err = e.eng.VerifyAccess(rot.AccessToken)
	wantErr(t, err, engine.ErrInvalidToken)
}

// TestRefreshRefusalsAreLogged: every refused refresh leaves one info line
// (a warning for reuse) with its reason, the session and user where known
// and the correlation id, and never the token.
func TestRefreshRefusalsAreLogged(t *testing.T) {
	var buf bytes.Buffer // the engine logs from the test's goroutine
	e := newEnvAlg(t, token.AlgEdDSA, func(o *engine.Options) { o.Logger = obs.NewLogger(&buf, "info", "json") })
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		e.user(name, true)
	}
	other := newEnv(t) // the same master and refresh key over another store
	other.user("alice", true)
	req := func(g *engine.Grant) engine.RefreshRequest { return engine.RefreshRequest{Token: g.RefreshToken} }

	for _, tc := range []struct {
		name, level, reason string
		// setup returns the refused request and the session and user the
		// line must name ("" when the refresh can't know them).
		setup func() (req engine.RefreshRequest, session, user string)
	}{
		{"missing token", "INFO", "refresh token is required", func() (engine.RefreshRequest, string, string) {
			return engine.RefreshRequest{}, "", ""
		}},
		{"not a token", "INFO", "malformed", func() (engine.RefreshRequest, string, string) {
			return engine.RefreshRequest{Token: "not.a.token"}, "", ""
		}},
		{"access token", "INFO", `token of use "access"`, func() (engine.RefreshRequest, string, string) {
			g := e.signOn("alice", "oauth2")
			return engine.RefreshRequest{Token: g.AccessToken}, g.Session.ID, "alice"
		}},
		{"unknown session", "INFO", "unknown session", func() (engine.RefreshRequest, string, string) {
			g := other.signOn("alice", "core")
			return req(g), g.Session.ID, "alice"
		}},
		{"reuse", "WARN", "reuse: generation 0 presented, the session is at generation 1", func() (engine.RefreshRequest, string, string) {
			g := e.signOn("alice", "oauth2")
			e.mustRefresh(g.RefreshToken)
			e.clock.Advance(grace + time.Second)
			return req(g), g.Session.ID, "alice"
		}},
		{"revoked", "INFO", "session revoked (admin)", func() (engine.RefreshRequest, string, string) {
			g := e.signOn("alice", "core")
			if err := e.eng.RevokeSession(e.ctx, g.Session.ID, "admin"); err != nil {
				t.Fatal(err)
			}
			return req(g), g.Session.ID, "alice"
		}},
		{"wrong client", "INFO", `wrong client: session issued to client "tokengate", presented by "intruder"`, func() (engine.RefreshRequest, string, string) {
			g := e.signOn("alice", "core")
			return engine.RefreshRequest{Token: g.RefreshToken, ClientID: "intruder"}, g.Session.ID, "alice"
		}},
		{"policy mismatch", "INFO", `policy mismatch: stable session of service "core"`, func() (engine.RefreshRequest, string, string) {
			g := e.signOn("alice", "core")
			return engine.RefreshRequest{Token: g.RefreshToken, Policy: store.PolicyRotating}, g.Session.ID, "alice"
		}},
		{"tenant mismatch", "INFO", `session of tenant "default" presented for tenant "acme"`, func() (engine.RefreshRequest, string, string) {
			g := e.signOn("alice", "core")
			return engine.RefreshRequest{Token: g.RefreshToken, Tenant: "acme"}, g.Session.ID, "alice"
		}},
		{"disabled user", "INFO", "session revoked when its user was disabled", func() (engine.RefreshRequest, string, string) {
			g := e.signOn("bob", "core")
			if _, err := e.eng.UpdateUser(e.ctx, g.User.ID, engine.UserUpdate{Disabled: ptr(true)}); err != nil {
				t.Fatal(err)
			}
			return req(g), g.Session.ID, "bob"
		}},
		{"refresh withdrawn", "INFO", "session revoked (refresh_disabled)", func() (engine.RefreshRequest, string, string) {
			g := e.signOn("dave", "core")
			if _, err := e.eng.UpdateUser(e.ctx, g.User.ID, engine.UserUpdate{RefreshEnabled: ptr(false)}); err != nil {
				t.Fatal(err)
			}
			return req(g), g.Session.ID, "dave"
		}},
		{"idle expiry", "INFO", "past its idle expiry", func() (engine.RefreshRequest, string, string) {
			g := e.signOn("carol", "core") // its token outlives the idle expiry
			e.clock.Advance(stableIdle)
			return req(g), g.Session.ID, "carol"
		}},
		{"expired token", "INFO", "token: expired", func() (engine.RefreshRequest, string, string) {
			g := e.signOn("carol", "oauth2")
			e.clock.Advance(idleTTL)
			return req(g), g.Session.ID, "carol"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, session, user := tc.setup()
			id := "corr-" + strings.ReplaceAll(tc.name, " ", "-")
			before := len(buf.String())
			if _, err := e.eng.Refresh(obs.WithRequest(e.ctx, obs.RequestInfo{CorrelationID: id}), r); err == nil {
				t.Fatal("refresh succeeded")
			}
			logged := buf.String()[before:]
			lines := strings.Split(strings.TrimSpace(logged), "\n")
			var rec map[string]any
			if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &rec) != nil || rec["msg"] != "refresh refused" || rec["level"] != tc.level {
				t.Fatalf("want one %s record \"refresh refused\", got:\n%s", tc.level, logged)
			}
			line := lines[0]
			if reason, _ := rec["reason"].(string); !strings.Contains(reason, tc.reason) {
				t.Errorf("reason %q, want it to say %q", reason, tc.reason)
			}
			for k, want := range map[string]string{"correlation_id": id, "session": session, "user": user} {
				if got, _ := rec[k].(string); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if r.Token != "" && strings.Contains(line, r.Token) {
				t.Errorf("log line carries the token:\n%s", line)
			}
			if sig := r.Token[strings.LastIndex(r.Token, ".")+1:]; len(sig) > 8 && strings.Contains(line, sig) {
				t.Errorf("log line carries the token's signature:\n%s", line)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
