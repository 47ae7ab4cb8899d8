// Package postgres is tokengate's PostgreSQL store backend, on pgx/v5 with
// a pgxpool connection pool, for several gateway nodes sharing one
// database.
//
// Transactions run at READ COMMITTED. What must not interleave is
// serialised by row locks: GetSessionForUpdate locks the session (so
// concurrent refreshes of one family, on any node, queue and each sees its
// predecessor's generation) and LockUser locks the user (so sign-ons of one
// user under a session limit count one after another). A transaction that
// the server aborts as a deadlock or a serialization failure is run again,
// a bounded number of times (see Tx). No other database error is ever
// reported as a store sentinel.
//
// The schema lives in the connection's search_path (public, unless the URL
// says otherwise, e.g. ?search_path=tokengate) and is migrated at Open under
// an advisory lock, so that nodes starting together apply each migration
// once. See Open for the URL and the pool's settings.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tokengate/tokengate/internal/store"
)

var _ store.Store = (*Store)(nil)

// Store is the PostgreSQL store. It is safe for concurrent use.
type Store struct {
	queries
	pool *pgxpool.Pool
	// trips counts the round trips of transactions, for tests.
	trips atomic.Int64
	// retries counts transactions run again after a deadlock or a
	// serialization failure.
	retries atomic.Int64
	// listenPings counts the checks of Listen's connection, for tests.
	listenPings atomic.Int64
}

// Options adjusts Open.
type Options struct {
	// NoMigrate opens the store without applying migrations: a database
	// whose schema is behind this binary's is then an error.
	NoMigrate bool
}

// Open connects to the database at url, a libpq-style URL or key=value
// string (postgres://user:password@host:5432/db?sslmode=require), and
// migrates its schema unless opts.NoMigrate. pgxpool's parameters in the URL
// size the pool (pool_max_conns, default defaultMaxConns; pool_min_conns,
// pool_max_conn_lifetime, ...); any other parameter is a server setting for
// each connection (search_path, statement_timeout, synchronous_commit).
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	pool, err := connect(ctx, url)
	if err != nil {
		return nil, err
	}
	if opts.NoMigrate {
		err = checkSchema(ctx, pool)
	} else {
		_, err = migrateDB(ctx, pool, false)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{pool: pool}
	s.queries = queries{run: poolRunner{pool}}
	return s, nil
}

// defaultMaxConns is the pool size when the URL sets none. A refresh holds
// its connection for two round trips and the commit's WAL flush, and the
// server flushes the commits waiting at the same time together, so the
// number of connections, more than CPU, bounds a node's refresh rate:
// measured at concurrency 32 on two cores, 4 connections (pgxpool's default
// there) gave a third of the rate 16 gave, and 32 no more than 16.
const defaultMaxConns = 16

// connect opens a pool and checks that the server answers. Errors never
// quote the URL, which may hold a password.
func connect(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: database URL: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	if !strings.Contains(url, "connect_timeout") {
		// A server that does not answer is unavailable after this long,
		// not after the operating system's TCP time-out.
		cfg.ConnConfig.ConnectTimeout = acquireTimeout
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "tokengate"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s:%d/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, asUnavailable(err))
	}
	return pool, nil
}

// maxAttempts bounds how often Tx runs fn when the server keeps aborting it
// as a deadlock or a serialization failure.
const maxAttempts = 5

// Tx runs fn in one transaction on one connection: it commits when fn
// returns nil and rolls back otherwise (or when fn panics, after which the
// panic goes on). fn must use only q.
//
// When the server aborts the transaction with a deadlock (40P01) or a
// serialization failure (40001), at any statement or at COMMIT, Tx rolls
// back and runs fn again, at most maxAttempts times in all, with a short
// random pause between attempts; the last attempt's error is returned. fn
// must therefore be a function of what it reads through q: the engine's
// transactions read and write the store and decide on what they read. Any
// other failure is returned as it is, never retried: a COMMIT whose answer
// was lost may have committed, and running fn again would act twice.
func (s *Store) Tx(ctx context.Context, fn func(q store.Queries) error) error {
	for attempt := 1; ; attempt++ {
		again, err := s.attempt(ctx, fn)
		if !again || attempt == maxAttempts {
			return err
		}
		s.retries.Add(1)
		pause := time.Duration(rand.Int64N(int64(attempt) * int64(2*time.Millisecond)))
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(pause):
		}
	}
}

// attempt runs fn once and reports whether the server aborted the
// transaction in a way that running it again may cure.
func (s *Store) attempt(ctx context.Context, fn func(q store.Queries) error) (again bool, err error) {
	c, err := s.acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("postgres: begin: %w", mapErr(err))
	}
	defer c.Release()
	t := newTxn(c.Conn())
	committed := false
	defer func() {
		if !committed {
			t.rollback(ctx)
		}
		s.trips.Add(int64(t.trips))
	}()
	if err := fn(&queries{run: t, tx: t}); err != nil {
		return retryable(t.err), err
	}
	if err := t.commit(ctx); err != nil {
		return retryable(t.err), fmt.Errorf("postgres: commit: %w", mapErr(err))
	}
	committed = true
	return false, nil
}

// acquireTimeout bounds the wait for a connection of the pool: past it
// the server is taken to be out of reach (store.ErrUnavailable), as SQLite
// gives up on a lock after its busy timeout, rather than holding the
// request until the client gives up.
const acquireTimeout = 5 * time.Second

// errAcquireTimeout is the failure of an acquire that ran out of time.
var errAcquireTimeout = errors.New("no database connection within the acquire timeout")

// acquire takes a connection of the pool, waiting at most acquireTimeout.
func (s *Store) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	actx, cancel := context.WithTimeoutCause(ctx, acquireTimeout, errAcquireTimeout)
	defer cancel()
	c, err := s.pool.Acquire(actx)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(actx), errAcquireTimeout) {
		err = fmt.Errorf("%w: %w", errAcquireTimeout, err)
	}
	return c, err
}

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", mapErr(err))
	}
	return nil
}

// sqlHeartbeat counts one beat in the one-row heartbeat table.
const sqlHeartbeat = `INSERT INTO heartbeat (id, beats) VALUES (1, 1)
ON CONFLICT (id) DO UPDATE SET beats = heartbeat.beats + 1`

// Heartbeat commits one write: it fails (store.ErrUnavailable) when the
// server can't be reached, is read-only (a standby, or
// default_transaction_read_only), is out of space or shutting down.
func (s *Store) Heartbeat(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, sqlHeartbeat)
	return wrap("heartbeat", err)
}

// Close closes every connection of the pool, waiting for those in use to
// be released.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}
