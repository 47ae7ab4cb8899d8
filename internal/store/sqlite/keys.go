package sqlite

import (
	"context"

	"github.com/tokengate/tokengate/internal/store"
)

const keyCols = `id, alg, public_key, private_sealed, created_at, active_from, retired_at, expires_at, revoked_at`

const (
	sqlCreateKey = `INSERT INTO signing_keys (` + keyCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlListKeys  = `SELECT ` + keyCols + ` FROM signing_keys ORDER BY created_at, id`
	sqlUpdateKey = `UPDATE signing_keys SET alg = ?, public_key = ?, private_sealed = ?, created_at = ?,
		active_from = ?, retired_at = ?, expires_at = ?, revoked_at = ? WHERE id = ?`
	sqlDeleteKey = `DELETE FROM signing_keys WHERE id = ?`
)

func scanKey(row interface{ Scan(...any) error }) (store.SigningKey, error) {
	var k store.SigningKey
	err := row.Scan(&k.ID, &k.Alg, &k.Public, &k.PrivateSealed, msTime{&k.CreatedAt},
		msTime{&k.ActiveFrom}, msTime{&k.RetiredAt}, msTime{&k.ExpiresAt}, msTime{&k.RevokedAt})
	return k, err
}

func (q *queries) CreateKey(ctx context.Context, k store.SigningKey) error {
	_, err := q.w.exec(ctx, sqlCreateKey, k.ID, k.Alg, blob(k.Public), blob(k.PrivateSealed),
		ms(k.CreatedAt), ms(k.ActiveFrom), ms(k.RetiredAt), ms(k.ExpiresAt), ms(k.RevokedAt))
	return wrap("create key", err)
}

func (q *queries) ListKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := q.r.query(ctx, sqlListKeys)
	ks, err := collect(rows, err, scanKey)
	return ks, wrap("list keys", err)
}

func (q *queries) UpdateKey(ctx context.Context, k store.SigningKey) error {
	res, err := q.w.exec(ctx, sqlUpdateKey, k.Alg, blob(k.Public), blob(k.PrivateSealed),
		ms(k.CreatedAt), ms(k.ActiveFrom), ms(k.RetiredAt), ms(k.ExpiresAt), ms(k.RevokedAt), k.ID)
	return mustAffect("update key", res, err)
}

func (q *queries) DeleteKey(ctx context.Context, id string) error {
	res, err := q.w.exec(ctx, sqlDeleteKey, id)
	return mustAffect("delete key", res, err)
}
