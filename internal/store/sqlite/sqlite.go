// Package sqlite is tokengate's embedded store backend, on the pure-Go
// modernc.org/sqlite driver (no cgo).
//
// The database runs in WAL mode with synchronous=NORMAL: a commit survives a
// crash of the process (kill -9), which is the durability tokengate promises;
// only a power loss or OS crash may lose the last transactions.
//
// All writes go through one connection (SQLite has one writer anyway), so
// writers queue in database/sql instead of spinning on SQLITE_BUSY, and every
// transaction begins with BEGIN IMMEDIATE: it takes the write lock at once,
// so a read-then-write transaction never has to upgrade a read lock, which is
// what deadlocks or fails with SQLITE_BUSY under concurrency. Plain reads
// outside a transaction use a separate pool of query-only connections, which
// WAL lets run alongside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/tokengate/tokengate/internal/store"
)

var _ store.Store = (*Store)(nil)

// busyTimeoutMillis bounds how long a connection waits for a lock held by
// another process (or, for readers, a checkpoint) before SQLITE_BUSY.
const busyTimeoutMillis = 5000

// Store is the SQLite store. It is safe for concurrent use.
type Store struct {
	queries
	w, r   *sql.DB
	wc, rc *stmtCache
	// txGate admits one transaction at a time, first come first served.
	// database/sql hands a released connection to a random waiter, which
	// under load stretches the latency tail of writes severalfold; blocked
	// channel senders are woken in FIFO order.
	txGate chan struct{}
}

// Open opens (creating if needed) the database file at path and migrates its
// schema to the latest version. The path must name a file: ":memory:" is
// refused, because each pooled connection would see its own empty database.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" {
		return nil, errors.New("sqlite: open: the database must be a file")
	}
	w, err := sql.Open("sqlite", dsn(path, url.Values{
		"_txlock":       {"immediate"},
		"_journal_mode": {"WAL"},
		"_synchronous":  {"NORMAL"},
		"_foreign_keys": {"1"},
		"_pragma":       {"temp_store(MEMORY)"},
	}))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	// One writer connection, kept open for the life of the store, so that its
	// prepared statements stay prepared.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}

	r, err := sql.Open("sqlite", dsn(path, url.Values{"_query_only": {"1"}}))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: open read pool: %w", err)
	}

	s := &Store{w: w, r: r, wc: newStmtCache(w), rc: newStmtCache(r), txGate: make(chan struct{}, 1)}
	// Statements used inside transactions are prepared now: a Tx holds the
	// only write connection, so it cannot prepare on the pool lazily.
	if err := s.wc.prepareAll(ctx, txSQL); err != nil {
		s.Close()
		return nil, err
	}
	s.queries = queries{r: dbRunner{s.rc}, w: dbRunner{s.wc}}
	return s, nil
}

// dsn builds a modernc DSN for path. The path is percent-encoded inside a
// file: URI so that characters such as '?' or '#' cannot end it early.
func dsn(path string, params url.Values) string {
	params.Set("_busy_timeout", fmt.Sprint(busyTimeoutMillis))
	u := url.URL{Path: path}
	return "file:" + u.EscapedPath() + "?" + params.Encode()
}

// Tx runs fn in one IMMEDIATE transaction on the write connection. fn must
// use only q: calling the Store's own write methods from fn would wait for
// the connection fn's transaction holds.
//
// Because the transaction holds SQLite's database-wide write lock from its
// first statement, GetSessionForUpdate and LockUser need no row locks: no
// other transaction can write anything until this one ends.
func (s *Store) Tx(ctx context.Context, fn func(q store.Queries) error) (err error) {
	select {
	case s.txGate <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("sqlite: begin: %w", ctx.Err())
	}
	defer func() { <-s.txGate }()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", mapErr(err))
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	tr := txRunner{tx: tx, c: s.wc}
	if err := fn(&queries{r: tr, w: tr}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", mapErr(err))
	}
	return nil
}

// Ping checks that both the write connection and the read pool answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close closes the store. It lets SQLite refresh its planner statistics
// (PRAGMA optimize) on the way out, as SQLite recommends.
func (s *Store) Close() error {
	_, _ = s.w.Exec("PRAGMA optimize")
	s.rc.close()
	s.wc.close()
	return errors.Join(s.r.Close(), s.w.Close())
}
