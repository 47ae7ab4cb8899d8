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
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/tokengate/tokengate/internal/store"
)

var _ store.Store = (*Store)(nil)

// defaultBusyTimeout bounds how long a connection waits for a lock held by
// another process (or, for readers, a checkpoint) before SQLITE_BUSY, which
// the store reports as store.ErrUnavailable.
const defaultBusyTimeout = 5 * time.Second

// Store is the SQLite store. It is safe for concurrent use.
type Store struct {
	queries
	w, r   *sql.DB
	wc, rc *stmtCache
	// txGate is held by the goroutine running queued transactions
	// (group commit, see Tx); txQueue, guarded by txMu, holds the Tx
	// calls waiting for it, in arrival order.
	txGate  chan struct{}
	txMu    sync.Mutex
	txQueue []*txReq
}

// Options adjusts OpenWith.
type Options struct {
	// NoMigrate opens the store without applying migrations: a database
	// whose schema is behind this binary's is then an error.
	NoMigrate bool
	// BusyTimeout is how long a connection waits for a lock another
	// process holds before the store answers store.ErrUnavailable; 0
	// means defaultBusyTimeout.
	BusyTimeout time.Duration
}

// Open opens (creating if needed, mode 0600) the database file at path and
// migrates its schema to the latest version. The path must name a file:
// ":memory:" is refused, because each pooled connection would see its own
// empty database. A database, -wal or -shm file, or directory that group or
// others may write is refused (files.go).
func Open(ctx context.Context, path string) (*Store, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" || path == ":memory:" {
		return nil, errors.New("sqlite: open: the database must be a file")
	}
	if opts.NoMigrate {
		// Checking a file that is not there would create it, empty.
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, checkSchemaOf(path)
		}
	}
	if err := prepareFiles(path); err != nil {
		return nil, err
	}
	w, err := sql.Open("sqlite", dsn(path, opts.BusyTimeout, url.Values{
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
	if opts.NoMigrate {
		err = checkSchema(ctx, w)
	} else {
		_, err = migrateDB(ctx, w)
	}
	if err != nil {
		w.Close()
		return nil, err
	}

	r, err := sql.Open("sqlite", dsn(path, opts.BusyTimeout, url.Values{"_query_only": {"1"}}))
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
func dsn(path string, busy time.Duration, params url.Values) string {
	if busy <= 0 {
		busy = defaultBusyTimeout
	}
	params.Set("_busy_timeout", fmt.Sprint(busy.Milliseconds()))
	u := url.URL{Path: path}
	return "file:" + u.EscapedPath() + "?" + params.Encode()
}

// Tx runs fn in an IMMEDIATE transaction on the write connection, with
// the guarantees of a transaction of its own: fn sees the effects of every
// transaction that committed before it, its writes become visible
// together, and if fn returns an error (or panics) none of its writes
// remain. fn must use only q: calling the Store's own write methods from fn
// would wait for the connection fn's transaction holds.
//
// Because the transaction holds SQLite's database-wide write lock from its
// first statement, GetSessionForUpdate and LockUser need no row locks: no
// other transaction can write anything until this one ends.
//
// Group commit: SQLite has one writer, so concurrent Tx calls queue. The
// first caller to get the write connection runs every queued fn (up to
// maxBatch) in one SQLite transaction, each inside a SAVEPOINT that is
// rolled back alone if that fn fails, and commits once. The BEGIN and
// COMMIT (with its WAL append) are about half of a short transaction's
// cost, so under load this shares them among the batch. A failing COMMIT
// fails every fn of the batch; none of them returns before the commit.
func (s *Store) Tx(ctx context.Context, fn func(q store.Queries) error) error {
	req := &txReq{ctx: ctx, fn: fn, done: make(chan txResult, 1)}
	s.txMu.Lock()
	s.txQueue = append(s.txQueue, req)
	s.txMu.Unlock()
	for {
		select {
		case r := <-req.done:
			return r.finish()
		case s.txGate <- struct{}{}:
			s.runQueued()
		}
	}
}

// maxBatch bounds the transactions committed together.
const maxBatch = 64

// txReq is one queued Tx call.
type txReq struct {
	ctx  context.Context
	fn   func(q store.Queries) error
	done chan txResult
}

// txResult is the outcome of one fn: its error, or the value it panicked
// with, to be re-raised in the caller's goroutine.
type txResult struct {
	err      error
	panicked bool
	panicVal any
}

func (r txResult) finish() error {
	if r.panicked {
		panic(r.panicVal)
	}
	return r.err
}

// runQueued runs the queued transactions; the caller has taken txGate,
// which runQueued gives back. Every request it takes gets an answer, even
// if something below panics (net/http would recover the panic and the
// store must not stay locked, nor its callers wait forever).
func (s *Store) runQueued() {
	defer func() { <-s.txGate }()
	s.txMu.Lock()
	n := min(len(s.txQueue), maxBatch)
	batch := make([]*txReq, n)
	copy(batch, s.txQueue)
	rest := copy(s.txQueue, s.txQueue[n:])
	clear(s.txQueue[rest:])
	s.txQueue = s.txQueue[:rest]
	s.txMu.Unlock()
	if n == 0 {
		return
	}
	answered := 0
	defer func() {
		if answered == n {
			return
		}
		p := recover()
		for _, r := range batch[answered:] {
			r.done <- txResult{err: fmt.Errorf("sqlite: transaction batch failed: %v", p)}
		}
		if p != nil {
			panic(p)
		}
	}()
	for i, res := range s.runBatch(batch) {
		batch[i].done <- res
		answered++
	}
}

// runBatch runs batch in one transaction and returns each fn's result: a
// nil error means that fn's writes committed.
func (s *Store) runBatch(batch []*txReq) []txResult {
	results := make([]txResult, len(batch))
	// fail gives err to every fn that had succeeded: nothing committed.
	fail := func(err error) []txResult {
		for i := range results {
			if !results[i].panicked && results[i].err == nil {
				results[i].err = err
			}
		}
		return results
	}
	// The transaction outlives any one caller's context: a caller that
	// gives up must not roll back the others' work.
	tx, err := s.w.BeginTx(context.WithoutCancel(batch[0].ctx), nil)
	if err != nil {
		return fail(fmt.Errorf("sqlite: begin: %w", mapErr(err)))
	}
	exec := func(stmt string) error {
		if _, err := tx.ExecContext(context.WithoutCancel(batch[0].ctx), stmt); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("sqlite: %s: %w", strings.ToLower(stmt), mapErr(err))
		}
		return nil
	}
	tr := txRunner{tx: tx, c: s.wc}
	q := &queries{r: tr, w: tr}
	// A lone fn needs no savepoint: rolling the transaction back undoes it.
	savepoints := len(batch) > 1
	committed := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i].err = fmt.Errorf("sqlite: begin: %w", err)
			continue
		}
		if savepoints {
			if err := exec("SAVEPOINT tx"); err != nil {
				return fail(err)
			}
		}
		results[i] = runOne(r, q)
		if results[i].err == nil && !results[i].panicked {
			committed++
		} else if savepoints {
			// Undo this fn alone; ROLLBACK TO keeps the savepoint open.
			if err := exec("ROLLBACK TO tx"); err != nil {
				return fail(err)
			}
		}
		if savepoints {
			if err := exec("RELEASE tx"); err != nil {
				return fail(err)
			}
		}
	}
	if committed == 0 {
		_ = tx.Rollback()
		return results
	}
	if err := tx.Commit(); err != nil {
		return fail(fmt.Errorf("sqlite: commit: %w", mapErr(err)))
	}
	return results
}

// runOne calls one fn, turning a panic into a result.
func runOne(r *txReq, q *queries) (res txResult) {
	defer func() {
		if p := recover(); p != nil {
			res = txResult{panicked: true, panicVal: p}
		}
	}()
	return txResult{err: r.fn(q)}
}

// Ping checks that both the write connection and the read pool answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", mapErr(err))
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", mapErr(err))
	}
	return nil
}

// sqlHeartbeat counts one beat in the one-row heartbeat table.
const sqlHeartbeat = `INSERT INTO heartbeat (id, beats) VALUES (1, 1)
ON CONFLICT (id) DO UPDATE SET beats = heartbeat.beats + 1`

// Heartbeat commits one write on the write connection, queued with the
// store's other writes: it fails (store.ErrUnavailable) when the file is
// read-only, the disk full or failing, or another process holds the write
// lock past the busy timeout.
func (s *Store) Heartbeat(ctx context.Context) error {
	_, err := s.queries.w.exec(ctx, sqlHeartbeat)
	return wrap("heartbeat", err)
}

// Close closes the store. It lets SQLite refresh its planner statistics
// (PRAGMA optimize) on the way out, as SQLite recommends.
func (s *Store) Close() error {
	_, _ = s.w.Exec("PRAGMA optimize")
	s.rc.close()
	s.wc.close()
	return errors.Join(s.r.Close(), s.w.Close())
}
