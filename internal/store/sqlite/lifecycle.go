package sqlite

import (
	"context"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

const (
	sqlDeleteUser   = `DELETE FROM users WHERE id = ?` // sessions, memberships, external identities cascade
	sqlRevokeClient = `UPDATE sessions SET revoked_at = ?, revoke_reason = ? WHERE client_id = ? AND ` + liveAt
	sqlDeleteTenant = `DELETE FROM tenants WHERE id = ?`
)

// deleteTenantOwned deletes what a tenant owns, in an order the foreign
// keys accept: what refers to users and organisations first.
var deleteTenantOwned = []string{
	`DELETE FROM sessions WHERE tenant_id = ?`,
	`DELETE FROM memberships WHERE tenant_id = ?`,
	`DELETE FROM external_identities WHERE tenant_id = ?`,
	`DELETE FROM users WHERE tenant_id = ?`,
	`DELETE FROM clients WHERE tenant_id = ?`,
	`DELETE FROM organisations WHERE tenant_id = ?`,
}

func (q *queries) DeleteUser(ctx context.Context, id string) error {
	res, err := q.w.exec(ctx, sqlDeleteUser, id)
	return mustAffect("delete user", res, err)
}

// DeleteTenant runs its statements on q's writer: inside Tx they are part
// of that transaction; Store.DeleteTenant gives them one of their own.
func (q *queries) DeleteTenant(ctx context.Context, id string) error {
	for _, stmt := range deleteTenantOwned {
		if _, err := q.w.exec(ctx, stmt, id); err != nil {
			return wrap("delete tenant", err)
		}
	}
	res, err := q.w.exec(ctx, sqlDeleteTenant, id)
	return mustAffect("delete tenant", res, err)
}

// DeleteTenant deletes the tenant and what it owns in one transaction.
func (s *Store) DeleteTenant(ctx context.Context, id string) error {
	return s.Tx(ctx, func(q store.Queries) error { return q.DeleteTenant(ctx, id) })
}

// RevokeClientSessions scans the sessions: client_id has no index, since
// one would cost every session the bytes of its client id and id again,
// and only an administrator removing a client asks.
func (q *queries) RevokeClientSessions(ctx context.Context, clientID string, at time.Time, reason string) (int, error) {
	t := at.UnixMilli()
	res, err := q.w.exec(ctx, sqlRevokeClient, ms(at), reason, clientID, t, t)
	if err != nil {
		return 0, wrap("revoke client sessions", err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap("revoke client sessions", err)
}
