package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

func testKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	list, err := s.ListKeys(ctx)
	ok(t, err, "list empty")
	if len(list) != 0 {
		t.Fatalf("new store has %d keys", len(list))
	}
	old := store.SigningKey{
		ID: "kid-b", Alg: "EdDSA", Public: []byte{0x30, 0x2a, 0x00}, PrivateSealed: []byte("sealed"),
		CreatedAt: at(0), ActiveFrom: at(time.Minute), RetiredAt: at(time.Hour), ExpiresAt: at(2 * time.Hour),
	}
	// Same CreatedAt as old: ordered by id after it.
	current := store.SigningKey{ID: "kid-c", Alg: "ES256", Public: []byte{1}, PrivateSealed: []byte{2},
		CreatedAt: at(0), ActiveFrom: at(0)}
	next := store.SigningKey{ID: "kid-a", Alg: "RS256", Public: []byte{3}, PrivateSealed: []byte{4},
		CreatedAt: at(time.Hour), ActiveFrom: at(2 * time.Hour)}
	for _, k := range []store.SigningKey{next, current, old} {
		ok(t, s.CreateKey(ctx, k), "create "+k.ID)
	}
	wantErr(t, s.CreateKey(ctx, store.SigningKey{ID: old.ID, Alg: "EdDSA"}), store.ErrConflict, "duplicate id")
	list, err = s.ListKeys(ctx)
	ok(t, err, "list")
	equal(t, list, []store.SigningKey{old, current, next}, "oldest first, zero times kept")

	current.RetiredAt, current.ExpiresAt, current.RevokedAt = at(2*time.Hour), at(3*time.Hour), at(2*time.Hour+time.Second)
	ok(t, s.UpdateKey(ctx, current), "update")
	wantErr(t, s.UpdateKey(ctx, store.SigningKey{ID: "missing", Alg: "EdDSA"}), store.ErrNotFound, "update missing")
	ok(t, s.DeleteKey(ctx, old.ID), "delete")
	wantErr(t, s.DeleteKey(ctx, old.ID), store.ErrNotFound, "delete again")
	list, err = s.ListKeys(ctx)
	ok(t, err, "list after update")
	equal(t, list, []store.SigningKey{current, next}, "after update (revoked_at kept) and delete")
}

func testOrganisations(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	o1 := store.Organisation{ID: "org-a", TenantID: w.t1.ID, Name: "gailbkr", DisplayName: "Gail Brokers", CreatedAt: at(0)}
	o2 := store.Organisation{ID: "org-b", TenantID: w.t1.ID, Name: "harbour"}
	o3 := store.Organisation{ID: "org-c", TenantID: w.t2.ID, Name: "gailbkr", CreatedAt: at(time.Second)}
	for _, o := range []store.Organisation{o1, o2, o3} {
		ok(t, s.CreateOrganisation(ctx, o), "create "+o.ID)
	}
	got, err := s.GetOrganisation(ctx, o1.ID)
	ok(t, err, "get")
	equal(t, got, o1, "get")
	got, err = s.GetOrganisationByName(ctx, w.t2.ID, "gailbkr")
	ok(t, err, "get by name")
	equal(t, got, o3, "get by name picks the tenant")
	got, err = s.GetOrganisation(ctx, o2.ID)
	ok(t, err, "get bare")
	equal(t, got, o2, "zero CreatedAt")

	_, err = s.GetOrganisation(ctx, "missing")
	wantErr(t, err, store.ErrNotFound, "get missing")
	_, err = s.GetOrganisationByName(ctx, w.t2.ID, "harbour")
	wantErr(t, err, store.ErrNotFound, "name in another tenant")
	wantErr(t, s.CreateOrganisation(ctx, store.Organisation{ID: o1.ID, TenantID: w.t2.ID, Name: "x"}), store.ErrConflict, "duplicate id")
	wantErr(t, s.CreateOrganisation(ctx, store.Organisation{ID: "org-d", TenantID: w.t1.ID, Name: "harbour"}), store.ErrConflict, "duplicate name")
	wantErr(t, s.CreateOrganisation(ctx, store.Organisation{ID: "org-e", TenantID: "missing", Name: "x"}), store.ErrNotFound, "unknown tenant")

	list, err := s.ListOrganisations(ctx, w.t1.ID)
	ok(t, err, "list")
	equal(t, sortedBy(list, func(o store.Organisation) string { return o.ID }), []store.Organisation{o1, o2}, "list tenant")
	list, err = s.ListOrganisations(ctx, w.t2.ID)
	ok(t, err, "list other")
	equal(t, list, []store.Organisation{o3}, "list other tenant")
}

// testDeleteOrganisation pins the rule every backend follows: an
// organisation with active memberships cannot be deleted (ErrConflict);
// once they are all removed it can, and its removed memberships go with it.
func testDeleteOrganisation(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	o := store.Organisation{ID: "org-a", TenantID: w.t1.ID, Name: "gailbkr", CreatedAt: at(0)}
	ok(t, s.CreateOrganisation(ctx, o), "create")
	m := store.Membership{ID: "MU-1", TenantID: w.t1.ID, OrganisationID: o.ID, UserID: w.u1.ID, CreatedAt: at(0)}
	ok(t, s.CreateMembership(ctx, m), "create membership")

	wantErr(t, s.DeleteOrganisation(ctx, o.ID), store.ErrConflict, "delete with an active membership")
	if _, err := s.GetOrganisation(ctx, o.ID); err != nil {
		t.Fatalf("organisation gone after refused delete: %v", err)
	}
	m.RemovedAt = at(time.Hour)
	ok(t, s.UpdateMembership(ctx, m), "remove membership")
	ok(t, s.DeleteOrganisation(ctx, o.ID), "delete with only removed memberships")
	_, err := s.GetOrganisation(ctx, o.ID)
	wantErr(t, err, store.ErrNotFound, "get deleted")
	_, err = s.GetMembership(ctx, m.ID)
	wantErr(t, err, store.ErrNotFound, "removed membership deleted with its organisation")
	wantErr(t, s.DeleteOrganisation(ctx, o.ID), store.ErrNotFound, "delete again")
	wantErr(t, s.DeleteOrganisation(ctx, "missing"), store.ErrNotFound, "delete missing")
}

func testMemberships(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	oa := store.Organisation{ID: "org-a", TenantID: w.t1.ID, Name: "gailbkr", CreatedAt: at(0)}
	ob := store.Organisation{ID: "org-b", TenantID: w.t1.ID, Name: "harbour", CreatedAt: at(0)}
	oc := store.Organisation{ID: "org-c", TenantID: w.t2.ID, Name: "gailbkr", CreatedAt: at(0)}
	for _, o := range []store.Organisation{oa, ob, oc} {
		ok(t, s.CreateOrganisation(ctx, o), "create "+o.ID)
	}
	// u1 is the SUMO user: a member of two organisations.
	m1 := store.Membership{ID: "MU-1", TenantID: w.t1.ID, OrganisationID: oa.ID, UserID: w.u1.ID,
		Channels: []string{"risks", "corporate"}, CreatedAt: at(0)}
	m2 := store.Membership{ID: "MU-2", TenantID: w.t1.ID, OrganisationID: ob.ID, UserID: w.u1.ID,
		Channels: []string{}, CreatedAt: at(time.Minute)}
	m3 := store.Membership{ID: "MU-3", TenantID: w.t1.ID, OrganisationID: oa.ID, UserID: w.u2.ID,
		Channels: nil, CreatedAt: at(2 * time.Minute), RemovedAt: at(time.Hour)}
	m4 := store.Membership{ID: "MU-4", TenantID: w.t2.ID, OrganisationID: oc.ID, UserID: w.u3.ID,
		Channels: []string{"a"}, CreatedAt: at(3 * time.Minute)}
	for _, m := range []store.Membership{m1, m2, m3, m4} {
		ok(t, s.CreateMembership(ctx, m), "create "+m.ID)
	}
	for _, m := range []store.Membership{m1, m2, m3, m4} {
		got, err := s.GetMembership(ctx, m.ID)
		ok(t, err, "get "+m.ID)
		equal(t, got, m, "round trip of "+m.ID+" (nil vs empty channels)")
	}
	_, err := s.GetMembership(ctx, "MU-missing")
	wantErr(t, err, store.ErrNotFound, "get missing")
	wantErr(t, s.CreateMembership(ctx, store.Membership{ID: m1.ID, TenantID: w.t1.ID, OrganisationID: ob.ID, UserID: w.u2.ID}),
		store.ErrConflict, "duplicate id")
	wantErr(t, s.CreateMembership(ctx, store.Membership{ID: "MU-5", TenantID: w.t1.ID, OrganisationID: oa.ID, UserID: w.u1.ID}),
		store.ErrConflict, "second active membership of one user in one organisation")
	wantErr(t, s.CreateMembership(ctx, store.Membership{ID: "MU-6", TenantID: w.t1.ID, OrganisationID: oa.ID, UserID: "missing"}),
		store.ErrNotFound, "unknown user")
	wantErr(t, s.CreateMembership(ctx, store.Membership{ID: "MU-7", TenantID: w.t1.ID, OrganisationID: "missing", UserID: w.u2.ID}),
		store.ErrNotFound, "unknown organisation")
	// A removed membership does not block a new one, which gets a new id.
	m8 := store.Membership{ID: "MU-8", TenantID: w.t1.ID, OrganisationID: oa.ID, UserID: w.u2.ID, CreatedAt: at(2 * time.Hour)}
	ok(t, s.CreateMembership(ctx, m8), "rejoin after removal")

	byID := func(m store.Membership) string { return m.ID }
	for _, tc := range []struct {
		name string
		f    store.MembershipFilter
		want []store.Membership
	}{
		{"user", store.MembershipFilter{UserID: w.u1.ID}, []store.Membership{m1, m2}},
		{"organisation", store.MembershipFilter{OrganisationID: oa.ID}, []store.Membership{m1, m8}},
		{"organisation with removed", store.MembershipFilter{OrganisationID: oa.ID, IncludeRemoved: true}, []store.Membership{m1, m3, m8}},
		{"tenant", store.MembershipFilter{TenantID: w.t1.ID}, []store.Membership{m1, m2, m8}},
		{"user and organisation", store.MembershipFilter{UserID: w.u2.ID, OrganisationID: oa.ID, IncludeRemoved: true}, []store.Membership{m3, m8}},
		{"all", store.MembershipFilter{IncludeRemoved: true}, []store.Membership{m1, m2, m3, m4, m8}},
		{"none", store.MembershipFilter{UserID: "missing"}, nil},
	} {
		got, err := s.ListMemberships(ctx, tc.f)
		ok(t, err, tc.name)
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		equal(t, sortedBy(got, byID), tc.want, "list "+tc.name)
	}

	m1.Channels, m1.RemovedAt = []string{"risks"}, at(3*time.Hour)
	ok(t, s.UpdateMembership(ctx, m1), "update")
	got, err := s.GetMembership(ctx, m1.ID)
	ok(t, err, "get after update")
	equal(t, got, m1, "after update")
	wantErr(t, s.UpdateMembership(ctx, store.Membership{ID: "MU-missing", TenantID: w.t1.ID, OrganisationID: oa.ID, UserID: w.u1.ID}),
		store.ErrNotFound, "update missing")
}

func testExternalIdentities(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	x := store.ExternalIdentity{TenantID: w.t1.ID, Issuer: "https://idp.example.com/", Subject: "auth0|123",
		UserID: w.u1.ID, CreatedAt: at(0)}
	ok(t, s.CreateExternalIdentity(ctx, x), "create")
	got, err := s.GetExternalIdentity(ctx, x.TenantID, x.Issuer, x.Subject)
	ok(t, err, "get")
	equal(t, got, x, "round trip")
	wantErr(t, s.CreateExternalIdentity(ctx, store.ExternalIdentity{TenantID: x.TenantID, Issuer: x.Issuer,
		Subject: x.Subject, UserID: w.u2.ID}), store.ErrConflict, "duplicate subject")
	other := store.ExternalIdentity{TenantID: w.t1.ID, Issuer: "https://other.example.com/", Subject: "auth0|123", UserID: w.u2.ID}
	ok(t, s.CreateExternalIdentity(ctx, other), "same subject, other issuer")
	got, err = s.GetExternalIdentity(ctx, other.TenantID, other.Issuer, other.Subject)
	ok(t, err, "get other")
	equal(t, got, other, "zero CreatedAt")
	for _, k := range [][3]string{
		{w.t2.ID, x.Issuer, x.Subject}, {x.TenantID, "https://nobody/", x.Subject}, {x.TenantID, x.Issuer, "auth0|999"},
	} {
		_, err := s.GetExternalIdentity(ctx, k[0], k[1], k[2])
		wantErr(t, err, store.ErrNotFound, "get missing")
	}
	wantErr(t, s.CreateExternalIdentity(ctx, store.ExternalIdentity{TenantID: w.t1.ID, Issuer: "i", Subject: "s", UserID: "missing"}),
		store.ErrNotFound, "unknown user")
}
