package engine_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

func TestMemberships(t *testing.T) {
	e := newEnv(t)
	sumo := e.user("sumo", true)
	e.user("solo", true)
	for _, o := range []string{"gailbkr", "mcneillieuwr"} {
		if _, err := e.eng.CreateOrganisation(e.ctx, "", o, o); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.eng.CreateOrganisation(e.ctx, "", "gailbkr", ""); !errors.Is(err, engine.ErrAlreadyExists) {
		t.Fatalf("duplicate organisation: %v", err)
	}
	m0, err := e.eng.AddMembership(e.ctx, engine.NewMembership{User: "sumo", Organisation: "gailbkr", Channels: []string{"gailbkr_ALL", " ", "gailbkr_ALL"},
		ID: "MU00000000-0000-0000-0000-000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m0.Channels, []string{"gailbkr_ALL"}) {
		t.Errorf("channels = %v", m0.Channels)
	}
	m1, err := e.eng.AddMembership(e.ctx, engine.NewMembership{User: "sumo", Organisation: "mcneillieuwr", Channels: []string{"mcneillieuwr_ALL"}})
	if err != nil {
		t.Fatal(err)
	}
	if !engine.ValidMembershipID(m1.ID) {
		t.Errorf("generated id %q is not MU+UUID", m1.ID)
	}
	ms, err := e.eng.AddMembership(e.ctx, engine.NewMembership{User: "solo", Organisation: "gailbkr"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.AddMembership(e.ctx, engine.NewMembership{User: "sumo", Organisation: "gailbkr"}); !errors.Is(err, engine.ErrAlreadyExists) {
		t.Errorf("second active membership of one organisation: %v", err)
	}
	if _, err := e.eng.AddMembership(e.ctx, engine.NewMembership{User: "solo", Organisation: "mcneillieuwr", ID: m0.ID}); !errors.Is(err, engine.ErrAlreadyExists) {
		t.Errorf("reused MU id: %v", err)
	}
	if _, err := e.eng.AddMembership(e.ctx, engine.NewMembership{User: "solo", Organisation: "mcneillieuwr", ID: "MU123"}); !errors.Is(err, engine.ErrInvalidRequest) {
		t.Errorf("malformed MU id: %v", err)
	}

	solo, _ := e.eng.User(e.ctx, "", "solo")
	tests := []struct {
		name, user, header, want string
	}{
		{"sumo without UserID", sumo.ID, "", ""},
		{"sumo with first", sumo.ID, m0.ID, m0.ID},
		{"sumo with second", sumo.ID, m1.ID, m1.ID},
		{"sumo with someone else's", sumo.ID, ms.ID, ""},
		{"sumo with garbage", sumo.ID, "MUnope", ""},
		{"solo without UserID", solo.ID, "", ms.ID},
		{"solo with own", solo.ID, " " + ms.ID, ms.ID},
		{"solo with sumo's", solo.ID, m0.ID, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, o, err := e.eng.ResolveMembership(e.ctx, tc.user, tc.header)
			if tc.want == "" {
				if !errors.Is(err, engine.ErrMembershipRequired) {
					t.Fatalf("err = %v, want ErrMembershipRequired", err)
				}
				return
			}
			if err != nil || m.ID != tc.want || o.ID != m.OrganisationID {
				t.Fatalf("got %s/%s, %v; want %s", m.ID, o.Name, err, tc.want)
			}
		})
	}

	t.Run("set channels", func(t *testing.T) {
		m, err := e.eng.SetChannels(e.ctx, m1.ID, []string{"a", "b"})
		if err != nil || !slices.Equal(m.Channels, []string{"a", "b"}) {
			t.Fatalf("%v %v", m.Channels, err)
		}
		if _, err := e.eng.SetChannels(e.ctx, m1.ID, []string{"bad channel"}); !errors.Is(err, engine.ErrInvalidRequest) {
			t.Fatalf("bad channel: %v", err)
		}
	})

	t.Run("directory search", func(t *testing.T) {
		d, err := e.eng.Directory(e.ctx, sumo.TenantID, "SUMO")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range d {
			for _, m := range o.Members {
				got = append(got, o.Organisation.Name+"/"+m.User.Name+"/"+m.MembershipID)
			}
		}
		want := []string{"gailbkr/sumo/" + m0.ID, "mcneillieuwr/sumo/" + m1.ID}
		if !slices.Equal(got, want) {
			t.Fatalf("directory = %v, want %v", got, want)
		}
	})

	t.Run("removing one of several keeps sessions", func(t *testing.T) {
		g := e.signOn("sumo", "oauth2")
		if _, err := e.eng.RemoveMembership(e.ctx, m1.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.eng.ResolveMembership(e.ctx, sumo.ID, m1.ID); !errors.Is(err, engine.ErrMembershipRequired) {
			t.Fatalf("removed membership still selectable: %v", err)
		}
		// One left: UserID becomes optional.
		if m, _, err := e.eng.ResolveMembership(e.ctx, sumo.ID, ""); err != nil || m.ID != m0.ID {
			t.Fatalf("remaining membership: %s %v", m.ID, err)
		}
		e.mustRefresh(g.RefreshToken)
	})

	t.Run("removing the last revokes sessions", func(t *testing.T) {
		g := e.signOn("solo", "oauth2")
		api, err := e.eng.CreateAPIToken(e.ctx, engine.APITokenRequest{User: solo.ID, Label: "cli", ByAdministrator: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.eng.RemoveMembership(e.ctx, ms.ID); err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{g.RefreshToken, api.RefreshToken} {
			if _, err := e.refresh(tok); !errors.Is(err, engine.ErrTokenRevoked) {
				t.Errorf("refresh after last membership removed: %v", err)
			}
		}
		if _, err := e.eng.RemoveMembership(e.ctx, ms.ID); err != nil {
			t.Errorf("removing twice: %v", err)
		}
		if _, err := e.eng.AddMembership(e.ctx, engine.NewMembership{User: "solo", Organisation: "gailbkr", ID: ms.ID}); !errors.Is(err, engine.ErrAlreadyExists) {
			t.Errorf("removed MU id reused: %v", err)
		}
		audit, err := e.st.ListAudit(e.ctx, store.AuditFilter{UserID: solo.ID, Type: "membership.remove"})
		if err != nil || len(audit) != 1 {
			t.Errorf("audit: %v %v", audit, err)
		}
	})
}

func TestAPITokens(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", true)
	other := e.user("bob", true)
	g, err := e.eng.CreateAPIToken(e.ctx, engine.APITokenRequest{User: u.ID, Label: "laptop", ByAdministrator: true})
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.eng.APITokens(e.ctx, u.ID)
	if err != nil || len(list) != 1 || list[0].Label != "laptop" {
		t.Fatalf("list: %v %v", list, err)
	}
	if err := e.eng.RevokeAPIToken(e.ctx, other.ID, g.Session.ID); !errors.Is(err, engine.ErrUnknownAPIToken) {
		t.Fatalf("revoke another user's token: %v", err)
	}
	if err := e.eng.RevokeAPIToken(e.ctx, u.ID, g.Session.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.refresh(g.RefreshToken); !errors.Is(err, engine.ErrTokenRevoked) {
		t.Fatalf("refresh after revoke: %v", err)
	}
	if list, _ := e.eng.APITokens(e.ctx, u.ID); len(list) != 0 {
		t.Fatalf("revoked token still listed")
	}
}
