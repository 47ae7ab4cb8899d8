package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokengate/tokengate/internal/store"
)

const codeCols = `code_hash, tenant_id, client_id, user_id, browser_session_id, redirect_uri, scope,
	nonce, code_challenge, auth_time, created_at, expires_at, used_at, session_id`

const (
	sqlCreateCode = `INSERT INTO auth_codes (` + codeCols + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`
	// FOR UPDATE: a second redemption of the code, on any node, waits for
	// the first to commit and then reads its used_at.
	sqlLockCode   = `SELECT ` + codeCols + ` FROM auth_codes WHERE code_hash = $1 FOR UPDATE`
	sqlUpdateCode = `UPDATE auth_codes SET tenant_id = $2, client_id = $3, user_id = $4, browser_session_id = $5,
		redirect_uri = $6, scope = $7, nonce = $8, code_challenge = $9, auth_time = $10, created_at = $11,
		expires_at = $12, used_at = $13, session_id = $14 WHERE code_hash = $1`
	sqlPurgeCodes = `DELETE FROM auth_codes WHERE code_hash IN (
		SELECT code_hash FROM auth_codes WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`
	sqlRevokeBrowserSessions = `UPDATE sessions SET revoked_at = $2, revoke_reason = $3
		WHERE browser_session_id = $1 AND browser_session_id <> '' AND
		revoked_at IS NULL AND idle_expires_at > $2 AND absolute_expires_at > $2`

	consentCols   = `user_id, client_id, tenant_id, scopes, created_at, updated_at`
	sqlPutConsent = `INSERT INTO consents (` + consentCols + `) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (user_id, client_id) DO UPDATE SET tenant_id = excluded.tenant_id,
		scopes = excluded.scopes, created_at = excluded.created_at, updated_at = excluded.updated_at`
	sqlGetConsent    = `SELECT ` + consentCols + ` FROM consents WHERE user_id = $1 AND client_id = $2`
	sqlListConsents  = `SELECT ` + consentCols + ` FROM consents WHERE user_id = $1 ORDER BY client_id`
	sqlDeleteConsent = `DELETE FROM consents WHERE user_id = $1 AND client_id = $2`
)

func scanCode(row pgx.Row) (store.AuthCode, error) {
	var c store.AuthCode
	err := row.Scan(&c.Hash, &c.TenantID, &c.ClientID, &c.UserID, &c.BrowserSessionID, &c.RedirectURI, &c.Scope,
		&c.Nonce, &c.CodeChallenge, tsCol{&c.AuthTime}, tsCol{&c.CreatedAt}, tsCol{&c.ExpiresAt},
		tsCol{&c.UsedAt}, &c.SessionID)
	return c, err
}

func codeArgs(c store.AuthCode) []any {
	return []any{c.Hash, c.TenantID, c.ClientID, c.UserID, c.BrowserSessionID, c.RedirectURI, c.Scope,
		c.Nonce, c.CodeChallenge, ts(c.AuthTime), ts(c.CreatedAt), ts(c.ExpiresAt), ts(c.UsedAt), c.SessionID}
}

func (q *queries) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	_, err := q.run.exec(ctx, sqlCreateCode, codeArgs(c)...)
	return wrap("create auth code", err)
}

func (q *queries) GetAuthCodeForUpdate(ctx context.Context, hash []byte) (store.AuthCode, error) {
	c, err := scanCode(q.run.queryRow(ctx, sqlLockCode, hash))
	return c, wrap("get auth code", err)
}

func (q *queries) UpdateAuthCode(ctx context.Context, c store.AuthCode) error {
	tag, err := q.run.exec(ctx, sqlUpdateCode, codeArgs(c)...)
	return mustAffect("update auth code", tag, err)
}

func (q *queries) PurgeAuthCodes(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	tag, err := q.run.exec(ctx, sqlPurgeCodes, before, int64(limit))
	if err != nil {
		return 0, wrap("purge auth codes", err)
	}
	return int(tag.RowsAffected()), nil
}

func (q *queries) RevokeBrowserSessionSessions(ctx context.Context, browserID string, at time.Time, reason string) (int, error) {
	tag, err := q.run.exec(ctx, sqlRevokeBrowserSessions, browserID, at, reason)
	if err != nil {
		return 0, wrap("revoke browser session's sessions", err)
	}
	return int(tag.RowsAffected()), nil
}

func scanConsent(row pgx.Row) (store.Consent, error) {
	var c store.Consent
	err := row.Scan(&c.UserID, &c.ClientID, &c.TenantID, &c.Scopes, tsCol{&c.CreatedAt}, tsCol{&c.UpdatedAt})
	return c, err
}

func (q *queries) PutConsent(ctx context.Context, c store.Consent) error {
	_, err := q.run.exec(ctx, sqlPutConsent, c.UserID, c.ClientID, c.TenantID, textArray(c.Scopes), ts(c.CreatedAt), ts(c.UpdatedAt))
	return wrap("put consent", err)
}

func (q *queries) GetConsent(ctx context.Context, userID, clientID string) (store.Consent, error) {
	c, err := scanConsent(q.run.queryRow(ctx, sqlGetConsent, userID, clientID))
	return c, wrap("get consent", err)
}

func (q *queries) ListConsents(ctx context.Context, userID string) ([]store.Consent, error) {
	rows, err := q.run.query(ctx, sqlListConsents, userID)
	cs, err := collect(rows, err, scanConsent)
	return cs, wrap("list consents", err)
}

func (q *queries) DeleteConsent(ctx context.Context, userID, clientID string) error {
	tag, err := q.run.exec(ctx, sqlDeleteConsent, userID, clientID)
	return mustAffect("delete consent", tag, err)
}
