package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

func testTenants(t *testing.T, s store.Store) {
	ctx := context.Background()
	full := store.Tenant{
		ID: "tenant-a", Name: "acme", DisplayName: "Acme Ltd", MaxSessions: 5,
		SessionLimitPolicy: store.LimitEndOldest, Disabled: true, CreatedAt: at(0),
	}
	bare := store.Tenant{ID: "tenant-b", Name: "bravo"} // zero CreatedAt, empty strings
	ok(t, s.CreateTenant(ctx, full), "create")
	ok(t, s.CreateTenant(ctx, bare), "create bare")

	got, err := s.GetTenant(ctx, full.ID)
	ok(t, err, "get")
	equal(t, got, full, "get")
	got, err = s.GetTenantByName(ctx, "bravo")
	ok(t, err, "get by name")
	equal(t, got, bare, "get by name (zero fields)")

	_, err = s.GetTenant(ctx, "missing")
	wantErr(t, err, store.ErrNotFound, "get missing")
	_, err = s.GetTenantByName(ctx, "missing")
	wantErr(t, err, store.ErrNotFound, "get by name missing")
	wantErr(t, s.CreateTenant(ctx, store.Tenant{ID: full.ID, Name: "other"}), store.ErrConflict, "duplicate id")
	wantErr(t, s.CreateTenant(ctx, store.Tenant{ID: "tenant-c", Name: full.Name}), store.ErrConflict, "duplicate name")

	list, err := s.ListTenants(ctx)
	ok(t, err, "list")
	equal(t, sortedBy(list, func(x store.Tenant) string { return x.ID }), []store.Tenant{full, bare}, "list")

	full.DisplayName, full.MaxSessions, full.Disabled, full.Name = "Acme", 0, false, "acme2"
	full.SessionLimitPolicy = store.LimitReject
	ok(t, s.UpdateTenant(ctx, full), "update")
	got, err = s.GetTenant(ctx, full.ID)
	ok(t, err, "get after update")
	equal(t, got, full, "after update")
	_, err = s.GetTenantByName(ctx, "acme")
	wantErr(t, err, store.ErrNotFound, "old name after rename")

	wantErr(t, s.UpdateTenant(ctx, store.Tenant{ID: "missing", Name: "zulu"}), store.ErrNotFound, "update missing")
	bare.Name = "acme2"
	wantErr(t, s.UpdateTenant(ctx, bare), store.ErrConflict, "update to a taken name")
}

func testUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	full := store.User{
		ID: "user-d", TenantID: w.t1.ID, Name: "dave", Email: "dave@example.com", DisplayName: "Dave",
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", RefreshEnabled: true,
		RefreshRequestedAt: at(time.Minute), Admin: true, Disabled: true,
		CreatedAt: at(0), UpdatedAt: at(2 * time.Minute),
	}
	ok(t, s.CreateUser(ctx, full), "create")
	got, err := s.GetUser(ctx, full.ID)
	ok(t, err, "get")
	equal(t, got, full, "get")
	got, err = s.GetUserByName(ctx, w.t1.ID, "dave")
	ok(t, err, "get by name")
	equal(t, got, full, "get by name")
	got, err = s.GetUser(ctx, w.u1.ID)
	ok(t, err, "get fixture user")
	equal(t, got, w.u1, "zero RefreshRequestedAt and empty fields")

	_, err = s.GetUser(ctx, "missing")
	wantErr(t, err, store.ErrNotFound, "get missing")
	_, err = s.GetUserByName(ctx, w.t2.ID, "dave")
	wantErr(t, err, store.ErrNotFound, "name in another tenant")
	wantErr(t, s.CreateUser(ctx, store.User{ID: full.ID, TenantID: w.t2.ID, Name: "x"}), store.ErrConflict, "duplicate id")
	wantErr(t, s.CreateUser(ctx, store.User{ID: "user-e", TenantID: w.t1.ID, Name: "dave"}), store.ErrConflict, "duplicate name in tenant")
	wantErr(t, s.CreateUser(ctx, store.User{ID: "user-f", TenantID: "missing", Name: "erin"}), store.ErrNotFound, "unknown tenant")
	same := store.User{ID: "user-g", TenantID: w.t2.ID, Name: "dave", CreatedAt: at(0)}
	ok(t, s.CreateUser(ctx, same), "same name in another tenant")

	list, err := s.ListUsers(ctx, w.t1.ID)
	ok(t, err, "list tenant")
	equal(t, list, []store.User{w.u1, w.u2, full}, "list tenant, by name")
	list, err = s.ListUsers(ctx, "")
	ok(t, err, "list all")
	if len(list) != 5 {
		t.Fatalf("list all: got %d users, want 5", len(list))
	}
	for i := 1; i < len(list); i++ {
		if list[i-1].Name > list[i].Name {
			t.Fatalf("list all: %q before %q, want name order", list[i-1].Name, list[i].Name)
		}
	}

	full.RefreshRequestedAt = time.Time{}
	full.RefreshEnabled, full.Admin, full.Disabled = false, false, false
	full.Email, full.PasswordHash, full.UpdatedAt = "d@example.org", "", at(time.Hour)
	ok(t, s.UpdateUser(ctx, full), "update")
	got, err = s.GetUser(ctx, full.ID)
	ok(t, err, "get after update")
	equal(t, got, full, "after update (RefreshRequestedAt cleared)")
	wantErr(t, s.UpdateUser(ctx, store.User{ID: "missing", TenantID: w.t1.ID, Name: "zed"}), store.ErrNotFound, "update missing")
	full.Name = "alice"
	wantErr(t, s.UpdateUser(ctx, full), store.ErrConflict, "update to a taken name")
}

func testLockUser(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	u, err := s.LockUser(ctx, w.u1.ID)
	ok(t, err, "outside Tx")
	equal(t, u, w.u1, "user outside Tx")
	_, err = s.LockUser(ctx, "missing")
	wantErr(t, err, store.ErrNotFound, "missing outside Tx")
	err = s.Tx(ctx, func(q store.Queries) error {
		u, err := q.LockUser(ctx, w.u1.ID)
		ok(t, err, "inside Tx")
		equal(t, u, w.u1, "user inside Tx")
		_, err = q.LockUser(ctx, "missing")
		return err
	})
	wantErr(t, err, store.ErrNotFound, "missing inside Tx")
}

func testClients(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	confidential := store.Client{
		ID: "client-a", TenantID: w.t1.ID, Name: "backend", SecretHash: []byte{0x01, 0x02, 0xfe, 0xff},
		GrantTypes: []string{"client_credentials", "refresh_token"}, Disabled: true, CreatedAt: at(0),
	}
	public := store.Client{ID: "client-b", TenantID: w.t1.ID, Name: "cli", GrantTypes: nil, CreatedAt: at(time.Second)}
	empty := store.Client{ID: "client-c", TenantID: w.t2.ID, Name: "empty", GrantTypes: []string{}}
	for _, c := range []store.Client{confidential, public, empty} {
		ok(t, s.CreateClient(ctx, c), "create "+c.ID)
	}
	for _, c := range []store.Client{confidential, public, empty} {
		got, err := s.GetClient(ctx, c.ID)
		ok(t, err, "get "+c.ID)
		equal(t, got, c, "round trip of "+c.ID+" (nil secret, nil vs empty grant types)")
	}
	_, err := s.GetClient(ctx, "missing")
	wantErr(t, err, store.ErrNotFound, "get missing")
	wantErr(t, s.CreateClient(ctx, store.Client{ID: confidential.ID, TenantID: w.t2.ID}), store.ErrConflict, "duplicate id")
	wantErr(t, s.CreateClient(ctx, store.Client{ID: "client-x", TenantID: "missing"}), store.ErrNotFound, "unknown tenant")

	list, err := s.ListClients(ctx, w.t1.ID)
	ok(t, err, "list")
	equal(t, sortedBy(list, func(c store.Client) string { return c.ID }), []store.Client{confidential, public}, "list tenant")

	public.SecretHash, public.GrantTypes, public.Name = []byte("hash"), []string{"password"}, "cli2"
	ok(t, s.UpdateClient(ctx, public), "update")
	got, err := s.GetClient(ctx, public.ID)
	ok(t, err, "get after update")
	equal(t, got, public, "after update")
	wantErr(t, s.UpdateClient(ctx, store.Client{ID: "missing", TenantID: w.t1.ID}), store.ErrNotFound, "update missing")

	ok(t, s.DeleteClient(ctx, public.ID), "delete")
	_, err = s.GetClient(ctx, public.ID)
	wantErr(t, err, store.ErrNotFound, "get deleted")
	wantErr(t, s.DeleteClient(ctx, public.ID), store.ErrNotFound, "delete again")
}
