package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/store/postgres/pgtest"
)

// listener runs s.Listen until the test ends and returns the changes it
// reports, and the error each Listen call ended with.
func listener(t *testing.T, s *Store) (<-chan store.Change, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	changes, errs := make(chan store.Change, 100), make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		errs <- s.Listen(ctx, func(c store.Change) { changes <- c })
	}()
	t.Cleanup(func() { cancel(); <-done })
	return changes, errs
}

// next returns the next change reported, failing after a generous wait.
func next(t *testing.T, changes <-chan store.Change) store.Change {
	t.Helper()
	select {
	case c := <-changes:
		return c
	case <-time.After(30 * time.Second):
		t.Fatal("no change reported within 30 s")
		return store.Change{}
	}
}

func expect(t *testing.T, changes <-chan store.Change, want store.Change) {
	t.Helper()
	if got := next(t, changes); got != want {
		t.Fatalf("change %+v, want %+v", got, want)
	}
}

// withAppName returns u with its application_name set to a name of its own.
func withAppName(t *testing.T, u string) (string, string) {
	t.Helper()
	var raw [4]byte
	rand.Read(raw[:])
	name := "tg_listen_" + hex.EncodeToString(raw[:])
	p, err := url.Parse(u)
	must(t, err)
	q := p.Query()
	q.Set("application_name", name)
	p.RawQuery = q.Encode()
	return p.String(), name
}

// TestListen: the changes other nodes' caches must hear of are reported in
// commit order, once committed, and only those: a refresh, a rolled back
// revocation and any change in another schema of the database are not.
// When the connection fails Listen returns, and a new Listen reports
// ChangeMissed first.
func TestListen(t *testing.T) {
	u, app := withAppName(t, pgtest.URL(t))
	s := openTest(t, u)
	other := openTest(t, pgtest.URL(t)) // another installation, same database
	seed(t, s, 3)
	seed(t, other, 1)
	ctx := context.Background()
	listenPing = 50 * time.Millisecond
	t.Cleanup(func() { listenPing = 5 * time.Second })
	changes, errs := listener(t, s)
	expect(t, changes, store.Change{Kind: store.ChangeMissed})
	// While nothing is notified, Listen checks its connection and goes on
	// listening.
	for deadline := time.Now().Add(30 * time.Second); s.listenPings.Load() < 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Listen did not check its idle connection within 30 s")
		}
	}
	select {
	case err := <-errs:
		t.Fatalf("Listen ended while idle: %v", err)
	default:
	}

	revoke := func(st store.Store, id string) {
		t.Helper()
		x, err := st.GetSession(ctx, id)
		must(t, err)
		x.RevokedAt, x.RevokeReason = time.Now(), "test"
		must(t, st.UpdateSession(ctx, x))
	}
	must(t, refresh(ctx, s, "sess-0"))             // rewrites the row: nothing to hear
	revoke(other, "sess-0")                        // another schema's
	err := s.Tx(ctx, func(q store.Queries) error { // rolled back
		x, err := q.GetSession(ctx, "sess-2")
		must(t, err)
		x.RevokedAt = time.Now()
		must(t, q.UpdateSession(ctx, x))
		return context.Canceled
	})
	if err != context.Canceled {
		t.Fatalf("Tx: %v", err)
	}
	revoke(s, "sess-1")
	expect(t, changes, store.Change{Kind: store.ChangeSession, ID: "sess-1"})
	revoke(s, "sess-1") // revoked already: no news
	n, err := s.RevokeUserSessions(ctx, "u", time.Now(), "test")
	if err != nil || n != 2 {
		t.Fatalf("RevokeUserSessions: %d, %v", n, err)
	}
	got := map[string]bool{next(t, changes).ID: true, next(t, changes).ID: true}
	if !got["sess-0"] || !got["sess-2"] {
		t.Fatalf("the user's revocations reported %v, want sess-0 and sess-2", got)
	}

	now := time.Now()
	must(t, s.CreateOrganisation(ctx, store.Organisation{ID: "o", TenantID: "t", Name: "org", CreatedAt: now}))
	must(t, s.CreateMembership(ctx, store.Membership{ID: "MU1", TenantID: "t", OrganisationID: "o", UserID: "u", CreatedAt: now}))
	expect(t, changes, store.Change{Kind: store.ChangeMembership, ID: "u"})
	usr, err := s.GetUser(ctx, "u")
	must(t, err)
	usr.DisplayName = "Alice" // no cache cares
	must(t, s.UpdateUser(ctx, usr))
	usr.Disabled = true
	must(t, s.UpdateUser(ctx, usr))
	expect(t, changes, store.Change{Kind: store.ChangeUser, ID: "u"})
	must(t, s.CreateClient(ctx, store.Client{ID: "app one", TenantID: "t", CreatedAt: now}))
	must(t, s.UpdateClient(ctx, store.Client{ID: "app one", TenantID: "t", Disabled: true, CreatedAt: now}))
	expect(t, changes, store.Change{Kind: store.ChangeClient, ID: "app one"})
	must(t, s.CreateKey(ctx, store.SigningKey{ID: "k1", Alg: "EdDSA", CreatedAt: now, ActiveFrom: now}))
	expect(t, changes, store.Change{Kind: store.ChangeKeys})
	tn, err := s.GetTenant(ctx, "t")
	must(t, err)
	tn.Disabled = true
	must(t, s.UpdateTenant(ctx, tn))
	expect(t, changes, store.Change{Kind: store.ChangeTenant, ID: "t"})
	select {
	case c := <-changes:
		t.Fatalf("unexpected change %+v", c)
	default:
	}

	// The connection ends (a restarted server, a cut network): Listen
	// says so; listening again, the caller first hears that it missed
	// whatever was committed meanwhile.
	conn, err := pgx.Connect(ctx, pgtest.Server(t))
	must(t, err)
	defer conn.Close(ctx)
	var killed int
	must(t, conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app+" listen").Scan(&killed))
	if killed != 1 {
		t.Fatalf("terminated %d listening connections, want 1", killed)
	}
	select {
	case err := <-errs:
		if err == nil {
			t.Fatal("Listen returned nil when its connection was terminated")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Listen did not return within 30 s of its connection's end")
	}
	changes, _ = listener(t, s)
	expect(t, changes, store.Change{Kind: store.ChangeMissed})
	must(t, s.DeleteKey(ctx, "k1"))
	expect(t, changes, store.Change{Kind: store.ChangeKeys})
}

// TestTryLock: one holder at a time per schema, freed by release or by the
// end of the holder's connection; other schemas have locks of their own.
func TestTryLock(t *testing.T) {
	u := pgtest.URL(t)
	ub, bName := withAppName(t, u)
	a, b, other := openTest(t, u), openTest(t, ub), openTest(t, pgtest.URL(t))
	ctx := context.Background()
	release, ok, err := a.TryLock(ctx, "purge")
	if err != nil || !ok {
		t.Fatalf("first TryLock: %v, %v", ok, err)
	}
	if _, ok, err := b.TryLock(ctx, "purge"); err != nil || ok {
		t.Fatalf("TryLock of a held lock from another node: %v, %v; want false", ok, err)
	}
	if _, ok, err := a.TryLock(ctx, "purge"); err != nil || ok {
		t.Fatalf("TryLock of a held lock from the same node: %v, %v; want false", ok, err)
	}
	r2, ok, err := b.TryLock(ctx, "other work")
	if err != nil || !ok {
		t.Fatalf("TryLock of another name: %v, %v", ok, err)
	}
	r2()
	r3, ok, err := other.TryLock(ctx, "purge")
	if err != nil || !ok {
		t.Fatalf("TryLock in another schema: %v, %v", ok, err)
	}
	r3()
	release()
	rb, ok, err := b.TryLock(ctx, "purge")
	if err != nil || !ok {
		t.Fatalf("TryLock after release: %v, %v", ok, err)
	}
	// The holder's connection ends (its node died): that frees the lock.
	// With a timeout, pg_terminate_backend waits until the backend has
	// exited, so its locks are gone when it returns (10 minutes: the
	// hang bound of a loaded machine, never a pace to keep).
	conn, err := pgx.Connect(ctx, pgtest.Server(t))
	must(t, err)
	defer conn.Close(ctx)
	var killed int
	must(t, conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(l.pid, 600000)) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND a.application_name = $1`, bName).Scan(&killed))
	if killed != 1 {
		t.Fatalf("terminated %d lock holders, want 1", killed)
	}
	rb() // its connection is gone: a no-op that must not fail
	if r, ok, err := a.TryLock(ctx, "purge"); err != nil || !ok {
		t.Fatalf("TryLock after the holder closed: %v, %v", ok, err)
	} else {
		r()
	}
}
