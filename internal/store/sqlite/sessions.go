package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

const sessionCols = `id, tenant_id, user_id, client_id, service, policy, generation, rotated_at,
	device_id, label, created_at, last_used_at, idle_expires_at, absolute_expires_at,
	revoked_at, revoke_reason, auth_method, browser_session_id`

// liveAt is the SQL form of store.Session.Live; NULL expiries compare false,
// as a zero expiry does in Live.
const liveAt = `revoked_at IS NULL AND idle_expires_at > ? AND absolute_expires_at > ?`

// purgeAfter must match the sessions_purge index expression exactly for
// SQLite to use the index.
const purgeAfter = `min(ifnull(idle_expires_at, 0), ifnull(absolute_expires_at, 0),
        ifnull(revoked_at, 9223372036854775807))`

const (
	sqlCreateSession = `INSERT INTO sessions (` + sessionCols + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlGetSession    = `SELECT ` + sessionCols + ` FROM sessions WHERE id = ?`
	sqlUpdateSession = `UPDATE sessions SET tenant_id = ?, user_id = ?, client_id = ?, service = ?,
		policy = ?, generation = ?, rotated_at = ?, device_id = ?, label = ?, created_at = ?,
		last_used_at = ?, idle_expires_at = ?, absolute_expires_at = ?, revoked_at = ?,
		revoke_reason = ?, auth_method = ?, browser_session_id = ? WHERE id = ?`
	sqlCountLive         = `SELECT count(*) FROM sessions WHERE user_id = ? AND ` + liveAt
	sqlCountLiveByTenant = `SELECT tenant_id, count(*) FROM sessions WHERE ` + liveAt + ` GROUP BY tenant_id`
	sqlRevokeUser        = `UPDATE sessions SET revoked_at = ?, revoke_reason = ? WHERE user_id = ? AND ` + liveAt
	sqlPurgeExpiry       = `DELETE FROM sessions WHERE id IN (
		SELECT id FROM sessions WHERE ` + purgeAfter + ` < ? LIMIT ?)`
)

// txSQL lists the statements prepared on the write connection at Open, so
// that transactions run them prepared: everything a sign-on or a refresh
// does.
var txSQL = []string{
	sqlGetTenant, sqlGetUser, sqlGetClient,
	sqlCreateSession, sqlGetSession, sqlUpdateSession, sqlCountLive, sqlRevokeUser,
	sqlListUserSessions, sqlAppendAudit, sqlGetMembership,
	sqlRecordFailure, sqlGetFailures2,
}

// sqlListUserSessions is the engine's common ListSessions shape inside a
// sign-on: one user's sessions, oldest first.
var sqlListUserSessions = sessionListSQL(store.SessionFilter{UserID: "x"})

func scanSession(row interface{ Scan(...any) error }) (store.Session, error) {
	var s store.Session
	var policy, method string
	err := row.Scan(&s.ID, &s.TenantID, &s.UserID, &s.ClientID, &s.Service, &policy, &s.Generation,
		msTime{&s.RotatedAt}, &s.DeviceID, &s.Label, msTime{&s.CreatedAt}, msTime{&s.LastUsedAt},
		msTime{&s.IdleExpiresAt}, msTime{&s.AbsoluteExpiresAt}, msTime{&s.RevokedAt}, &s.RevokeReason, &method, &s.BrowserSessionID)
	s.Policy = store.RefreshPolicy(policy)
	s.AuthMethod = store.AuthMethod(method)
	return s, err
}

func (q *queries) CreateSession(ctx context.Context, s store.Session) error {
	_, err := q.w.exec(ctx, sqlCreateSession, s.ID, s.TenantID, s.UserID, s.ClientID, s.Service,
		string(s.Policy), s.Generation, ms(s.RotatedAt), s.DeviceID, s.Label, ms(s.CreatedAt),
		ms(s.LastUsedAt), ms(s.IdleExpiresAt), ms(s.AbsoluteExpiresAt), ms(s.RevokedAt), s.RevokeReason,
		string(s.AuthMethod), s.BrowserSessionID)
	return wrap("create session", err)
}

func (q *queries) GetSession(ctx context.Context, id string) (store.Session, error) {
	s, err := scanSession(q.r.queryRow(ctx, sqlGetSession, id))
	return s, wrap("get session", err)
}

// GetSessionForUpdate is GetSession: inside Tx the IMMEDIATE transaction
// already excludes every other writer until it ends, which is the lock the
// contract asks for.
func (q *queries) GetSessionForUpdate(ctx context.Context, id string) (store.Session, error) {
	s, err := scanSession(q.r.queryRow(ctx, sqlGetSession, id))
	return s, wrap("get session for update", err)
}

func (q *queries) UpdateSession(ctx context.Context, s store.Session) error {
	res, err := q.w.exec(ctx, sqlUpdateSession, s.TenantID, s.UserID, s.ClientID, s.Service,
		string(s.Policy), s.Generation, ms(s.RotatedAt), s.DeviceID, s.Label, ms(s.CreatedAt),
		ms(s.LastUsedAt), ms(s.IdleExpiresAt), ms(s.AbsoluteExpiresAt), ms(s.RevokedAt),
		s.RevokeReason, string(s.AuthMethod), s.BrowserSessionID, s.ID)
	return mustAffect("update session", res, err)
}

// sessionListSQL builds the ListSessions query for the filter's shape (which
// fields are set, not their values), so each shape is prepared once.
func sessionListSQL(f store.SessionFilter) string {
	var b strings.Builder
	b.WriteString(`SELECT ` + sessionCols + ` FROM sessions WHERE 1`)
	if f.TenantID != "" {
		b.WriteString(` AND tenant_id = ?`)
	}
	if f.UserID != "" {
		b.WriteString(` AND user_id = ?`)
	}
	if !f.LiveAt.IsZero() {
		b.WriteString(` AND ` + liveAt)
	}
	if f.Labelled {
		b.WriteString(` AND label <> ''`)
	}
	b.WriteString(` ORDER BY created_at, id LIMIT ?`)
	return b.String()
}

func (q *queries) ListSessions(ctx context.Context, f store.SessionFilter) ([]store.Session, error) {
	var args []any
	if f.TenantID != "" {
		args = append(args, f.TenantID)
	}
	if f.UserID != "" {
		args = append(args, f.UserID)
	}
	if !f.LiveAt.IsZero() {
		at := f.LiveAt.UnixMilli()
		args = append(args, at, at)
	}
	limit := int64(-1) // no limit
	if f.Limit > 0 {
		limit = int64(f.Limit)
	}
	args = append(args, limit)
	rows, err := q.r.query(ctx, sessionListSQL(f), args...)
	ss, err := collect(rows, err, scanSession)
	return ss, wrap("list sessions", err)
}

func (q *queries) CountLiveSessions(ctx context.Context, userID string, now time.Time) (int, error) {
	var n int
	at := now.UnixMilli()
	err := q.r.queryRow(ctx, sqlCountLive, userID, at, at).Scan(&n)
	return n, wrap("count live sessions", err)
}

func (q *queries) CountLiveSessionsByTenant(ctx context.Context, now time.Time) (map[string]int, error) {
	at := now.UnixMilli()
	rows, err := q.r.query(ctx, sqlCountLiveByTenant, at, at)
	if err != nil {
		return nil, wrap("count live sessions by tenant", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, wrap("count live sessions by tenant", err)
		}
		out[id] = n
	}
	return out, wrap("count live sessions by tenant", rows.Err())
}

func (q *queries) RevokeUserSessions(ctx context.Context, userID string, at time.Time, reason string) (int, error) {
	t := at.UnixMilli()
	res, err := q.w.exec(ctx, sqlRevokeUser, ms(at), reason, userID, t, t)
	if err != nil {
		return 0, wrap("revoke user sessions", err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap("revoke user sessions", err)
}

// PurgeSessions deletes one batch of at most limit sessions whose earliest
// expiry or revocation is before the given time, found through the
// sessions_purge index. Callers loop until it returns fewer than limit, so
// that no single statement holds the write lock for long.
func (q *queries) PurgeSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	res, err := q.w.exec(ctx, sqlPurgeExpiry, before.UnixMilli(), limit)
	if err != nil {
		return 0, wrap("purge sessions", err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap("purge sessions", err)
}
