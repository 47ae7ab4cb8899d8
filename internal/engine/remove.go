package engine

import (
	"context"
	"fmt"

	"github.com/tokengate/tokengate/internal/store"
)

// RemoveUser deletes the user named name in tenant ("" = the default
// tenant) with its sessions (its tokens stop: at the proxy within its
// revocation bound), memberships (their MU ids are never reused) and links
// to external identities. Audit events keep naming its id. To keep the
// account but stop it, disable it (UpdateUser) instead.
func (e *Engine) RemoveUser(ctx context.Context, tenant, name string) (store.User, error) {
	u, err := e.User(ctx, tenant, name)
	if err != nil {
		return store.User{}, err
	}
	err = e.st.Tx(ctx, func(q store.Queries) error {
		if err := q.DeleteUser(ctx, u.ID); err != nil {
			return userByIDErr(err, u.ID)
		}
		return e.audit(ctx, q, store.AuditEvent{Type: "user.remove", TenantID: u.TenantID, UserID: u.ID,
			Detail: map[string]string{"name": u.Name}})
	})
	return u, err
}

// TenantRemoval says what RemoveTenant deleted.
type TenantRemoval struct {
	Tenant  store.Tenant
	Users   int
	Clients int
}

// RemoveTenant deletes the tenant named name with everything it owns: its
// users (with their sessions, memberships and external identities), its
// clients and its organisations, in one transaction. A tenant that still
// has users is refused (ErrInUse) unless force is set: removing people's
// accounts is meant, not a side effect of a typo. The default tenant, which
// the node itself needs, can't be removed.
func (e *Engine) RemoveTenant(ctx context.Context, name string, force bool) (TenantRemoval, error) {
	t, err := e.Tenant(ctx, name)
	if err != nil {
		return TenantRemoval{}, err
	}
	if t.Name == e.opts.DefaultTenant {
		return TenantRemoval{}, fmt.Errorf("the default tenant %q is %w: the node's administrators and built-in client live there", t.Name, ErrInUse)
	}
	var r TenantRemoval
	var clientIDs []string
	err = e.st.Tx(ctx, func(q store.Queries) error {
		users, err := q.ListUsers(ctx, t.ID)
		if err != nil {
			return err
		}
		if len(users) > 0 && !force {
			return fmt.Errorf("tenant %q has %d user(s), so it is %w: remove them first, or force the removal of the tenant with its users", t.Name, len(users), ErrInUse)
		}
		clients, err := q.ListClients(ctx, t.ID)
		if err != nil {
			return err
		}
		for _, c := range clients {
			clientIDs = append(clientIDs, c.ID)
		}
		if err := q.DeleteTenant(ctx, t.ID); err != nil {
			return err
		}
		r = TenantRemoval{Tenant: t, Users: len(users), Clients: len(clients)}
		return e.audit(ctx, q, store.AuditEvent{Type: "tenant.remove", TenantID: t.ID,
			Detail: map[string]string{"name": t.Name, "users": fmt.Sprint(len(users)), "clients": fmt.Sprint(len(clients))}})
	})
	for _, id := range clientIDs {
		e.clients.forget(id)
	}
	if err != nil {
		return TenantRemoval{}, err
	}
	return r, nil
}
