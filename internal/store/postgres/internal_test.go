package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/store/postgres/pgtest"
)

func openTest(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// seed creates a tenant, a user and n live rotating sessions "sess-N".
func seed(t *testing.T, s *Store, n int) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	must(t, s.CreateTenant(ctx, store.Tenant{ID: "t", Name: "acme", CreatedAt: now}))
	must(t, s.CreateUser(ctx, store.User{ID: "u", TenantID: "t", Name: "alice", RefreshEnabled: true, CreatedAt: now}))
	for i := range n {
		must(t, s.CreateSession(ctx, store.Session{
			ID: fmt.Sprintf("sess-%d", i), TenantID: "t", UserID: "u", Service: "oauth2", Policy: store.PolicyRotating,
			CreatedAt: now, LastUsedAt: now, IdleExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(24 * time.Hour),
		}))
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// refresh is the engine's rotating refresh transaction, as far as the store
// sees it.
func refresh(ctx context.Context, s store.Store, id string) error {
	return s.Tx(ctx, func(q store.Queries) error {
		x, err := q.GetSessionForUpdate(ctx, id)
		if err != nil {
			return err
		}
		if _, err := q.GetUser(ctx, x.UserID); err != nil {
			return err
		}
		if _, err := q.GetTenant(ctx, x.TenantID); err != nil {
			return err
		}
		x.Generation++
		x.RotatedAt = time.Now()
		return q.UpdateSession(ctx, x)
	})
}

// TestRoundTrips: a refresh costs two round trips to the database, a reuse
// revocation (update and audit) too, and a transaction that fails before
// writing costs its reads and the rollback.
func TestRoundTrips(t *testing.T) {
	s := openTest(t, pgtest.URL(t))
	seed(t, s, 1)
	ctx := context.Background()
	// The first use of each statement on a connection prepares it (one
	// more round trip); count warm connections only.
	for range 8 {
		must(t, refresh(ctx, s, "sess-0"))
	}
	trips := func(fn func() error) int64 {
		t.Helper()
		before := s.trips.Load()
		_ = fn()
		return s.trips.Load() - before
	}
	if n := trips(func() error { return refresh(ctx, s, "sess-0") }); n != 2 {
		t.Errorf("refresh took %d round trips, want 2", n)
	}
	reuse := func() error {
		return s.Tx(ctx, func(q store.Queries) error {
			x, err := q.GetSessionForUpdate(ctx, "sess-0")
			if err != nil {
				return err
			}
			x.RevokeReason = "reuse"
			if err := q.UpdateSession(ctx, x); err != nil {
				return err
			}
			return q.AppendAudit(ctx, store.AuditEvent{Time: time.Now(), Type: "refresh.reuse", SessionID: x.ID})
		})
	}
	for range 8 {
		must(t, reuse())
	}
	if n := trips(reuse); n != 2 {
		t.Errorf("reuse revocation took %d round trips, want 2", n)
	}
	// The statement that reads the session is the first round trip; the
	// ROLLBACK is not counted (it is not part of what fn waits for).
	missing := func() error { return refresh(ctx, s, "missing") }
	for range 8 {
		_ = missing()
	}
	if n := trips(missing); n != 1 {
		t.Errorf("refresh of a missing session took %d round trips, want 1", n)
	}
	if n := trips(func() error { return s.Tx(ctx, func(store.Queries) error { return nil }) }); n != 0 {
		t.Errorf("empty transaction took %d round trips, want 0", n)
	}
}

// TestConcurrentRefreshOneWinner: refreshes of one session through separate
// stores (as separate nodes would) serialise on the row lock: every one
// commits and none is lost.
func TestConcurrentRefreshOneWinner(t *testing.T) {
	url := pgtest.URL(t)
	nodes := []*Store{openTest(t, url), openTest(t, url), openTest(t, url)}
	seed(t, nodes[0], 1)
	ctx := context.Background()
	const n = 30
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = refresh(ctx, nodes[i%len(nodes)], "sess-0") })
	}
	wg.Wait()
	for _, err := range errs {
		must(t, err)
	}
	got, err := nodes[1].GetSession(ctx, "sess-0")
	must(t, err)
	if got.Generation != n {
		t.Fatalf("generation %d after %d refreshes on three stores", got.Generation, n)
	}
}

// TestDeadlockRetried builds a deadlock between two transactions, each
// locking the session the other holds: the server aborts one (40P01), Tx
// runs it again, and both commit, each exactly once.
func TestDeadlockRetried(t *testing.T) {
	s := openTest(t, pgtest.URL(t))
	seed(t, s, 2)
	ctx := context.Background()
	var (
		locked  sync.WaitGroup // each holds its first lock
		runs    [2]int
		errs    [2]error
		wg      sync.WaitGroup
		mu      sync.Mutex
		firstOf = [2]string{"sess-0", "sess-1"}
	)
	locked.Add(2)
	for i := range 2 {
		wg.Go(func() {
			errs[i] = s.Tx(ctx, func(q store.Queries) error {
				mu.Lock()
				runs[i]++
				first := runs[i] == 1
				mu.Unlock()
				a, err := q.GetSessionForUpdate(ctx, firstOf[i])
				if err != nil {
					return err
				}
				if first {
					locked.Done()
					locked.Wait()
				}
				b, err := q.GetSessionForUpdate(ctx, firstOf[1-i])
				if err != nil {
					return err
				}
				a.Generation++
				b.Generation++
				if err := q.UpdateSession(ctx, a); err != nil {
					return err
				}
				return q.UpdateSession(ctx, b)
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	// The server aborts one of the pair; which one, and whether a slow
	// machine lets the deadlock detector fire on both before the first
	// abort releases its lock, is the server's timing. What holds either
	// way: at least one retry, and every run past a transaction's first is
	// a retry Tx counted.
	got := s.retries.Load()
	if got < 1 || got != int64(runs[0]+runs[1]-2) {
		t.Errorf("%d retries for runs %v: want at least one, one per run again", got, runs)
	}
	for _, id := range firstOf {
		x, err := s.GetSession(ctx, id)
		must(t, err)
		if x.Generation != 2 {
			t.Errorf("%s: generation %d, want 2 (one from each transaction)", id, x.Generation)
		}
	}
}

// TestTransientErrorIsNotASentinel: a connection lost while a refresh waits
// for its lock reports that failure, never ErrNotFound or ErrConflict (which
// the engine would take for an unknown or reused token), and is not retried.
func TestTransientErrorIsNotASentinel(t *testing.T) {
	url := pgtest.URL(t)
	app := "tokengate-transient-test"
	s := openTest(t, url+"&application_name="+app)
	seed(t, s, 1)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, url)
	must(t, err)
	defer admin.Close(ctx)
	// Hold the session's lock from outside, so the refresh waits on it.
	hold, err := admin.Begin(ctx)
	must(t, err)
	defer hold.Rollback(ctx) //nolint:errcheck
	_, err = hold.Exec(ctx, `SELECT 1 FROM sessions WHERE id = 'sess-0' FOR UPDATE`)
	must(t, err)

	runs := 0
	done := make(chan error, 1)
	go func() {
		done <- s.Tx(ctx, func(q store.Queries) error {
			runs++
			_, err := q.GetSessionForUpdate(ctx, "sess-0")
			return err
		})
	}()
	// Wait until the refresh's backend waits for the lock, then end it.
	killer, err := pgx.Connect(ctx, url)
	must(t, err)
	defer killer.Close(ctx)
	for {
		var killed bool
		err := killer.QueryRow(ctx, `SELECT coalesce(bool_or(pg_terminate_backend(pid)), false) FROM pg_stat_activity
			WHERE application_name = $1 AND wait_event_type = 'Lock'`, app).Scan(&killed)
		must(t, err)
		if killed {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("refresh ended before it waited for the lock: %v", err)
		case <-time.After(10 * time.Millisecond): // poll pg_stat_activity
		}
	}
	err = <-done
	if err == nil {
		t.Fatal("refresh on a terminated connection succeeded")
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		t.Fatalf("lost connection reported as a store sentinel: %v", err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && retryable(pe) {
		t.Fatalf("termination taken for a retryable error: %v", err)
	}
	if runs != 1 {
		t.Fatalf("fn ran %d times, want 1 (not retried)", runs)
	}
	// The pool recovers: the next refresh (after the lock is released) works.
	must(t, hold.Rollback(ctx))
	must(t, refresh(ctx, s, "sess-0"))
}

// TestMigrateConcurrently starts several migrations of one empty schema at
// once, as nodes starting together do: all succeed and each migration is
// applied once.
func TestMigrateConcurrently(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	const n = 4
	var wg sync.WaitGroup
	applied := make([]int, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			res, err := Migrate(ctx, url, false)
			errs[i], applied[i] = err, len(res.Pending)
		})
	}
	wg.Wait()
	total := 0
	for i := range n {
		must(t, errs[i])
		total += applied[i]
	}
	ms, err := loadMigrations()
	must(t, err)
	if total != len(ms) {
		t.Fatalf("migrations applied %v times in all, want %d", applied, len(ms))
	}
	conn, err := pgx.Connect(ctx, url)
	must(t, err)
	defer conn.Close(ctx)
	var rows int
	must(t, conn.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&rows))
	if rows != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d", rows, len(ms))
	}
}

// TestMigrateWaitsForLock: while another session holds the migration lock,
// Open waits; it applies the migrations once the lock is released.
func TestMigrateWaitsForLock(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	holder, err := pgx.Connect(ctx, url)
	must(t, err)
	defer holder.Close(ctx)
	_, err = holder.Exec(ctx, `SELECT pg_advisory_lock(`+lockKey+`)`)
	must(t, err)

	opened := make(chan error, 1)
	go func() {
		s, err := Open(ctx, url+"&application_name=tokengate-lock-test", Options{})
		if err == nil {
			s.Close()
		}
		opened <- err
	}()
	// Open is waiting for the advisory lock (seen in pg_locks), not done.
	for {
		var waiting bool
		must(t, holder.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
			WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = 'tokengate-lock-test')`).Scan(&waiting))
		if waiting {
			break
		}
		select {
		case err := <-opened:
			t.Fatalf("Open finished while another session held the migration lock: %v", err)
		case <-time.After(10 * time.Millisecond): // poll pg_locks
		}
	}
	var tables int
	must(t, holder.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'sessions'`).Scan(&tables))
	if tables != 0 {
		t.Fatal("the schema was migrated while another session held the lock")
	}
	_, err = holder.Exec(ctx, `SELECT pg_advisory_unlock(`+lockKey+`)`)
	must(t, err)
	must(t, <-opened)
	must(t, holder.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'sessions'`).Scan(&tables))
	if tables != 1 {
		t.Fatal("Open did not migrate after the lock was released")
	}
}

// TestDryRunAndNoMigrate: a dry run lists the pending migrations and writes
// nothing; opening without migrating refuses a schema that is behind, with
// a message naming the command that fixes it, and accepts it once migrated.
func TestDryRunAndNoMigrate(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	ms, err := loadMigrations()
	must(t, err)

	res, err := Migrate(ctx, url, true)
	must(t, err)
	if res.Applied || res.From != 0 || len(res.Pending) != len(ms) || res.Pending[0].Name != "0001_init.sql" {
		t.Fatalf("dry run on an empty schema: %+v", res)
	}
	conn, err := pgx.Connect(ctx, url)
	must(t, err)
	defer conn.Close(ctx)
	var tables int
	must(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`).Scan(&tables))
	if tables != 0 {
		t.Fatalf("dry run created %d tables", tables)
	}

	_, err = Open(ctx, url, Options{NoMigrate: true})
	if err == nil || !strings.Contains(err.Error(), "tokengate migrate") || !strings.Contains(err.Error(), "version 0") {
		t.Fatalf("Open without migrating on an empty schema: %v", err)
	}

	res, err = Migrate(ctx, url, false)
	must(t, err)
	if !res.Applied || len(res.Pending) != len(ms) {
		t.Fatalf("migrate: %+v", res)
	}
	res, err = Migrate(ctx, url, true)
	must(t, err)
	if len(res.Pending) != 0 || res.From != res.Latest {
		t.Fatalf("dry run after migrating: %+v", res)
	}
	s, err := Open(ctx, url, Options{NoMigrate: true})
	must(t, err)
	s.Close()

	// A schema newer than the binary is refused either way.
	_, err = conn.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')`)
	must(t, err)
	for _, opts := range []Options{{}, {NoMigrate: true}} {
		if _, err := Open(ctx, url, opts); err == nil || !strings.Contains(err.Error(), "newer than this binary") {
			t.Errorf("Open(%+v) on a newer schema: %v", opts, err)
		}
	}
}

// TestOpenErrorsHidePassword: a server that cannot be reached is reported
// without the URL's password.
func TestOpenErrorsHidePassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, url := range []string{
		"postgres://tg:s3cret-pw@127.0.0.1:1/db?connect_timeout=5",
		"postgres://tg:s3cret-pw@127.0.0.1:1/db?sslmode=bogus",
	} {
		_, err := Open(ctx, url, Options{})
		if err == nil {
			t.Fatalf("Open(%s) succeeded", url)
		}
		if strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("error quotes the password: %v", err)
		}
	}
}

// TestStatementAfterSchemaChange: a statement prepared before another
// node's migration changed its result type fails once on each connection
// (0A000, "cached plan must not change result type"); Tx runs the
// transaction again, and it succeeds.
func TestStatementAfterSchemaChange(t *testing.T) {
	url := pgtest.URL(t)
	s := openTest(t, url+"&pool_max_conns=1")
	seed(t, s, 1)
	ctx := context.Background()
	must(t, refresh(ctx, s, "sess-0")) // prepares the refresh's statements
	conn, err := pgx.Connect(ctx, url)
	must(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `ALTER TABLE users ALTER COLUMN display_name TYPE varchar(200)`)
	must(t, err)
	before := s.retries.Load()
	must(t, refresh(ctx, s, "sess-0"))
	if n := s.retries.Load() - before; n != 1 {
		t.Fatalf("%d retries after the schema change, want 1", n)
	}
}
