package sqlite

import (
	"context"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

const codeCols = `code_hash, tenant_id, client_id, user_id, browser_session_id, redirect_uri, scope,
	nonce, code_challenge, auth_time, created_at, expires_at, used_at, session_id`

const (
	sqlCreateCode = `INSERT INTO auth_codes (` + codeCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlGetCode    = `SELECT ` + codeCols + ` FROM auth_codes WHERE code_hash = ?`
	sqlUpdateCode = `UPDATE auth_codes SET tenant_id = ?, client_id = ?, user_id = ?, browser_session_id = ?,
		redirect_uri = ?, scope = ?, nonce = ?, code_challenge = ?, auth_time = ?, created_at = ?,
		expires_at = ?, used_at = ?, session_id = ? WHERE code_hash = ?`
	sqlPurgeCodes = `DELETE FROM auth_codes WHERE code_hash IN (
		SELECT code_hash FROM auth_codes WHERE expires_at < ? LIMIT ?)`
	sqlRevokeBrowserSessions = `UPDATE sessions SET revoked_at = ?, revoke_reason = ?
		WHERE browser_session_id = ? AND browser_session_id <> '' AND ` + liveAt

	consentCols   = `user_id, client_id, tenant_id, scopes, created_at, updated_at`
	sqlPutConsent = `INSERT INTO consents (` + consentCols + `) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, client_id) DO UPDATE SET tenant_id = excluded.tenant_id,
		scopes = excluded.scopes, created_at = excluded.created_at, updated_at = excluded.updated_at`
	sqlGetConsent    = `SELECT ` + consentCols + ` FROM consents WHERE user_id = ? AND client_id = ?`
	sqlListConsents  = `SELECT ` + consentCols + ` FROM consents WHERE user_id = ? ORDER BY client_id`
	sqlDeleteConsent = `DELETE FROM consents WHERE user_id = ? AND client_id = ?`
)

func scanCode(row interface{ Scan(...any) error }) (store.AuthCode, error) {
	var c store.AuthCode
	err := row.Scan(&c.Hash, &c.TenantID, &c.ClientID, &c.UserID, &c.BrowserSessionID, &c.RedirectURI, &c.Scope,
		&c.Nonce, &c.CodeChallenge, msTime{&c.AuthTime}, msTime{&c.CreatedAt}, msTime{&c.ExpiresAt},
		msTime{&c.UsedAt}, &c.SessionID)
	return c, err
}

func (q *queries) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	_, err := q.w.exec(ctx, sqlCreateCode, c.Hash, c.TenantID, c.ClientID, c.UserID, c.BrowserSessionID,
		c.RedirectURI, c.Scope, c.Nonce, c.CodeChallenge, ms(c.AuthTime), ms(c.CreatedAt), ms(c.ExpiresAt),
		ms(c.UsedAt), c.SessionID)
	return wrap("create auth code", err)
}

// GetAuthCodeForUpdate is a plain read: inside Tx the IMMEDIATE
// transaction already excludes every other writer until it ends.
func (q *queries) GetAuthCodeForUpdate(ctx context.Context, hash []byte) (store.AuthCode, error) {
	c, err := scanCode(q.r.queryRow(ctx, sqlGetCode, hash))
	return c, wrap("get auth code", err)
}

func (q *queries) UpdateAuthCode(ctx context.Context, c store.AuthCode) error {
	res, err := q.w.exec(ctx, sqlUpdateCode, c.TenantID, c.ClientID, c.UserID, c.BrowserSessionID,
		c.RedirectURI, c.Scope, c.Nonce, c.CodeChallenge, ms(c.AuthTime), ms(c.CreatedAt), ms(c.ExpiresAt),
		ms(c.UsedAt), c.SessionID, c.Hash)
	return mustAffect("update auth code", res, err)
}

func (q *queries) PurgeAuthCodes(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	res, err := q.w.exec(ctx, sqlPurgeCodes, before.UnixMilli(), limit)
	if err != nil {
		return 0, wrap("purge auth codes", err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap("purge auth codes", err)
}

func (q *queries) RevokeBrowserSessionSessions(ctx context.Context, browserID string, at time.Time, reason string) (int, error) {
	t := at.UnixMilli()
	res, err := q.w.exec(ctx, sqlRevokeBrowserSessions, ms(at), reason, browserID, t, t)
	if err != nil {
		return 0, wrap("revoke browser session's sessions", err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap("revoke browser session's sessions", err)
}

func scanConsent(row interface{ Scan(...any) error }) (store.Consent, error) {
	var c store.Consent
	err := row.Scan(&c.UserID, &c.ClientID, &c.TenantID, jsonCol[[]string]{&c.Scopes}, msTime{&c.CreatedAt}, msTime{&c.UpdatedAt})
	return c, err
}

func (q *queries) PutConsent(ctx context.Context, c store.Consent) error {
	scopes, err := jsonText(c.Scopes)
	if err != nil {
		return wrap("put consent", err)
	}
	_, err = q.w.exec(ctx, sqlPutConsent, c.UserID, c.ClientID, c.TenantID, scopes, ms(c.CreatedAt), ms(c.UpdatedAt))
	return wrap("put consent", err)
}

func (q *queries) GetConsent(ctx context.Context, userID, clientID string) (store.Consent, error) {
	c, err := scanConsent(q.r.queryRow(ctx, sqlGetConsent, userID, clientID))
	return c, wrap("get consent", err)
}

func (q *queries) ListConsents(ctx context.Context, userID string) ([]store.Consent, error) {
	rows, err := q.r.query(ctx, sqlListConsents, userID)
	cs, err := collect(rows, err, scanConsent)
	return cs, wrap("list consents", err)
}

func (q *queries) DeleteConsent(ctx context.Context, userID, clientID string) error {
	res, err := q.w.exec(ctx, sqlDeleteConsent, userID, clientID)
	return mustAffect("delete consent", res, err)
}
