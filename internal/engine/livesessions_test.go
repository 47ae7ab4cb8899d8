package engine_test

import (
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

// gauge reads tokengate_sessions_live{tenant} from the engine's registry.
func (e *env) gauge(tenant string) float64 {
	e.t.Helper()
	fams, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "tokengate_sessions_live" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "tenant" && l.GetValue() == tenant {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1 // no series
}

// checkLive compares the gauge of each tenant with the store's count.
func (e *env) checkLive(step string, tenants ...string) {
	e.t.Helper()
	counts, err := e.st.CountLiveSessionsByTenant(e.ctx, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, name := range tenants {
		tn, err := e.eng.Tenant(e.ctx, name)
		if err != nil {
			e.t.Fatal(err)
		}
		if got, want := e.gauge(name), float64(counts[tn.ID]); got != want {
			e.t.Errorf("%s: tokengate_sessions_live{tenant=%q} = %v, the store counts %v", step, name, got, want)
		}
	}
}

// TestLiveSessionsGauge checks that the live-sessions gauge follows every
// way this node starts and ends sessions without a recount, and that a
// recount brings it back to the store's count after what it cannot see
// (sessions that expired).
func TestLiveSessionsGauge(t *testing.T) {
	e := newEnv(t)
	if err := e.eng.RecountLiveSessions(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.CreateTenant(e.ctx, engine.NewTenant{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	e.checkLive("start", "default")
	alice := e.user("alice", true)
	e.userIn("acme", "bob", true)
	var gs []*engine.Grant
	for range 3 {
		gs = append(gs, e.signOn("alice", "oauth2"))
		e.clock.Advance(time.Second) // so that "oldest" is well defined
	}
	e.checkLive("three sign-ons", "default")
	if got := e.gauge("default"); got != 3 {
		t.Fatalf("gauge %v after three sign-ons", got)
	}
	if _, err := e.eng.SignOnPassword(e.ctx, engine.SignOnRequest{Tenant: "acme", Service: "oauth2", Username: "bob", Password: password}); err != nil {
		t.Fatal(err)
	}
	e.checkLive("a sign-on in a tenant created after the recount", "default", "acme")

	if _, err := e.eng.SetSessionLimit(e.ctx, "", 3, store.LimitEndOldest); err != nil {
		t.Fatal(err)
	}
	gs = append(gs[1:], e.signOn("alice", "oauth2")) // ends the oldest
	e.checkLive("session limit ends the oldest", "default")

	next := e.mustRefresh(gs[0].RefreshToken)
	e.clock.Advance(grace + time.Second)
	if _, err := e.refresh(gs[0].RefreshToken); err == nil {
		t.Fatal("reuse accepted")
	}
	_ = next
	e.checkLive("refresh-token reuse", "default")

	if err := e.eng.RevokeSession(e.ctx, gs[1].Session.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if err := e.eng.RevokeSession(e.ctx, gs[1].Session.ID, "test"); err != nil {
		t.Fatal(err)
	}
	e.checkLive("revoking a session, twice", "default")

	if err := e.eng.RevokeToken(e.ctx, gs[2].RefreshToken, ""); err != nil {
		t.Fatal(err)
	}
	e.checkLive("RFC 7009 revocation", "default")

	for range 2 {
		e.signOn("alice", "oauth2")
	}
	pw := "another password"
	if _, err := e.eng.UpdateUser(e.ctx, alice.ID, engine.UserUpdate{Password: &pw}); err != nil {
		t.Fatal(err)
	}
	e.checkLive("a password change ends the user's sessions", "default")

	carol := e.user("carol", true)
	if _, err := e.eng.CreateOrganisation(e.ctx, "", "north", ""); err != nil {
		t.Fatal(err)
	}
	m, err := e.eng.AddMembership(e.ctx, engine.NewMembership{User: "carol", Organisation: "north"})
	if err != nil {
		t.Fatal(err)
	}
	e.signOn("carol", "core")
	e.checkLive("carol signs on", "default")
	if _, err := e.eng.RemoveMembership(e.ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	e.checkLive("removing the last membership ends the sessions", "default")

	yes := true
	e.signOn("carol", "core")
	if _, err := e.eng.UpdateUser(e.ctx, carol.ID, engine.UserUpdate{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	e.checkLive("disabling a user", "default", "acme")

	// Expiry moves no counter: a session that expired stays counted until
	// the recount, which Run does once a minute; revoking it afterwards
	// does not count it twice.
	dave := e.user("dave", true)
	g := e.signOn("dave", "oauth2")
	e.clock.Advance(absoluteTTL + time.Minute)
	if e.gauge("default") != 1 {
		t.Fatalf("gauge %v: dave's expired session should still be counted", e.gauge("default"))
	}
	if err := e.eng.RecountLiveSessions(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.checkLive("recount after expiry", "default", "acme")
	if _, err := e.eng.RevokeUserSessions(e.ctx, dave.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if err := e.eng.RevokeSession(e.ctx, g.Session.ID, "test"); err != nil {
		t.Fatal(err)
	}
	e.checkLive("revoking an expired session", "default", "acme")
	if e.gauge("default") != 0 {
		t.Fatalf("gauge %v, want 0", e.gauge("default"))
	}
}
