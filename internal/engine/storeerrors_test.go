package engine_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

// TestNoStoreSentinelLeaks checks that a missing or duplicate record comes
// out of the engine as one of its own sentinels, with a message that names
// the record and carries no storage text, and never as store.ErrNotFound or
// store.ErrConflict, which the layers above must not need to know.
func TestNoStoreSentinelLeaks(t *testing.T) {
	e := newEnv(t)
	bob := e.user("bob", true)
	if _, err := e.eng.CreateOrganisation(e.ctx, "", "acme", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.AddMembership(e.ctx, engine.NewMembership{User: "bob", Organisation: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.eng.CreateClient(e.ctx, engine.NewClient{ID: "svc"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  func() error
		want error
		msg  string // the exact message, when set
	}{
		{"duplicate user", func() error {
			_, err := e.eng.CreateUser(e.ctx, engine.NewUser{Name: "bob", Password: "bob-password"})
			return err
		}, engine.ErrAlreadyExists, `a user named "bob" already exists in tenant "default"`},
		{"duplicate tenant", func() error {
			_, err := e.eng.CreateTenant(e.ctx, engine.NewTenant{Name: "default"})
			return err
		}, engine.ErrAlreadyExists, `a tenant named "default" already exists`},
		{"duplicate client", func() error {
			_, _, err := e.eng.CreateClient(e.ctx, engine.NewClient{ID: "svc"})
			return err
		}, engine.ErrAlreadyExists, `a client with client_id "svc" already exists`},
		{"duplicate organisation", func() error {
			_, err := e.eng.CreateOrganisation(e.ctx, "", "acme", "")
			return err
		}, engine.ErrAlreadyExists, `an organisation named "acme" already exists in tenant "default"`},
		{"duplicate membership", func() error {
			_, err := e.eng.AddMembership(e.ctx, engine.NewMembership{User: "bob", Organisation: "acme"})
			return err
		}, engine.ErrAlreadyExists, ""},
		{"organisation in use", func() error {
			return e.eng.DeleteOrganisation(e.ctx, "", "acme")
		}, engine.ErrInUse, `organisation "acme" is still in use: it has active memberships`},
		{"unknown user by name", func() error {
			_, err := e.eng.User(e.ctx, "", "nobody")
			return err
		}, engine.ErrUnknownUser, `unknown user "nobody" in tenant "default"`},
		{"update unknown user", func() error {
			_, err := e.eng.UpdateUser(e.ctx, "no-such-id", engine.UserUpdate{})
			return err
		}, engine.ErrUnknownUser, `unknown user "no-such-id"`},
		{"revoke sessions of unknown user", func() error {
			_, err := e.eng.RevokeUserSessions(e.ctx, "no-such-id", "test")
			return err
		}, engine.ErrUnknownUser, ""},
		{"API token for unknown user", func() error {
			_, err := e.eng.CreateAPIToken(e.ctx, engine.APITokenRequest{User: "no-such-id", Label: "x", ByAdministrator: true})
			return err
		}, engine.ErrUnknownUser, ""},
		{"revoke unknown session", func() error {
			return e.eng.RevokeSession(e.ctx, "no-such-session", "test")
		}, engine.ErrUnknownSession, `unknown session "no-such-session"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
				t.Errorf("err %q matches a store sentinel", err)
			}
			if msg := err.Error(); strings.Contains(msg, "sqlite") || strings.Contains(msg, "store:") {
				t.Errorf("message %q carries storage text", msg)
			}
			if tc.msg != "" && err.Error() != tc.msg {
				t.Errorf("message %q, want %q", err, tc.msg)
			}
		})
	}
	_ = bob
}
