package engine_test

import (
	"errors"
	"testing"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

// TestSessionLimitChanges sets one part of a tenant's limit at a time and
// refuses policies that do not exist, at creation too.
func TestSessionLimitChanges(t *testing.T) {
	e := newEnv(t)
	if _, err := e.eng.CreateTenant(e.ctx, engine.NewTenant{Name: "bogus", SessionLimitPolicy: "bogus"}); !errors.Is(err, engine.ErrInvalidRequest) {
		t.Errorf("tenant with policy bogus: %v, want ErrInvalidRequest", err)
	}
	if _, err := e.eng.Tenant(e.ctx, "bogus"); !errors.Is(err, engine.ErrUnknownTenant) {
		t.Errorf("refused tenant exists: %v", err)
	}
	if _, err := e.eng.CreateTenant(e.ctx, engine.NewTenant{Name: "acme", MaxSessions: 2, SessionLimitPolicy: store.LimitEndOldest}); err != nil {
		t.Fatal(err)
	}
	zero, reject, bogus := 0, store.LimitReject, store.LimitPolicy("bogus")
	for _, step := range []struct {
		up      engine.SessionLimitUpdate
		max     int
		policy  store.LimitPolicy
		invalid bool
	}{
		{up: engine.SessionLimitUpdate{MaxSessions: &zero}, max: 0, policy: store.LimitEndOldest},
		{up: engine.SessionLimitUpdate{Policy: &reject}, max: 0, policy: store.LimitReject},
		{up: engine.SessionLimitUpdate{Policy: &bogus}, invalid: true, max: 0, policy: store.LimitReject},
		{up: engine.SessionLimitUpdate{}, invalid: true, max: 0, policy: store.LimitReject},
	} {
		_, err := e.eng.UpdateSessionLimit(e.ctx, "acme", step.up)
		if step.invalid != errors.Is(err, engine.ErrInvalidRequest) || (!step.invalid && err != nil) {
			t.Errorf("update %+v: %v", step.up, err)
		}
		got, err := e.eng.Tenant(e.ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if got.MaxSessions != step.max || got.SessionLimitPolicy != step.policy {
			t.Errorf("after %+v: %d %s, want %d %s", step.up, got.MaxSessions, got.SessionLimitPolicy, step.max, step.policy)
		}
	}
}

// TestBootstrapSaysPasswordNotApplied bootstraps again with another admin
// password: the stored one stays and the result says so.
func TestBootstrapSaysPasswordNotApplied(t *testing.T) {
	e := newEnv(t) // bootstrapped with "admin-password"
	r, err := e.eng.Bootstrap(e.ctx, "another-password")
	if err != nil {
		t.Fatal(err)
	}
	if r.CreatedAdmin || !r.AdminPasswordNotApplied {
		t.Errorf("result %+v, want the password reported as not applied", r)
	}
	if _, err := e.eng.SignOnPassword(e.ctx, engine.SignOnRequest{Service: "oauth2", ClientID: engine.DefaultClientID, Username: "admin", Password: "another-password"}); !errors.Is(err, engine.ErrInvalidCredentials) {
		t.Errorf("the new password signs on: %v", err)
	}
	if r, err := e.eng.Bootstrap(e.ctx, ""); err != nil || r.AdminPasswordNotApplied {
		t.Errorf("bootstrap without a password: %+v %v", r, err)
	}
}

// TestBootstrapSamePasswordIsNoWarning bootstraps again with the admin's
// own password, as every node of a cluster does when they start together
// (or one restarts) with the same TOKENGATE_ADMIN_PASSWORD: the password is
// in use, so nothing was "not applied".
func TestBootstrapSamePasswordIsNoWarning(t *testing.T) {
	e := newEnv(t) // bootstrapped with "admin-password"
	r, err := e.eng.Bootstrap(e.ctx, "admin-password")
	if err != nil {
		t.Fatal(err)
	}
	if r.CreatedAdmin || r.AdminPasswordNotApplied || !r.AdminPasswordInUse {
		t.Errorf("result %+v, want the password reported as the admin's already", r)
	}
}
