package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

// testClientSecretOverlap checks that a client's previous secret and its
// expiry survive a round trip, and are cleared again.
func testClientSecretOverlap(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	c := store.Client{ID: "client-a", TenantID: w.t1.ID, SecretHash: []byte{1, 2, 3}, GrantTypes: []string{"client_credentials"}, CreatedAt: at(0)}
	ok(t, s.CreateClient(ctx, c), "create")
	c.PreviousSecretHash, c.SecretHash, c.PreviousSecretExpiresAt = c.SecretHash, []byte{4, 5, 6}, at(time.Hour)
	ok(t, s.UpdateClient(ctx, c), "rotate")
	got, err := s.GetClient(ctx, c.ID)
	ok(t, err, "get")
	equal(t, got, c, "previous secret and its expiry")
	list, err := s.ListClients(ctx, w.t1.ID)
	ok(t, err, "list")
	equal(t, list, []store.Client{c}, "listed with the previous secret")
	c.PreviousSecretHash, c.PreviousSecretExpiresAt = nil, time.Time{}
	ok(t, s.UpdateClient(ctx, c), "rotate without overlap")
	got, err = s.GetClient(ctx, c.ID)
	ok(t, err, "get again")
	equal(t, got, c, "previous secret cleared")
}

// testRevokeClientSessions checks that only the live sessions of the
// client are revoked, of every user.
func testRevokeClientSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	now := at(2 * time.Hour)
	var mine, other []store.Session
	for _, u := range []store.User{w.u1, w.u2} {
		for _, x := range sessionSet(t, s, u, u.ID+"-mine") {
			x.ClientID = "app"
			ok(t, s.UpdateSession(ctx, x), "assign "+x.ID)
			mine = append(mine, x)
		}
		other = append(other, sessionSet(t, s, u, u.ID+"-other")...)
	}
	n, err := s.RevokeClientSessions(ctx, "app", now, "client_removed")
	ok(t, err, "revoke")
	if n != 6 { // three live sessions of each user
		t.Fatalf("revoked %d sessions, want 6", n)
	}
	checkRevoked(t, s, now, "client_removed", mine, other, "another client's session untouched")
	n, err = s.RevokeClientSessions(ctx, "app", now, "again")
	ok(t, err, "revoke again")
	if n != 0 {
		t.Fatalf("second revoke revoked %d, want 0", n)
	}
}

// ownedBy fills tenant tn with one of everything a tenant owns: a user
// with a session, a membership and an external identity, a client and an
// organisation, and returns the ids.
func ownedBy(t *testing.T, s store.Store, tn store.Tenant, u store.User) (orgID, mu, clientID string) {
	t.Helper()
	ctx := context.Background()
	orgID, mu, clientID = "org-"+tn.ID, "MU-"+u.ID, "client-"+tn.ID
	ok(t, s.CreateSession(ctx, session("s-"+u.ID, u, at(0))), "session of "+u.ID)
	ok(t, s.CreateOrganisation(ctx, store.Organisation{ID: orgID, TenantID: tn.ID, Name: "org", CreatedAt: at(0)}), "organisation")
	ok(t, s.CreateMembership(ctx, store.Membership{ID: mu, TenantID: tn.ID, OrganisationID: orgID, UserID: u.ID, CreatedAt: at(0)}), "membership")
	ok(t, s.CreateExternalIdentity(ctx, store.ExternalIdentity{TenantID: tn.ID, Issuer: "https://idp", Subject: u.ID, UserID: u.ID, CreatedAt: at(0)}), "external identity")
	ok(t, s.CreateClient(ctx, store.Client{ID: clientID, TenantID: tn.ID, CreatedAt: at(0)}), "client")
	return orgID, mu, clientID
}

// testDeleteUser checks that deleting a user deletes what hangs off it
// (sessions, memberships, external identities) and nothing else.
func testDeleteUser(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	_, mu, _ := ownedBy(t, s, w.t1, w.u1)
	ok(t, s.CreateSession(ctx, session("s-"+w.u2.ID, w.u2, at(0))), "session of u2")
	ok(t, s.AppendAudit(ctx, store.AuditEvent{Time: at(0), Type: "signon", TenantID: w.t1.ID, UserID: w.u1.ID}), "audit")

	ok(t, s.DeleteUser(ctx, w.u1.ID), "delete")
	_, err := s.GetUser(ctx, w.u1.ID)
	wantErr(t, err, store.ErrNotFound, "deleted user")
	_, err = s.GetSession(ctx, "s-"+w.u1.ID)
	wantErr(t, err, store.ErrNotFound, "session of the deleted user")
	_, err = s.GetMembership(ctx, mu)
	wantErr(t, err, store.ErrNotFound, "membership of the deleted user")
	_, err = s.GetExternalIdentity(ctx, w.t1.ID, "https://idp", w.u1.ID)
	wantErr(t, err, store.ErrNotFound, "external identity of the deleted user")
	_, err = s.GetSession(ctx, "s-"+w.u2.ID)
	ok(t, err, "another user's session")
	evs, err := s.ListAudit(ctx, store.AuditFilter{UserID: w.u1.ID})
	ok(t, err, "audit")
	if len(evs) != 1 {
		t.Fatalf("audit of the deleted user: %d events, want 1 (history is kept)", len(evs))
	}
	wantErr(t, s.DeleteUser(ctx, w.u1.ID), store.ErrNotFound, "delete again")
}

// testDeleteTenant checks that deleting a tenant deletes everything it
// owns, in one go, and nothing of another tenant.
func testDeleteTenant(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	org1, mu1, client1 := ownedBy(t, s, w.t1, w.u1)
	_, mu3, client2 := ownedBy(t, s, w.t2, w.u3)

	ok(t, s.DeleteTenant(ctx, w.t1.ID), "delete")
	_, err := s.GetTenant(ctx, w.t1.ID)
	wantErr(t, err, store.ErrNotFound, "deleted tenant")
	for _, id := range []string{w.u1.ID, w.u2.ID} {
		_, err = s.GetUser(ctx, id)
		wantErr(t, err, store.ErrNotFound, "user "+id+" of the deleted tenant")
	}
	_, err = s.GetClient(ctx, client1)
	wantErr(t, err, store.ErrNotFound, "client of the deleted tenant")
	_, err = s.GetOrganisation(ctx, org1)
	wantErr(t, err, store.ErrNotFound, "organisation of the deleted tenant")
	_, err = s.GetMembership(ctx, mu1)
	wantErr(t, err, store.ErrNotFound, "membership of the deleted tenant")
	_, err = s.GetSession(ctx, "s-"+w.u1.ID)
	wantErr(t, err, store.ErrNotFound, "session of the deleted tenant")

	_, err = s.GetTenant(ctx, w.t2.ID)
	ok(t, err, "other tenant")
	_, err = s.GetUser(ctx, w.u3.ID)
	ok(t, err, "other tenant's user")
	_, err = s.GetClient(ctx, client2)
	ok(t, err, "other tenant's client")
	_, err = s.GetMembership(ctx, mu3)
	ok(t, err, "other tenant's membership")
	_, err = s.GetSession(ctx, "s-"+w.u3.ID)
	ok(t, err, "other tenant's session")
	_, err = s.GetExternalIdentity(ctx, w.t2.ID, "https://idp", w.u3.ID)
	ok(t, err, "other tenant's external identity")

	wantErr(t, s.DeleteTenant(ctx, w.t1.ID), store.ErrNotFound, "delete again")
	// The name is free again.
	ok(t, s.CreateTenant(ctx, store.Tenant{ID: "tenant-new", Name: w.t1.Name}), "a new tenant of the old name")

	// Inside a transaction that fails, nothing is deleted.
	err = s.Tx(ctx, func(q store.Queries) error {
		if err := q.DeleteTenant(ctx, w.t2.ID); err != nil {
			return err
		}
		return errRollback
	})
	wantErr(t, err, errRollback, "rolled back")
	_, err = s.GetUser(ctx, w.u3.ID)
	ok(t, err, "user after a rolled-back delete")
}
