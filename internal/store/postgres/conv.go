package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tokengate/tokengate/internal/store"
)

// runner runs SQL either on the pool (one round trip per call) or inside a
// transaction (see txn, which may send several statements in one round
// trip).
type runner interface {
	exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	queryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

type poolRunner struct{ p *pgxpool.Pool }

func (r poolRunner) exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return r.p.Exec(ctx, sql, args...)
}

func (r poolRunner) query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return r.p.Query(ctx, sql, args...)
}

func (r poolRunner) queryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return r.p.QueryRow(ctx, sql, args...)
}

// SQLSTATE codes the store acts on
// (https://www.postgresql.org/docs/current/errcodes-appendix.html).
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeFeatureNotSupported  = "0A000"
	codeReadOnlyTransaction  = "25006"
	codeIOError              = "58030"
)

// mapErr turns the server's answers into the store's sentinels: no row is
// ErrNotFound, a unique violation ErrConflict, and a foreign key violation
// on a create or update means the referenced record is missing. Nothing
// else is mapped: a lost connection, a timeout or a deadlock stays what it
// is, so that it can never be taken for a missing session or a reused token.
func mapErr(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case codeUniqueViolation:
			return fmt.Errorf("%w: %s", store.ErrConflict, pe.Error())
		case codeForeignKeyViolation:
			return fmt.Errorf("%w: referenced record: %s", store.ErrNotFound, pe.Error())
		}
	}
	return asUnavailable(err)
}

// asUnavailable returns err as store.ErrUnavailable when it says the
// database is unavailable, and as it is otherwise.
func asUnavailable(err error) error {
	if unavailable(err) {
		return store.Unavailable(err)
	}
	return err
}

// unavailable reports whether err says the database can't be reached or
// can't write now, through no fault of the statement: the connection was
// refused, reset or lost, no connection could be had in time, or the server
// answered with a connection exception (08xxx), insufficient resources
// (53xxx: disk full, out of memory, too many connections), an operator
// intervention that ends sessions (57P01-57P05: shutdown, crash, starting
// up, database dropped), an I/O error (58030) or a read-only transaction
// (25006: a standby, or default_transaction_read_only). It is
// store.ErrUnavailable: transient, and nothing was committed. A statement
// the server refused for what it says (a constraint, a syntax error, a
// cancelled query) is not.
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"),
			strings.HasPrefix(pe.Code, "57P"),
			pe.Code == codeReadOnlyTransaction, pe.Code == codeIOError:
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), pgconn.Timeout(err),
		errors.Is(err, errAcquireTimeout), errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return true
	}
	return false
}

// retryable reports whether err is a serialization failure or a deadlock
// (the server rolled the transaction back, and running it again may
// succeed), or a statement prepared before another node's migration changed
// its result (pgx then forgets the statement, and the next attempt prepares
// it anew).
func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case codeSerializationFailure, codeDeadlockDetected:
		return true
	case codeFeatureNotSupported:
		return strings.Contains(pe.Message, "cached plan must not change result type")
	}
	return false
}

// wrap adds the operation to a mapped error; it returns nil for nil.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("postgres: %s: %w", op, mapErr(err))
}

// mustAffect reports ErrNotFound when an update or delete matched no row.
func mustAffect(op string, tag pgconn.CommandTag, err error) error {
	if err != nil {
		return wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: %s: %w", op, store.ErrNotFound)
	}
	return nil
}

// affected runs a statement and returns how many rows it changed.
func (q *queries) affected(ctx context.Context, op, sql string, args ...any) (int, error) {
	tag, err := q.run.exec(ctx, sql, args...)
	if err != nil {
		return 0, wrap(op, err)
	}
	return int(tag.RowsAffected()), nil
}

// purge runs one batch of a purge statement ($1 before, $2 the batch
// size); a batch of none or fewer does nothing.
func (q *queries) purge(ctx context.Context, op, sql string, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	return q.affected(ctx, op, sql, before, int64(limit))
}

// sqlRevokeLive revokes the live rows of a session table ($2 the time, $3
// the reason) whose column equals $1.
func sqlRevokeLive(table, column string) string {
	return `UPDATE ` + table + ` SET revoked_at = $2, revoke_reason = $3 WHERE ` + column + ` = $1 AND
		revoked_at IS NULL AND idle_expires_at > $2 AND absolute_expires_at > $2`
}

// sqlPurgeEnded deletes a batch of rows of a session table whose earliest
// expiry or revocation is before $1 (a NULL expiry counts as long past, a
// NULL revocation as never). It skips rows locked by a refresh rather
// than wait for them: the next batch takes them.
func sqlPurgeEnded(table string) string {
	return `DELETE FROM ` + table + ` WHERE id IN (
		SELECT id FROM ` + table + `
		WHERE coalesce(idle_expires_at, '-infinity') < $1
		   OR coalesce(absolute_expires_at, '-infinity') < $1
		   OR revoked_at < $1
		LIMIT $2 FOR UPDATE SKIP LOCKED)`
}

// ts converts a time to a parameter: NULL when zero.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// tsCol scans a timestamptz (or NULL) into a UTC time.Time.
type tsCol struct{ t *time.Time }

func (c tsCol) ScanTimestamptz(v pgtype.Timestamptz) error {
	switch {
	case !v.Valid:
		*c.t = time.Time{}
	case v.InfinityModifier != pgtype.Finite:
		return errors.New("timestamp is infinite")
	default:
		*c.t = v.Time.UTC()
	}
	return nil
}

var _ pgtype.TimestamptzScanner = tsCol{}

// blob stores empty byte slices as NULL.
func blob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// jsonMap encodes a map as jsonb, nil as NULL, so that nil and empty maps
// survive the round trip apart.
func jsonMap(m map[string]string) (any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// jsonCol scans jsonb (or NULL) into a map.
type jsonCol struct{ m *map[string]string }

func (j jsonCol) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*j.m = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("json column holds %T", src)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*j.m = m
	return nil
}

// textArray passes a list as text[]: nil as NULL, empty as '{}', so that nil
// and empty lists survive the round trip apart.
func textArray(v []string) any {
	if v == nil {
		return nil
	}
	return v
}

// collect scans every row with scan; it closes rows.
func collect[T any](rows pgx.Rows, err error, scan func(pgx.Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// queries implements store.Queries on a runner: the pool outside a
// transaction, a txn inside one (then tx is that txn too).
type queries struct {
	run runner
	tx  *txn
}
