package engine_test

import (
	"slices"
	"testing"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

// TestPrincipal: the caller behind a live session, and the refusals of a
// revoked session and a disabled user.
func TestPrincipal(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", true)
	g := e.signOn("alice", "oauth2")
	p, err := e.eng.Principal(e.ctx, g.Session.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.User.ID != alice.ID || p.Tenant.Name != "default" || p.Session.ID != g.Session.ID {
		t.Fatalf("principal user %q tenant %q session %q", p.User.Name, p.Tenant.Name, p.Session.ID)
	}
	_, err = e.eng.Principal(e.ctx, "no-such-session")
	wantErr(t, err, engine.ErrInvalidToken)

	// Disabling a user through the engine ends their sessions; a session
	// of a user disabled by any other way is refused too.
	u := alice
	u.Disabled = true
	if err := e.st.UpdateUser(e.ctx, u); err != nil {
		t.Fatal(err)
	}
	_, err = e.eng.Principal(e.ctx, g.Session.ID)
	wantErr(t, err, engine.ErrUserDisabled)
	if err := e.eng.RevokeSession(e.ctx, g.Session.ID, "test"); err != nil {
		t.Fatal(err)
	}
	_, err = e.eng.Principal(e.ctx, g.Session.ID)
	wantErr(t, err, engine.ErrTokenRevoked)
}

// TestViews: the listings the admin surfaces read, by tenant and user name.
func TestViews(t *testing.T) {
	e := newEnv(t)
	bob := e.user("bob", true)
	e.user("carol", true)
	if _, err := e.eng.CreateTenant(e.ctx, engine.NewTenant{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	e.userIn("acme", "dave", true)

	u, err := e.eng.UserByID(e.ctx, bob.ID)
	if err != nil || u.Name != "bob" {
		t.Fatalf("UserByID = %q, %v", u.Name, err)
	}
	_, err = e.eng.UserByID(e.ctx, "nobody")
	wantErr(t, err, engine.ErrUnknownUser)

	users, err := e.eng.Users(e.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if names := namesOf(users, func(u store.User) string { return u.Name }); !slices.Equal(names, []string{"admin", "bob", "carol"}) {
		t.Errorf("users of default = %v", names)
	}
	_, err = e.eng.Users(e.ctx, "nope")
	wantErr(t, err, engine.ErrUnknownTenant)

	tenants, err := e.eng.Tenants(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if names := namesOf(tenants, func(t store.Tenant) string { return t.Name }); !slices.Equal(names, []string{"acme", "default"}) {
		t.Errorf("tenants = %v", names)
	}

	if _, _, err := e.eng.CreateClient(e.ctx, engine.NewClient{Tenant: "acme", ID: "svc"}); err != nil {
		t.Fatal(err)
	}
	cs, err := e.eng.Clients(e.ctx, "acme")
	if err != nil || len(cs) != 1 || cs[0].ID != "svc" {
		t.Fatalf("clients of acme = %v, %v", cs, err)
	}
	if c, err := e.eng.Client(e.ctx, "svc"); err != nil || c.ID != "svc" {
		t.Fatalf("Client = %v, %v", c, err)
	}
	_, err = e.eng.Client(e.ctx, "nope")
	wantErr(t, err, engine.ErrUnknownClient)

	gb := e.signOn("bob", "oauth2")
	e.signOn("carol", "oauth2")
	if err := e.eng.RevokeSession(e.ctx, gb.Session.ID, "test"); err != nil {
		t.Fatal(err)
	}
	e.signOn("bob", "oauth2")
	for _, tc := range []struct {
		q    engine.SessionQuery
		want int
	}{
		{engine.SessionQuery{}, 2},
		{engine.SessionQuery{IncludeDead: true}, 3},
		{engine.SessionQuery{User: "bob"}, 1},
		{engine.SessionQuery{User: "bob", IncludeDead: true}, 2},
		{engine.SessionQuery{Tenant: "acme"}, 0},
	} {
		ss, err := e.eng.Sessions(e.ctx, tc.q)
		if err != nil || len(ss) != tc.want {
			t.Errorf("Sessions(%+v) = %d sessions, %v; want %d", tc.q, len(ss), err, tc.want)
		}
	}
	_, err = e.eng.Sessions(e.ctx, engine.SessionQuery{User: "nobody"})
	wantErr(t, err, engine.ErrUnknownUser)
}

// TestMembers: memberships with their user and organisation names, by the
// names a listing filters on.
func TestMembers(t *testing.T) {
	e := newEnv(t)
	e.user("sumo", true)
	e.user("solo", true)
	for _, o := range []string{"gailbkr", "mcneillieuwr"} {
		if _, err := e.eng.CreateOrganisation(e.ctx, "", o, ""); err != nil {
			t.Fatal(err)
		}
	}
	add := func(user, org string) store.Membership {
		m, err := e.eng.AddMembership(e.ctx, engine.NewMembership{User: user, Organisation: org})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	add("sumo", "gailbkr")
	add("sumo", "mcneillieuwr")
	gone := add("solo", "gailbkr")
	if _, err := e.eng.RemoveMembership(e.ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	row := func(m engine.Member) string { return m.User.Name + "@" + m.Organisation.Name }
	for _, tc := range []struct {
		q    engine.MemberQuery
		want []string
	}{
		{engine.MemberQuery{}, []string{"sumo@gailbkr", "sumo@mcneillieuwr"}},
		{engine.MemberQuery{IncludeRemoved: true}, []string{"sumo@gailbkr", "sumo@mcneillieuwr", "solo@gailbkr"}},
		{engine.MemberQuery{Organisation: "gailbkr", IncludeRemoved: true}, []string{"sumo@gailbkr", "solo@gailbkr"}},
		{engine.MemberQuery{User: "sumo", Organisation: "mcneillieuwr"}, []string{"sumo@mcneillieuwr"}},
	} {
		ms, err := e.eng.Members(e.ctx, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		got := namesOf(ms, row)
		slices.Sort(got)
		want := slices.Sorted(slices.Values(tc.want))
		if !slices.Equal(got, want) {
			t.Errorf("Members(%+v) = %v, want %v", tc.q, got, want)
		}
	}
	_, err := e.eng.Members(e.ctx, engine.MemberQuery{User: "nobody"})
	wantErr(t, err, engine.ErrUnknownUser)
	_, err = e.eng.Members(e.ctx, engine.MemberQuery{Organisation: "nope"})
	wantErr(t, err, engine.ErrUnknownOrganisation)
	m, err := e.eng.Member(e.ctx, gone)
	if err != nil || row(m) != "solo@gailbkr" || m.Membership.ID != gone.ID {
		t.Fatalf("Member = %q %s, %v", row(m), m.Membership.ID, err)
	}
}

func namesOf[T any](xs []T, name func(T) string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, name(x))
	}
	return out
}
