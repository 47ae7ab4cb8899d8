package engine_test

import (
	"errors"
	"regexp"
	"testing"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

// storeText matches what only a store would say: its package prefix,
// constraint names, driver error codes.
var storeText = regexp.MustCompile(`(?i)sqlite|constraint|store:|\(\d{4}\)`)

// TestConflictsInTheUsersWords creates what already exists: the error
// still matches store.ErrConflict, but says what exists in words an
// administrator reads, with nothing of the store's text.
func TestConflictsInTheUsersWords(t *testing.T) {
	e := newEnv(t)
	e.user("bob", false)
	if _, err := e.eng.CreateTenant(e.ctx, engine.NewTenant{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.eng.CreateClient(e.ctx, engine.NewClient{ID: "svc"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.CreateOrganisation(e.ctx, "", "gailbkr", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.AddMembership(e.ctx, engine.NewMembership{User: "bob", Organisation: "gailbkr"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		do   func() error
		want string
	}{
		{"user", func() error {
			_, err := e.eng.CreateUser(e.ctx, engine.NewUser{Name: "bob", Password: password})
			return err
		}, "a user named bob already exists in tenant default"},
		{"tenant", func() error {
			_, err := e.eng.CreateTenant(e.ctx, engine.NewTenant{Name: "acme"})
			return err
		}, "a tenant named acme already exists"},
		{"client", func() error {
			_, _, err := e.eng.CreateClient(e.ctx, engine.NewClient{ID: "svc"})
			return err
		}, "a client with id svc already exists"},
		{"organisation", func() error {
			_, err := e.eng.CreateOrganisation(e.ctx, "", "gailbkr", "")
			return err
		}, "an organisation named gailbkr already exists in tenant default"},
		{"membership", func() error {
			_, err := e.eng.AddMembership(e.ctx, engine.NewMembership{User: "bob", Organisation: "gailbkr"})
			return err
		}, "user bob already holds a membership of gailbkr"},
		{"organisation in use", func() error {
			return e.eng.DeleteOrganisation(e.ctx, "", "gailbkr")
		}, "organisation gailbkr still has active memberships"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("err %v, want a store.ErrConflict", err)
			}
			if msg := err.Error(); !regexp.MustCompile("^"+regexp.QuoteMeta(tc.want)).MatchString(msg) || storeText.MatchString(msg) {
				t.Errorf("message %q, want it to start %q and carry no store text", msg, tc.want)
			}
		})
	}
}

// TestUnknownUserInTheUsersWords looks up a user who does not exist.
func TestUnknownUserInTheUsersWords(t *testing.T) {
	e := newEnv(t)
	_, err := e.eng.User(e.ctx, "", "nobody")
	if !errors.Is(err, store.ErrNotFound) || err.Error() != `no user "nobody" in tenant "default"` {
		t.Errorf("err %q, want a store.ErrNotFound saying no user \"nobody\" in tenant \"default\"", err)
	}
}

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
