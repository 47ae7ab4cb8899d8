package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tokengate/tokengate/internal/store"
)

// stmtCache keeps one prepared statement per SQL text for a *sql.DB;
// database/sql re-prepares it lazily on each pooled connection.
type stmtCache struct {
	db *sql.DB
	m  sync.Map // string -> *sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db} }

func (c *stmtCache) lookup(query string) *sql.Stmt {
	if v, ok := c.m.Load(query); ok {
		return v.(*sql.Stmt) //nolint:forcetypeassert // only *sql.Stmt is stored
	}
	return nil
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st := c.lookup(query); st != nil {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if v, loaded := c.m.LoadOrStore(query, st); loaded {
		_ = st.Close()
		return v.(*sql.Stmt), nil //nolint:forcetypeassert // only *sql.Stmt is stored
	}
	return st, nil
}

func (c *stmtCache) prepareAll(ctx context.Context, queries []string) error {
	for _, q := range queries {
		if _, err := c.get(ctx, q); err != nil {
			return fmt.Errorf("sqlite: prepare: %w", err)
		}
	}
	return nil
}

func (c *stmtCache) close() {
	c.m.Range(func(k, v any) bool {
		_ = v.(*sql.Stmt).Close() //nolint:forcetypeassert // only *sql.Stmt is stored
		c.m.Delete(k)
		return true
	})
}

// runner runs SQL either on a pool (through cached prepared statements) or
// inside a transaction.
type runner interface {
	exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	queryRow(ctx context.Context, query string, args ...any) *sql.Row
}

type dbRunner struct{ c *stmtCache }

func (r dbRunner) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := r.c.get(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (r dbRunner) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := r.c.get(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (r dbRunner) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := r.c.get(ctx, q)
	if err != nil {
		// Let database/sql carry the (same) preparation error in the Row.
		return r.c.db.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// txRunner uses the write connection's cached statements when the statement
// is already prepared (Tx.StmtContext then reuses it on the connection) and
// runs the SQL text directly otherwise: it never prepares on the pool, whose
// only connection the transaction holds.
type txRunner struct {
	tx *sql.Tx
	c  *stmtCache
}

func (r txRunner) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := r.c.lookup(q); st != nil {
		return r.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return r.tx.ExecContext(ctx, q, args...)
}

func (r txRunner) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := r.c.lookup(q); st != nil {
		return r.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return r.tx.QueryContext(ctx, q, args...)
}

func (r txRunner) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if st := r.c.lookup(q); st != nil {
		return r.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return r.tx.QueryRowContext(ctx, q, args...)
}

// queries implements store.Queries on top of two runners: reads go to r,
// writes to w (the same runner inside a transaction).
type queries struct {
	r, w runner
}

// mapErr turns driver errors into the store's sentinels. A foreign key
// failure on a create or update means the referenced record is missing.
func mapErr(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %s", store.ErrConflict, se.Error())
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: referenced record: %s", store.ErrNotFound, se.Error())
		}
	}
	return asUnavailable(err)
}

// asUnavailable returns err as store.ErrUnavailable when its result code
// says so (unavailableCode), and as it is otherwise.
func asUnavailable(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && unavailableCode(se.Code()) {
		return store.Unavailable(err)
	}
	return err
}

// unavailableCode reports whether a result code (primary or extended)
// says the database can't write or be read now, through no fault of the
// statement: read-only (a file, directory or mount made read-only), an
// I/O error, a full disk, a lock another process still held when the busy
// timeout ran out, or a file that can't be opened (a -wal or -shm file in
// a directory that became read-only). store.ErrUnavailable: it is
// transient, and nothing was written.
func unavailableCode(code int) bool {
	switch code & 0xff {
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL,
		sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN,
		sqlite3.SQLITE_PROTOCOL:
		return true
	}
	return false
}

// wrap adds the operation to a mapped error; it returns nil for nil.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sqlite: %s: %w", op, mapErr(err))
}

// mustAffect reports ErrNotFound when an update or delete matched no row.
func mustAffect(op string, res sql.Result, err error) error {
	if err != nil {
		return wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap(op, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s: %w", op, store.ErrNotFound)
	}
	return nil
}

// ms converts a time to its stored form: unix milliseconds, NULL when zero.
func ms(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// msTime scans stored milliseconds (or NULL) into a UTC time.Time.
type msTime struct{ t *time.Time }

func (m msTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*m.t = time.Time{}
	case int64:
		*m.t = time.UnixMilli(v).UTC()
	default:
		return fmt.Errorf("time column holds %T", src)
	}
	return nil
}

// blob stores empty byte slices as NULL.
func blob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// jsonText encodes a slice or map as JSON text, nil as NULL, so that nil and
// empty values survive the round trip apart.
func jsonText[T []string | map[string]string](v T) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// jsonCol scans JSON text (or NULL) into *T.
type jsonCol[T []string | map[string]string] struct{ v *T }

func (j jsonCol[T]) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		var zero T
		*j.v = zero
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("json column holds %T", src)
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*j.v = v
	return nil
}

var (
	_ sql.Scanner = msTime{}
	_ sql.Scanner = jsonCol[[]string]{}
)

// boolInt stores a bool as 0 or 1.
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
