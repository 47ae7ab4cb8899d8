package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tokengate/tokengate/internal/store"
)

// txn is one attempt of a Tx on one connection. It saves round trips in
// three ways, none of which changes what fn observes:
//
//   - BEGIN is not sent on its own: it waits, queued, for fn's first
//     statement and travels with it.
//   - A write whose outcome is already certain is queued instead of sent
//     (see UpdateSession and AppendAudit) and travels with the next
//     statement, or with COMMIT.
//   - GetSessionForUpdate reads the session's user and tenant in the same
//     round trip, after taking the lock, because every refresh reads them
//     next.
//
// So a rotating refresh takes two round trips: BEGIN + lock + user +
// tenant, then UPDATE + COMMIT.
//
// PostgreSQL aborts a transaction at its first error, so after a statement
// fails every later call fails too (with the first error's text, never a
// store sentinel), and Tx rolls back: fn must not go on after an error. A
// read that finds no row (ErrNotFound) is not an error of the server's, and
// the transaction goes on.
type txn struct {
	conn *pgx.Conn
	// pending holds the statements queued for the next round trip.
	pending []stmt
	// begun is set once BEGIN has been sent.
	begun bool
	// err is the first failure of the transaction; once set, the server
	// side is aborted (or unknown) and nothing more is sent.
	err error
	// locked maps each session locked by GetSessionForUpdate to its user,
	// for deferring its update (see UpdateSession).
	locked map[string]string
	// users and tenants hold rows read ahead with a locked session.
	users   map[string]store.User
	tenants map[string]store.Tenant
	// trips counts round trips, for tests.
	trips int
}

// stmt is one statement to send. rows is, for a deferred write, the number
// of rows it must affect (-1: any).
type stmt struct {
	op   string
	sql  string
	args []any
	rows int64
}

// beginSQL is explicit about the isolation level: the row locks taken by
// GetSessionForUpdate and LockUser are what serialise refreshes and
// sign-ons, and under READ COMMITTED a transaction that waited for a lock
// reads the row as its holder committed it rather than failing with a
// serialization error, whatever default_transaction_isolation says.
const beginSQL = "BEGIN ISOLATION LEVEL READ COMMITTED"

func newTxn(conn *pgx.Conn) *txn {
	return &txn{conn: conn, pending: []stmt{{op: "begin", sql: beginSQL, rows: -1}}}
}

// fail records the transaction's first failure. No row is not a failure:
// the server's transaction goes on.
func (t *txn) fail(err error) {
	if err != nil && t.err == nil && !errors.Is(err, pgx.ErrNoRows) {
		t.err = err
	}
}

// failed is the error of every call after the transaction failed. It gives
// the first failure's text but does not wrap it, so that a sentinel of an
// earlier statement is not reported again by a later one.
func (t *txn) failed() error {
	err := fmt.Errorf("the transaction was aborted by an earlier error: %v", t.err)
	if unavailable(t.err) {
		// Still the database's failure, not the statement's.
		return store.Unavailable(err)
	}
	return err
}

// send sends the pending statements and then stmts in one round trip. It
// checks the results of the pending ones and returns the batch positioned
// at the first of stmts; the caller reads their results and closes it.
func (t *txn) send(ctx context.Context, stmts ...stmt) (pgx.BatchResults, error) {
	if t.err != nil {
		return nil, t.failed()
	}
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(t.pending)+len(stmts))}
	for _, s := range t.pending {
		b.Queue(s.sql, s.args...)
	}
	for _, s := range stmts {
		b.Queue(s.sql, s.args...)
	}
	pending := t.pending
	t.pending = nil
	t.trips++
	t.begun = true
	br := t.conn.SendBatch(ctx, b)
	for _, p := range pending {
		tag, err := br.Exec()
		if err == nil && p.rows >= 0 && tag.RowsAffected() != p.rows {
			err = fmt.Errorf("affected %d rows, want %d", tag.RowsAffected(), p.rows)
		}
		if err != nil {
			_ = br.Close()
			t.fail(err)
			// Not wrapped: a deferred write cannot fail for a reason the
			// store names (see UpdateSession), so whatever it failed with
			// must not look like one. The database out of reach is no
			// statement's failure, though, and is said so.
			err = fmt.Errorf("%s, sent with this statement: %v", p.op, err)
			if unavailable(t.err) {
				return nil, store.Unavailable(err)
			}
			return nil, err
		}
	}
	return br, nil
}

// queue defers a write to the next round trip.
func (t *txn) queue(s stmt) error {
	if t.err != nil {
		return t.failed()
	}
	t.pending = append(t.pending, s)
	return nil
}

func (t *txn) exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	br, err := t.send(ctx, stmt{sql: sql, args: args})
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	t.fail(err)
	return tag, err
}

func (t *txn) query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	br, err := t.send(ctx, stmt{sql: sql, args: args})
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		t.fail(err)
		return nil, err
	}
	return &batchRows{Rows: rows, br: br, t: t}, nil
}

func (t *txn) queryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	br, err := t.send(ctx, stmt{sql: sql, args: args})
	if err != nil {
		return errRow{err}
	}
	return batchRow{br: br, t: t}
}

// commit sends the pending writes and COMMIT in one round trip. A
// transaction in which fn ran no statement has nothing to commit.
func (t *txn) commit(ctx context.Context) error {
	if t.err != nil {
		return t.failed()
	}
	if !t.begun && len(t.pending) == 1 { // only the queued BEGIN
		t.pending = nil
		return nil
	}
	br, err := t.send(ctx, stmt{sql: "COMMIT"})
	if err != nil {
		return err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil && tag.String() != "COMMIT" {
		// The server answers COMMIT of a failed transaction with ROLLBACK.
		err = fmt.Errorf("the server rolled the transaction back (%s)", tag)
	}
	t.fail(err)
	return err
}

// rollbackTimeout bounds the ROLLBACK of a transaction whose caller's
// context may already be done.
const rollbackTimeout = 5 * time.Second

// rollback ends a transaction that will not commit. A connection left in a
// transaction is not reused: the pool closes a connection released in any
// state but idle.
func (t *txn) rollback(ctx context.Context) {
	t.pending = nil
	if !t.begun || t.conn.IsClosed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	if _, err := t.conn.Exec(ctx, "ROLLBACK"); err != nil {
		_ = t.conn.Close(ctx)
	}
}

// batchRow is one row from a batch: scanning it closes the batch.
type batchRow struct {
	br pgx.BatchResults
	t  *txn
}

func (r batchRow) Scan(dest ...any) error {
	err := r.br.QueryRow().Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	r.t.fail(err)
	return err
}

// errRow is a row that failed before it was read.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// batchRows are rows from a batch: closing them closes the batch.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	t      *txn
	closed bool
}

func (r *batchRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.Rows.Close()
	r.t.fail(r.Rows.Err())
	r.t.fail(r.br.Close())
}

func (r *batchRows) Err() error {
	err := r.Rows.Err()
	r.t.fail(err)
	return err
}

func (t *txn) rememberUser(u store.User) {
	if t.users == nil {
		t.users = make(map[string]store.User)
	}
	t.users[u.ID] = u
}

func (t *txn) rememberTenant(tn store.Tenant) {
	if t.tenants == nil {
		t.tenants = make(map[string]store.Tenant)
	}
	t.tenants[tn.ID] = tn
}
