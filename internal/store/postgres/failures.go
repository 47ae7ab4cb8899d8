package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokengate/tokengate/internal/store"
)

const (
	failureCols = `key, count, first_at, last_at`
	// sqlRecordFailure counts a failure in one statement, so that
	// concurrent failures (on any node) each count: the upsert takes the
	// row's lock. A run whose last failure is older than $3 begins again.
	sqlRecordFailure = `INSERT INTO signon_failures AS f (` + failureCols + `) VALUES ($1, 1, $2, $2)
		ON CONFLICT (key) DO UPDATE SET
			count    = CASE WHEN f.last_at < $3 THEN 1 ELSE f.count + 1 END,
			first_at = CASE WHEN f.last_at < $3 THEN excluded.first_at ELSE f.first_at END,
			last_at  = greatest(f.last_at, excluded.last_at)
		RETURNING ` + failureCols
	sqlGetFailures   = `SELECT ` + failureCols + ` FROM signon_failures WHERE key = ANY($1)`
	sqlClearFailures = `DELETE FROM signon_failures WHERE key = $1`
	// sqlPurgeFailures skips records a sign-on holds rather than wait.
	sqlPurgeFailures = `DELETE FROM signon_failures WHERE key IN (
		SELECT key FROM signon_failures WHERE last_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`
)

func scanFailure(row pgx.Row) (store.FailureRecord, error) {
	var f store.FailureRecord
	err := row.Scan(&f.Key, &f.Count, tsCol{&f.First}, tsCol{&f.Last})
	return f, err
}

func (q *queries) GetFailures(ctx context.Context, keys ...string) ([]store.FailureRecord, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	rows, err := q.run.query(ctx, sqlGetFailures, keys)
	fs, err := collect(rows, err, scanFailure)
	return fs, wrap("get failures", err)
}

func (q *queries) RecordFailure(ctx context.Context, key string, at, restartBefore time.Time) (store.FailureRecord, error) {
	f, err := scanFailure(q.run.queryRow(ctx, sqlRecordFailure, key, at, ts(restartBefore)))
	return f, wrap("record failure", err)
}

func (q *queries) ClearFailures(ctx context.Context, key string) error {
	_, err := q.run.exec(ctx, sqlClearFailures, key)
	return wrap("clear failures", err)
}

func (q *queries) PurgeFailures(ctx context.Context, before time.Time, limit int) (int, error) {
	return q.purge(ctx, "purge failures", sqlPurgeFailures, before, limit)
}
