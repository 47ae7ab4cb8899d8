package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

const (
	failureCols = `key, count, first_at, last_at`
	// sqlRecordFailure counts a failure in one statement, so that
	// concurrent failures (on any node) each count: a run whose last
	// failure is older than the restart time begins again at 1.
	sqlRecordFailure = `INSERT INTO signon_failures (` + failureCols + `) VALUES (?, 1, ?, ?)
		ON CONFLICT (key) DO UPDATE SET
			count    = CASE WHEN last_at < ? THEN 1 ELSE count + 1 END,
			first_at = CASE WHEN last_at < ? THEN excluded.first_at ELSE first_at END,
			last_at  = max(last_at, excluded.last_at)
		RETURNING ` + failureCols
	sqlClearFailures = `DELETE FROM signon_failures WHERE key = ?`
	sqlPurgeFailures = `DELETE FROM signon_failures WHERE key IN (
		SELECT key FROM signon_failures WHERE last_at < ? LIMIT ?)`
	// sqlGetFailures2 is GetFailures of two keys (an account and an
	// address), the engine's every sign-on.
	sqlGetFailures2 = `SELECT ` + failureCols + ` FROM signon_failures WHERE key IN (?, ?)`
)

func scanFailure(row interface{ Scan(...any) error }) (store.FailureRecord, error) {
	var f store.FailureRecord
	err := row.Scan(&f.Key, &f.Count, msTime{&f.First}, msTime{&f.Last})
	return f, err
}

func (q *queries) GetFailures(ctx context.Context, keys ...string) ([]store.FailureRecord, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	query := sqlGetFailures2
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	if len(keys) != 2 {
		query = `SELECT ` + failureCols + ` FROM signon_failures WHERE key IN (?` + strings.Repeat(", ?", len(keys)-1) + `)`
	}
	rows, err := q.r.query(ctx, query, args...)
	fs, err := collect(rows, err, scanFailure)
	return fs, wrap("get failures", err)
}

func (q *queries) RecordFailure(ctx context.Context, key string, at, restartBefore time.Time) (store.FailureRecord, error) {
	f, err := scanFailure(q.w.queryRow(ctx, sqlRecordFailure, key, ms(at), ms(at), ms(restartBefore), ms(restartBefore)))
	return f, wrap("record failure", err)
}

func (q *queries) ClearFailures(ctx context.Context, key string) error {
	_, err := q.w.exec(ctx, sqlClearFailures, key)
	return wrap("clear failures", err)
}

func (q *queries) PurgeFailures(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	res, err := q.w.exec(ctx, sqlPurgeFailures, ms(before), limit)
	if err != nil {
		return 0, wrap("purge failures", err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap("purge failures", err)
}
