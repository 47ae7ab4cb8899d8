package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tokengate/tokengate/internal/store"
)

const keyCols = `id, alg, public_key, private_sealed, created_at, active_from, retired_at, expires_at, revoked_at`

const (
	sqlCreateKey = `INSERT INTO signing_keys (` + keyCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	sqlListKeys  = `SELECT ` + keyCols + ` FROM signing_keys ORDER BY created_at, id`
	sqlUpdateKey = `UPDATE signing_keys SET alg = $2, public_key = $3, private_sealed = $4, created_at = $5,
		active_from = $6, retired_at = $7, expires_at = $8, revoked_at = $9 WHERE id = $1`
	sqlDeleteKey = `DELETE FROM signing_keys WHERE id = $1`
)

func scanKey(row pgx.Row) (store.SigningKey, error) {
	var k store.SigningKey
	err := row.Scan(&k.ID, &k.Alg, &k.Public, &k.PrivateSealed, tsCol{&k.CreatedAt},
		tsCol{&k.ActiveFrom}, tsCol{&k.RetiredAt}, tsCol{&k.ExpiresAt}, tsCol{&k.RevokedAt})
	return k, err
}

func keyArgs(k store.SigningKey) []any {
	return []any{k.ID, k.Alg, blob(k.Public), blob(k.PrivateSealed), ts(k.CreatedAt), ts(k.ActiveFrom),
		ts(k.RetiredAt), ts(k.ExpiresAt), ts(k.RevokedAt)}
}

func (q *queries) CreateKey(ctx context.Context, k store.SigningKey) error {
	_, err := q.run.exec(ctx, sqlCreateKey, keyArgs(k)...)
	return wrap("create key", err)
}

// ListKeys lists keys oldest first.
func (q *queries) ListKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := q.run.query(ctx, sqlListKeys)
	ks, err := collect(rows, err, scanKey)
	return ks, wrap("list keys", err)
}

func (q *queries) UpdateKey(ctx context.Context, k store.SigningKey) error {
	tag, err := q.run.exec(ctx, sqlUpdateKey, keyArgs(k)...)
	return mustAffect("update key", tag, err)
}

func (q *queries) DeleteKey(ctx context.Context, id string) error {
	tag, err := q.run.exec(ctx, sqlDeleteKey, id)
	return mustAffect("delete key", tag, err)
}
