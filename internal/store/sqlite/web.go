package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

const browserCols = `id, token_hash, tenant_id, user_id, auth_method, auth_time, password_at,
	remote_addr, user_agent, created_at, last_seen_at, idle_expires_at, absolute_expires_at,
	revoked_at, revoke_reason`

const (
	sqlCreateBrowser = `INSERT INTO browser_sessions (` + browserCols + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlGetBrowser        = `SELECT ` + browserCols + ` FROM browser_sessions WHERE id = ?`
	sqlGetBrowserByToken = `SELECT ` + browserCols + ` FROM browser_sessions WHERE token_hash = ?`
	sqlUpdateBrowser     = `UPDATE browser_sessions SET token_hash = ?, tenant_id = ?, user_id = ?,
		auth_method = ?, auth_time = ?, password_at = ?, remote_addr = ?, user_agent = ?,
		created_at = ?, last_seen_at = ?, idle_expires_at = ?, absolute_expires_at = ?,
		revoked_at = ?, revoke_reason = ? WHERE id = ?`
	sqlRevokeUserBrowsers = `UPDATE browser_sessions SET revoked_at = ?, revoke_reason = ?
		WHERE user_id = ? AND ` + liveAt
	sqlPurgeBrowsers = `DELETE FROM browser_sessions WHERE id IN (
		SELECT id FROM browser_sessions WHERE ` + purgeAfter + ` < ? LIMIT ?)`
)

func scanBrowser(row interface{ Scan(...any) error }) (store.BrowserSession, error) {
	var b store.BrowserSession
	err := row.Scan(&b.ID, &b.TokenHash, &b.TenantID, &b.UserID, &b.AuthMethod, msTime{&b.AuthTime},
		msTime{&b.PasswordAt}, &b.RemoteAddr, &b.UserAgent, msTime{&b.CreatedAt}, msTime{&b.LastSeenAt},
		msTime{&b.IdleExpiresAt}, msTime{&b.AbsoluteExpiresAt}, msTime{&b.RevokedAt}, &b.RevokeReason)
	return b, err
}

func (q *queries) CreateBrowserSession(ctx context.Context, b store.BrowserSession) error {
	_, err := q.w.exec(ctx, sqlCreateBrowser, b.ID, b.TokenHash, b.TenantID, b.UserID, b.AuthMethod,
		ms(b.AuthTime), ms(b.PasswordAt), b.RemoteAddr, b.UserAgent, ms(b.CreatedAt), ms(b.LastSeenAt),
		ms(b.IdleExpiresAt), ms(b.AbsoluteExpiresAt), ms(b.RevokedAt), b.RevokeReason)
	return wrap("create browser session", err)
}

func (q *queries) GetBrowserSession(ctx context.Context, id string) (store.BrowserSession, error) {
	b, err := scanBrowser(q.r.queryRow(ctx, sqlGetBrowser, id))
	return b, wrap("get browser session", err)
}

func (q *queries) GetBrowserSessionByToken(ctx context.Context, tokenHash []byte) (store.BrowserSession, error) {
	b, err := scanBrowser(q.r.queryRow(ctx, sqlGetBrowserByToken, tokenHash))
	return b, wrap("get browser session by token", err)
}

func (q *queries) UpdateBrowserSession(ctx context.Context, b store.BrowserSession) error {
	res, err := q.w.exec(ctx, sqlUpdateBrowser, b.TokenHash, b.TenantID, b.UserID, b.AuthMethod,
		ms(b.AuthTime), ms(b.PasswordAt), b.RemoteAddr, b.UserAgent, ms(b.CreatedAt), ms(b.LastSeenAt),
		ms(b.IdleExpiresAt), ms(b.AbsoluteExpiresAt), ms(b.RevokedAt), b.RevokeReason, b.ID)
	return mustAffect("update browser session", res, err)
}

func (q *queries) ListBrowserSessions(ctx context.Context, f store.BrowserSessionFilter) ([]store.BrowserSession, error) {
	var b strings.Builder
	var args []any
	b.WriteString(`SELECT ` + browserCols + ` FROM browser_sessions WHERE 1`)
	if f.TenantID != "" {
		b.WriteString(` AND tenant_id = ?`)
		args = append(args, f.TenantID)
	}
	if f.UserID != "" {
		b.WriteString(` AND user_id = ?`)
		args = append(args, f.UserID)
	}
	if !f.LiveAt.IsZero() {
		b.WriteString(` AND ` + liveAt)
		at := f.LiveAt.UnixMilli()
		args = append(args, at, at)
	}
	b.WriteString(` ORDER BY created_at, id`)
	rows, err := q.r.query(ctx, b.String(), args...)
	bs, err := collect(rows, err, scanBrowser)
	return bs, wrap("list browser sessions", err)
}

func (q *queries) RevokeUserBrowserSessions(ctx context.Context, userID string, at time.Time, reason string) (int, error) {
	t := at.UnixMilli()
	res, err := q.w.exec(ctx, sqlRevokeUserBrowsers, ms(at), reason, userID, t, t)
	if err != nil {
		return 0, wrap("revoke user browser sessions", err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap("revoke user browser sessions", err)
}

func (q *queries) PurgeBrowserSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	res, err := q.w.exec(ctx, sqlPurgeBrowsers, before.UnixMilli(), limit)
	if err != nil {
		return 0, wrap("purge browser sessions", err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap("purge browser sessions", err)
}

const accessCols = `id, tenant_id, user_id, reason, status, created_at, decided_at, decided_by, note`

const (
	sqlCreateAccess = `INSERT INTO access_requests (` + accessCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlGetAccess    = `SELECT ` + accessCols + ` FROM access_requests WHERE id = ?`
	sqlUpdateAccess = `UPDATE access_requests SET tenant_id = ?, user_id = ?, reason = ?, status = ?,
		created_at = ?, decided_at = ?, decided_by = ?, note = ? WHERE id = ?`
)

func scanAccess(row interface{ Scan(...any) error }) (store.AccessRequest, error) {
	var r store.AccessRequest
	var status string
	err := row.Scan(&r.ID, &r.TenantID, &r.UserID, &r.Reason, &status, msTime{&r.CreatedAt},
		msTime{&r.DecidedAt}, &r.DecidedBy, &r.Note)
	r.Status = store.AccessStatus(status)
	return r, err
}

func (q *queries) CreateAccessRequest(ctx context.Context, r store.AccessRequest) error {
	_, err := q.w.exec(ctx, sqlCreateAccess, r.ID, r.TenantID, r.UserID, r.Reason, string(r.Status),
		ms(r.CreatedAt), ms(r.DecidedAt), r.DecidedBy, r.Note)
	return wrap("create access request", err)
}

func (q *queries) GetAccessRequest(ctx context.Context, id string) (store.AccessRequest, error) {
	r, err := scanAccess(q.r.queryRow(ctx, sqlGetAccess, id))
	return r, wrap("get access request", err)
}

func (q *queries) UpdateAccessRequest(ctx context.Context, r store.AccessRequest) error {
	res, err := q.w.exec(ctx, sqlUpdateAccess, r.TenantID, r.UserID, r.Reason, string(r.Status),
		ms(r.CreatedAt), ms(r.DecidedAt), r.DecidedBy, r.Note, r.ID)
	return mustAffect("update access request", res, err)
}

// ListAccessRequests lists requests newest first (by creation, then id).
func (q *queries) ListAccessRequests(ctx context.Context, f store.AccessRequestFilter) ([]store.AccessRequest, error) {
	var b strings.Builder
	var args []any
	b.WriteString(`SELECT ` + accessCols + ` FROM access_requests WHERE 1`)
	for _, c := range []struct{ col, v string }{{"tenant_id", f.TenantID}, {"user_id", f.UserID}, {"status", string(f.Status)}} {
		if c.v != "" {
			b.WriteString(` AND ` + c.col + ` = ?`)
			args = append(args, c.v)
		}
	}
	b.WriteString(` ORDER BY created_at DESC, id DESC LIMIT ?`)
	limit := int64(-1)
	if f.Limit > 0 {
		limit = int64(f.Limit)
	}
	args = append(args, limit)
	rows, err := q.r.query(ctx, b.String(), args...)
	rs, err := collect(rows, err, scanAccess)
	return rs, wrap("list access requests", err)
}
