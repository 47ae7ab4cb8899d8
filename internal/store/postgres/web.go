package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokengate/tokengate/internal/store"
)

const browserCols = `id, token_hash, tenant_id, user_id, auth_method, auth_time, password_at,
	remote_addr, user_agent, created_at, last_seen_at, idle_expires_at, absolute_expires_at,
	revoked_at, revoke_reason`

const (
	sqlCreateBrowser = `INSERT INTO browser_sessions (` + browserCols + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`
	sqlGetBrowser        = `SELECT ` + browserCols + ` FROM browser_sessions WHERE id = $1`
	sqlGetBrowserByToken = `SELECT ` + browserCols + ` FROM browser_sessions WHERE token_hash = $1`
	sqlUpdateBrowser     = `UPDATE browser_sessions SET token_hash = $2, tenant_id = $3, user_id = $4,
		auth_method = $5, auth_time = $6, password_at = $7, remote_addr = $8, user_agent = $9,
		created_at = $10, last_seen_at = $11, idle_expires_at = $12, absolute_expires_at = $13,
		revoked_at = $14, revoke_reason = $15 WHERE id = $1`
)

// Built from the session tables' shared rules (conv.go).
var (
	sqlRevokeUserBrowsers = sqlRevokeLive("browser_sessions", "user_id")
	sqlPurgeBrowsers      = sqlPurgeEnded("browser_sessions")
)

func scanBrowser(row pgx.Row) (store.BrowserSession, error) {
	var b store.BrowserSession
	err := row.Scan(&b.ID, &b.TokenHash, &b.TenantID, &b.UserID, &b.AuthMethod, tsCol{&b.AuthTime},
		tsCol{&b.PasswordAt}, &b.RemoteAddr, &b.UserAgent, tsCol{&b.CreatedAt}, tsCol{&b.LastSeenAt},
		tsCol{&b.IdleExpiresAt}, tsCol{&b.AbsoluteExpiresAt}, tsCol{&b.RevokedAt}, &b.RevokeReason)
	return b, err
}

func browserArgs(b store.BrowserSession) []any {
	return []any{b.ID, b.TokenHash, b.TenantID, b.UserID, b.AuthMethod, ts(b.AuthTime), ts(b.PasswordAt),
		b.RemoteAddr, b.UserAgent, ts(b.CreatedAt), ts(b.LastSeenAt), ts(b.IdleExpiresAt),
		ts(b.AbsoluteExpiresAt), ts(b.RevokedAt), b.RevokeReason}
}

func (q *queries) CreateBrowserSession(ctx context.Context, b store.BrowserSession) error {
	_, err := q.run.exec(ctx, sqlCreateBrowser, browserArgs(b)...)
	return wrap("create browser session", err)
}

func (q *queries) GetBrowserSession(ctx context.Context, id string) (store.BrowserSession, error) {
	b, err := scanBrowser(q.run.queryRow(ctx, sqlGetBrowser, id))
	return b, wrap("get browser session", err)
}

func (q *queries) GetBrowserSessionByToken(ctx context.Context, tokenHash []byte) (store.BrowserSession, error) {
	b, err := scanBrowser(q.run.queryRow(ctx, sqlGetBrowserByToken, tokenHash))
	return b, wrap("get browser session by token", err)
}

func (q *queries) UpdateBrowserSession(ctx context.Context, b store.BrowserSession) error {
	tag, err := q.run.exec(ctx, sqlUpdateBrowser, browserArgs(b)...)
	return mustAffect("update browser session", tag, err)
}

// ListBrowserSessions lists browser sessions oldest first.
func (q *queries) ListBrowserSessions(ctx context.Context, f store.BrowserSessionFilter) ([]store.BrowserSession, error) {
	l := listSessionTable(browserCols, "browser_sessions", f.TenantID, f.UserID, f.LiveAt)
	l.b.WriteString(` ORDER BY created_at, id`)
	rows, err := q.run.query(ctx, l.b.String(), l.args...)
	bs, err := collect(rows, err, scanBrowser)
	return bs, wrap("list browser sessions", err)
}

func (q *queries) RevokeUserBrowserSessions(ctx context.Context, userID string, at time.Time, reason string) (int, error) {
	return q.affected(ctx, "revoke user browser sessions", sqlRevokeUserBrowsers, userID, at, reason)
}

// PurgeBrowserSessions deletes one batch of at most limit browser sessions
// that expired or ended before the given time.
func (q *queries) PurgeBrowserSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	return q.purge(ctx, "purge browser sessions", sqlPurgeBrowsers, before, limit)
}

const accessCols = `id, tenant_id, user_id, reason, status, created_at, decided_at, decided_by, note`

const (
	sqlCreateAccess = `INSERT INTO access_requests (` + accessCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	sqlGetAccess    = `SELECT ` + accessCols + ` FROM access_requests WHERE id = $1`
	sqlUpdateAccess = `UPDATE access_requests SET tenant_id = $2, user_id = $3, reason = $4, status = $5,
		created_at = $6, decided_at = $7, decided_by = $8, note = $9 WHERE id = $1`
)

func scanAccess(row pgx.Row) (store.AccessRequest, error) {
	var r store.AccessRequest
	var status string
	err := row.Scan(&r.ID, &r.TenantID, &r.UserID, &r.Reason, &status, tsCol{&r.CreatedAt},
		tsCol{&r.DecidedAt}, &r.DecidedBy, &r.Note)
	r.Status = store.AccessStatus(status)
	return r, err
}

func accessArgs(r store.AccessRequest) []any {
	return []any{r.ID, r.TenantID, r.UserID, r.Reason, string(r.Status), ts(r.CreatedAt), ts(r.DecidedAt), r.DecidedBy, r.Note}
}

func (q *queries) CreateAccessRequest(ctx context.Context, r store.AccessRequest) error {
	_, err := q.run.exec(ctx, sqlCreateAccess, accessArgs(r)...)
	return wrap("create access request", err)
}

func (q *queries) GetAccessRequest(ctx context.Context, id string) (store.AccessRequest, error) {
	r, err := scanAccess(q.run.queryRow(ctx, sqlGetAccess, id))
	return r, wrap("get access request", err)
}

func (q *queries) UpdateAccessRequest(ctx context.Context, r store.AccessRequest) error {
	tag, err := q.run.exec(ctx, sqlUpdateAccess, accessArgs(r)...)
	return mustAffect("update access request", tag, err)
}

// ListAccessRequests lists requests newest first (by creation, then id).
func (q *queries) ListAccessRequests(ctx context.Context, f store.AccessRequestFilter) ([]store.AccessRequest, error) {
	var b strings.Builder
	var args []any
	b.WriteString(`SELECT ` + accessCols + ` FROM access_requests WHERE true`)
	for _, c := range []struct{ col, v string }{{"tenant_id", f.TenantID}, {"user_id", f.UserID}, {"status", string(f.Status)}} {
		if c.v != "" {
			args = append(args, c.v)
			fmt.Fprintf(&b, ` AND %s = $%d`, c.col, len(args))
		}
	}
	b.WriteString(` ORDER BY created_at DESC, id DESC`)
	if f.Limit > 0 {
		args = append(args, int64(f.Limit))
		fmt.Fprintf(&b, ` LIMIT $%d`, len(args))
	}
	rows, err := q.run.query(ctx, b.String(), args...)
	rs, err := collect(rows, err, scanAccess)
	return rs, wrap("list access requests", err)
}
