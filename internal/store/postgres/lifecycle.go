package postgres

import (
	"context"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

const (
	sqlDeleteUser   = `DELETE FROM users WHERE id = $1` // sessions, memberships, external identities cascade
	sqlDeleteTenant = `DELETE FROM tenants WHERE id = $1`
)

// deleteTenantOwned deletes what a tenant owns, in an order the foreign
// keys accept: what refers to users and organisations first.
var deleteTenantOwned = []string{
	`DELETE FROM sessions WHERE tenant_id = $1`,
	`DELETE FROM memberships WHERE tenant_id = $1`,
	`DELETE FROM external_identities WHERE tenant_id = $1`,
	`DELETE FROM users WHERE tenant_id = $1`,
	`DELETE FROM clients WHERE tenant_id = $1`,
	`DELETE FROM organisations WHERE tenant_id = $1`,
}

// Built from the session tables' shared rules (conv.go).
var (
	sqlRevokeClient = sqlRevokeLive("sessions", "client_id")
)

func (q *queries) DeleteUser(ctx context.Context, id string) error {
	q.forgetUser(id)
	tag, err := q.run.exec(ctx, sqlDeleteUser, id)
	return mustAffect("delete user", tag, err)
}

// DeleteTenant runs its statements on q's runner: inside Tx they are part
// of that transaction; Store.DeleteTenant gives them one of their own.
func (q *queries) DeleteTenant(ctx context.Context, id string) error {
	q.forgetTenant(id)
	if q.tx != nil {
		clear(q.tx.users) // users of the tenant read ahead are gone too
	}
	for _, sql := range deleteTenantOwned {
		if _, err := q.run.exec(ctx, sql, id); err != nil {
			return wrap("delete tenant", err)
		}
	}
	tag, err := q.run.exec(ctx, sqlDeleteTenant, id)
	return mustAffect("delete tenant", tag, err)
}

// DeleteTenant deletes the tenant and what it owns in one transaction.
func (s *Store) DeleteTenant(ctx context.Context, id string) error {
	return s.Tx(ctx, func(q store.Queries) error { return q.DeleteTenant(ctx, id) })
}

// RevokeClientSessions scans the sessions: client_id has no index, since
// one would cost every session the bytes of its client id and id again,
// and only an administrator removing a client asks.
func (q *queries) RevokeClientSessions(ctx context.Context, clientID string, at time.Time, reason string) (int, error) {
	return q.affected(ctx, "revoke client sessions", sqlRevokeClient, clientID, at, reason)
}
