package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokengate/tokengate/internal/store"
)

const sessionCols = `id, tenant_id, user_id, client_id, service, policy, generation, rotated_at,
	device_id, label, created_at, last_used_at, idle_expires_at, absolute_expires_at,
	revoked_at, revoke_reason, auth_method, browser_session_id`

// liveAt is the SQL form of store.Session.Live at the parameter $n; NULL
// expiries compare false, as a zero expiry does in Live.
// Built from the session tables' shared rules (conv.go).
var (
	sqlRevokeUser = sqlRevokeLive("sessions", "user_id")
	sqlPurge      = sqlPurgeEnded("sessions")
)

func liveAt(n int) string {
	return fmt.Sprintf(`revoked_at IS NULL AND idle_expires_at > $%d AND absolute_expires_at > $%[1]d`, n)
}

const (
	sqlCreateSession = `INSERT INTO sessions (` + sessionCols + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`
	sqlGetSession    = `SELECT ` + sessionCols + ` FROM sessions WHERE id = $1`
	sqlUpdateSession = `UPDATE sessions SET tenant_id = $2, user_id = $3, client_id = $4, service = $5,
		policy = $6, generation = $7, rotated_at = $8, device_id = $9, label = $10, created_at = $11,
		last_used_at = $12, idle_expires_at = $13, absolute_expires_at = $14, revoked_at = $15,
		revoke_reason = $16, auth_method = $17, browser_session_id = $18 WHERE id = $1`

	// The three statements of GetSessionForUpdate, sent together. The
	// second and third run after the first has the lock, each with a
	// snapshot of its own taken then, so they read the user and tenant as
	// committed after any transaction that held the session before.
	sqlLockSession   = sqlGetSession + ` FOR UPDATE`
	sqlSessionUser   = `SELECT ` + userCols + ` FROM users WHERE id = (SELECT user_id FROM sessions WHERE id = $1)`
	sqlSessionTenant = `SELECT ` + tenantCols + ` FROM tenants WHERE id = (SELECT tenant_id FROM sessions WHERE id = $1)`

	sqlCountLive = `SELECT count(*) FROM sessions WHERE user_id = $1 AND
		revoked_at IS NULL AND idle_expires_at > $2 AND absolute_expires_at > $2`
	sqlCountLiveByTenant = `SELECT tenant_id, count(*) FROM sessions WHERE
		revoked_at IS NULL AND idle_expires_at > $1 AND absolute_expires_at > $1 GROUP BY tenant_id`
)

func scanSession(row pgx.Row) (store.Session, error) {
	var s store.Session
	var policy, method string
	err := row.Scan(&s.ID, &s.TenantID, &s.UserID, &s.ClientID, &s.Service, &policy, &s.Generation,
		tsCol{&s.RotatedAt}, &s.DeviceID, &s.Label, tsCol{&s.CreatedAt}, tsCol{&s.LastUsedAt},
		tsCol{&s.IdleExpiresAt}, tsCol{&s.AbsoluteExpiresAt}, tsCol{&s.RevokedAt}, &s.RevokeReason, &method, &s.BrowserSessionID)
	s.Policy = store.RefreshPolicy(policy)
	s.AuthMethod = store.AuthMethod(method)
	return s, err
}

func sessionArgs(s store.Session) []any {
	return []any{s.ID, s.TenantID, s.UserID, s.ClientID, s.Service, string(s.Policy), s.Generation,
		ts(s.RotatedAt), s.DeviceID, s.Label, ts(s.CreatedAt), ts(s.LastUsedAt), ts(s.IdleExpiresAt),
		ts(s.AbsoluteExpiresAt), ts(s.RevokedAt), s.RevokeReason, string(s.AuthMethod), s.BrowserSessionID}
}

func (q *queries) CreateSession(ctx context.Context, s store.Session) error {
	_, err := q.run.exec(ctx, sqlCreateSession, sessionArgs(s)...)
	return wrap("create session", err)
}

func (q *queries) GetSession(ctx context.Context, id string) (store.Session, error) {
	s, err := scanSession(q.run.queryRow(ctx, sqlGetSession, id))
	return s, wrap("get session", err)
}

// GetSessionForUpdate reads a session and, inside Tx, locks its row until
// commit (SELECT ... FOR UPDATE): a concurrent refresh of the same family,
// on this node or another, waits here and then reads the row as this
// transaction left it. Outside a transaction it is GetSession.
//
// In the same round trip it reads the session's user and tenant, which
// GetUser and GetTenant then answer from, until this transaction writes
// them: a refresh needs both, and reading them here saves two round trips.
func (q *queries) GetSessionForUpdate(ctx context.Context, id string) (store.Session, error) {
	if q.tx == nil {
		s, err := scanSession(q.run.queryRow(ctx, sqlGetSession, id))
		return s, wrap("get session for update", err)
	}
	t := q.tx
	br, err := t.send(ctx,
		stmt{sql: sqlLockSession, args: []any{id}},
		stmt{sql: sqlSessionUser, args: []any{id}},
		stmt{sql: sqlSessionTenant, args: []any{id}})
	if err != nil {
		return store.Session{}, wrap("get session for update", err)
	}
	s, err := scanSession(br.QueryRow())
	u, uerr := scanUser(br.QueryRow())
	tn, terr := scanTenant(br.QueryRow())
	cerr := br.Close()
	for _, e := range []error{err, uerr, terr, cerr} {
		t.fail(e)
	}
	if t.err != nil {
		return store.Session{}, wrap("get session for update", t.err)
	}
	if err != nil { // no such session
		return store.Session{}, wrap("get session for update", err)
	}
	if t.locked == nil {
		t.locked = make(map[string]string)
	}
	t.locked[s.ID] = s.UserID
	if uerr == nil {
		t.rememberUser(u)
	}
	if terr == nil {
		t.rememberTenant(tn)
	}
	return s, nil
}

// UpdateSession writes the whole session. Inside Tx, the update of a
// session this transaction locked, keeping its user, is deferred to the
// next round trip (usually COMMIT's): its outcome is certain, because the
// row exists and no one else can change or delete it until commit, and the
// update can break no constraint (the id and the user, the only keys, stay).
// It can then fail only as the whole transaction fails, which COMMIT
// reports.
func (q *queries) UpdateSession(ctx context.Context, s store.Session) error {
	if q.tx != nil {
		if user, ok := q.tx.locked[s.ID]; ok && user == s.UserID {
			return wrap("update session", q.tx.queue(stmt{op: "update session", sql: sqlUpdateSession, args: sessionArgs(s), rows: 1}))
		}
	}
	tag, err := q.run.exec(ctx, sqlUpdateSession, sessionArgs(s)...)
	if err == nil && q.tx != nil && q.tx.locked != nil {
		// The user changed: the row's lock is still held, but keep the map
		// true to what a deferred update may assume.
		q.tx.locked[s.ID] = s.UserID
	}
	return mustAffect("update session", tag, err)
}

// sessionListSQL builds the ListSessions query and its arguments.
func sessionListSQL(f store.SessionFilter) (string, []any) {
	l := listSessionTable(sessionCols, "sessions", f.TenantID, f.UserID, f.LiveAt)
	if f.Labelled {
		l.b.WriteString(` AND label <> ''`)
	}
	l.b.WriteString(` ORDER BY created_at, id`)
	if f.Limit > 0 {
		fmt.Fprintf(&l.b, ` LIMIT $%d`, l.arg(int64(f.Limit)))
	}
	return l.b.String(), l.args
}

// listQuery is a SELECT being built with its numbered arguments.
type listQuery struct {
	b    strings.Builder
	args []any
}

func (l *listQuery) arg(v any) int {
	l.args = append(l.args, v)
	return len(l.args)
}

// listSessionTable starts a SELECT of cols from a session table (sessions
// or browser_sessions) with the filters their lists share: a tenant, a
// user (each when given) and live at a time (when not zero).
func listSessionTable(cols, table, tenantID, userID string, live time.Time) *listQuery {
	l := &listQuery{}
	l.b.WriteString(`SELECT ` + cols + ` FROM ` + table + ` WHERE true`)
	if tenantID != "" {
		fmt.Fprintf(&l.b, ` AND tenant_id = $%d`, l.arg(tenantID))
	}
	if userID != "" {
		fmt.Fprintf(&l.b, ` AND user_id = $%d`, l.arg(userID))
	}
	if !live.IsZero() {
		l.b.WriteString(` AND ` + liveAt(l.arg(live)))
	}
	return l
}

// ListSessions lists sessions oldest first.
func (q *queries) ListSessions(ctx context.Context, f store.SessionFilter) ([]store.Session, error) {
	sql, args := sessionListSQL(f)
	rows, err := q.run.query(ctx, sql, args...)
	ss, err := collect(rows, err, scanSession)
	return ss, wrap("list sessions", err)
}

func (q *queries) CountLiveSessions(ctx context.Context, userID string, now time.Time) (int, error) {
	var n int
	err := q.run.queryRow(ctx, sqlCountLive, userID, now).Scan(&n)
	return n, wrap("count live sessions", err)
}

func (q *queries) CountLiveSessionsByTenant(ctx context.Context, now time.Time) (map[string]int, error) {
	rows, err := q.run.query(ctx, sqlCountLiveByTenant, now)
	type count struct {
		tenant string
		n      int
	}
	cs, err := collect(rows, err, func(r pgx.Row) (count, error) {
		var c count
		return c, r.Scan(&c.tenant, &c.n)
	})
	if err != nil {
		return nil, wrap("count live sessions by tenant", err)
	}
	out := make(map[string]int, len(cs))
	for _, c := range cs {
		out[c.tenant] = c.n
	}
	return out, nil
}

func (q *queries) RevokeUserSessions(ctx context.Context, userID string, at time.Time, reason string) (int, error) {
	return q.affected(ctx, "revoke user sessions", sqlRevokeUser, userID, at, reason)
}

// PurgeSessions deletes one batch of at most limit sessions whose earliest
// expiry or revocation is before the given time. Callers loop until it
// returns fewer than limit, so that no statement holds many locks for long.
func (q *queries) PurgeSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	if q.tx != nil {
		// A session this transaction locked may be gone now: its update
		// must be checked, not deferred.
		clear(q.tx.locked)
	}
	return q.purge(ctx, "purge sessions", sqlPurge, before, limit)
}
