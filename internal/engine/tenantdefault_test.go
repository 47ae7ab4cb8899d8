package engine_test

import (
	"testing"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/token"
)

// TestConfiguredSessionLimitSeedsNewTenants sets the configuration's
// session_limit: a tenant created without a limit of its own (tokengate
// tenant add, the default tenant at the first start) gets it, one created
// with its own keeps that. The setting was validated and then ignored.
func TestConfiguredSessionLimitSeedsNewTenants(t *testing.T) {
	e := newEnvAlg(t, token.AlgEdDSA, func(o *engine.Options) {
		o.DefaultSessionLimit = engine.SessionLimit{Max: 3, Policy: store.LimitEndOldest}
	})
	def, err := e.eng.Tenant(e.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if def.MaxSessions != 3 || def.SessionLimitPolicy != store.LimitEndOldest {
		t.Errorf("default tenant: %d %s, want 3 end_oldest", def.MaxSessions, def.SessionLimitPolicy)
	}
	got, err := e.eng.CreateTenant(e.ctx, engine.NewTenant{Name: "plain"})
	if err != nil {
		t.Fatal(err)
	}
	if got.MaxSessions != 3 || got.SessionLimitPolicy != store.LimitEndOldest {
		t.Errorf("new tenant: %d %s, want 3 end_oldest", got.MaxSessions, got.SessionLimitPolicy)
	}
	own, err := e.eng.CreateTenant(e.ctx, engine.NewTenant{Name: "own", MaxSessions: 1, SessionLimitPolicy: store.LimitReject})
	if err != nil {
		t.Fatal(err)
	}
	if own.MaxSessions != 1 || own.SessionLimitPolicy != store.LimitReject {
		t.Errorf("tenant with its own limit: %d %s, want 1 reject", own.MaxSessions, own.SessionLimitPolicy)
	}
}
