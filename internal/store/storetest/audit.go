package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

func testAudit(t *testing.T, s store.Store) {
	ctx := context.Background()
	evs := []store.AuditEvent{
		{Time: at(0), Type: "signon", TenantID: "tenant-a", UserID: "user-a", SessionID: "sess-1",
			ClientID: "client-a", CorrelationID: "corr-1", RemoteAddr: "192.0.2.1:5000",
			Detail: map[string]string{"service": "oauth2", "grant": "password"}},
		{Time: at(time.Second), Type: "refresh", TenantID: "tenant-a", UserID: "user-a", SessionID: "sess-1",
			CorrelationID: "corr-2", Detail: map[string]string{}},
		{Time: at(2 * time.Second), Type: "signon.failed", TenantID: "tenant-b", RemoteAddr: "[2001:db8::1]:443"},
		{Time: at(3 * time.Second), Type: "refresh.reuse", TenantID: "tenant-a", UserID: "user-b", SessionID: "sess-2",
			CorrelationID: "corr-1"},
		{Time: at(3 * time.Second), Type: "session.revoke", TenantID: "tenant-a", UserID: "user-b", SessionID: "sess-2"},
	}
	for _, e := range evs {
		e.ID = 999 // ignored: the store assigns IDs
		ok(t, s.AppendAudit(ctx, e), "append")
	}
	all, err := s.ListAudit(ctx, store.AuditFilter{})
	ok(t, err, "list")
	if len(all) != len(evs) {
		t.Fatalf("listed %d events, want %d", len(all), len(evs))
	}
	// Newest first; the two events of one millisecond in the order they
	// were appended, newest first.
	order := []int{4, 3, 2, 1, 0}
	seen := map[int64]bool{}
	byType := map[string]int64{}
	for i, got := range all {
		if got.ID == 0 || seen[got.ID] {
			t.Fatalf("event %d: ID %d not assigned or not unique", i, got.ID)
		}
		seen[got.ID] = true
		byType[got.Type] = got.ID
		want := evs[order[i]]
		want.ID = got.ID
		equal(t, got, want, "event "+want.Type+" (nil vs empty detail)")
	}
	if byType["session.revoke"] <= byType["signon"] {
		t.Fatalf("IDs do not increase: %v", byType)
	}

	checkList(t, s.ListAudit, func(e store.AuditEvent) string { return e.Type }, []listCase[store.AuditFilter]{
		{"tenant", store.AuditFilter{TenantID: "tenant-b"}, []string{"signon.failed"}},
		{"user", store.AuditFilter{UserID: "user-a"}, []string{"refresh", "signon"}},
		{"session", store.AuditFilter{SessionID: "sess-2"}, []string{"session.revoke", "refresh.reuse"}},
		{"type", store.AuditFilter{Type: "refresh"}, []string{"refresh"}},
		{"correlation", store.AuditFilter{CorrelationID: "corr-1"}, []string{"refresh.reuse", "signon"}},
		{"combined", store.AuditFilter{TenantID: "tenant-a", CorrelationID: "corr-1", UserID: "user-a"}, []string{"signon"}},
		{"limit", store.AuditFilter{Limit: 2}, []string{"session.revoke", "refresh.reuse"}},
		{"filtered limit", store.AuditFilter{TenantID: "tenant-a", Limit: 3}, []string{"session.revoke", "refresh.reuse", "refresh"}},
		{"none", store.AuditFilter{Type: "nothing"}, []string{}},
	})
}

func testMeta(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.GetMeta(ctx, "install.id")
	wantErr(t, err, store.ErrNotFound, "unknown name")
	ok(t, s.SetMeta(ctx, "install.id", "one"), "set")
	ok(t, s.SetMeta(ctx, "empty", ""), "set empty")
	v, err := s.GetMeta(ctx, "install.id")
	ok(t, err, "get")
	equal(t, v, "one", "get")
	ok(t, s.SetMeta(ctx, "install.id", "two"), "overwrite")
	v, err = s.GetMeta(ctx, "install.id")
	ok(t, err, "get overwritten")
	equal(t, v, "two", "overwritten")
	v, err = s.GetMeta(ctx, "empty")
	ok(t, err, "get empty")
	equal(t, v, "", "empty value")
}

func testTxCommit(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	sess := session("sess-1", w.u1, at(0))
	err := s.Tx(ctx, func(q store.Queries) error {
		if _, err := q.LockUser(ctx, w.u1.ID); err != nil {
			return err
		}
		if err := q.CreateSession(ctx, sess); err != nil {
			return err
		}
		// The transaction reads its own writes.
		got, err := q.GetSessionForUpdate(ctx, sess.ID)
		if err != nil {
			return err
		}
		equal(t, got, sess, "read own write")
		n, err := q.CountLiveSessions(ctx, w.u1.ID, at(time.Minute))
		if err != nil {
			return err
		}
		equal(t, n, 1, "count inside Tx")
		if err := q.AppendAudit(ctx, store.AuditEvent{Time: at(0), Type: "signon", SessionID: sess.ID}); err != nil {
			return err
		}
		return q.SetMeta(ctx, "k", "v")
	})
	ok(t, err, "Tx")
	got, err := s.GetSession(ctx, sess.ID)
	ok(t, err, "get after commit")
	equal(t, got, sess, "committed session")
	evs, err := s.ListAudit(ctx, store.AuditFilter{SessionID: sess.ID})
	ok(t, err, "audit after commit")
	equal(t, len(evs), 1, "committed audit events")

	// A store error inside the transaction reaches the caller intact.
	err = s.Tx(ctx, func(q store.Queries) error { return q.CreateSession(ctx, sess) })
	wantErr(t, err, store.ErrConflict, "conflict inside Tx")
}

func testTxRollback(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	sess := session("sess-1", w.u1, at(0))
	ok(t, s.CreateSession(ctx, sess), "create")
	errBoom := errors.New("boom")
	err := s.Tx(ctx, func(q store.Queries) error {
		steps := []error{
			q.CreateTenant(ctx, store.Tenant{ID: "tenant-x", Name: "xray"}),
			q.CreateUser(ctx, store.User{ID: "user-x", TenantID: "tenant-x", Name: "xavier"}),
			q.UpdateSession(ctx, func() store.Session { x := sess; x.Generation = 7; return x }()),
			q.AppendAudit(ctx, store.AuditEvent{Time: at(0), Type: "refresh"}),
			q.SetMeta(ctx, "k", "v"),
		}
		if n, err := q.RevokeUserSessions(ctx, w.u1.ID, at(time.Minute), "test"); err != nil || n != 1 {
			t.Errorf("revoke inside Tx: %d, %v", n, err)
		}
		if n, err := q.PurgeSessions(ctx, at(1000*time.Hour), 10); err != nil || n != 1 {
			t.Errorf("purge inside Tx: %d, %v", n, err)
		}
		if err := errors.Join(steps...); err != nil {
			t.Errorf("writes inside Tx: %v", err)
		}
		return errBoom
	})
	wantErr(t, err, errBoom, "Tx returns fn's error")

	_, err = s.GetTenant(ctx, "tenant-x")
	wantErr(t, err, store.ErrNotFound, "tenant rolled back")
	_, err = s.GetUser(ctx, "user-x")
	wantErr(t, err, store.ErrNotFound, "user rolled back")
	got, err := s.GetSession(ctx, sess.ID)
	ok(t, err, "session survives rollback")
	equal(t, got, sess, "session unchanged")
	evs, err := s.ListAudit(ctx, store.AuditFilter{})
	ok(t, err, "audit")
	equal(t, len(evs), 0, "audit rolled back")
	_, err = s.GetMeta(ctx, "k")
	wantErr(t, err, store.ErrNotFound, "meta rolled back")
}

// testTxConcurrentRefresh runs 50 refreshes of one session at once, each a
// read-modify-write transaction: none may fail and none may be lost.
func testTxConcurrentRefresh(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	sess := session("sess-1", w.u1, at(0))
	ok(t, s.CreateSession(ctx, sess), "create")
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			errs <- s.Tx(ctx, func(q store.Queries) error {
				x, err := q.GetSessionForUpdate(ctx, sess.ID)
				if err != nil {
					return err
				}
				x.Generation++
				x.RotatedAt = at(time.Duration(x.Generation) * time.Second)
				return q.UpdateSession(ctx, x)
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		ok(t, err, "concurrent refresh")
	}
	got, err := s.GetSession(ctx, sess.ID)
	ok(t, err, "get")
	if got.Generation != n {
		t.Fatalf("Generation = %d after %d refreshes: lost updates", got.Generation, n)
	}
}

// testTxIndependentFailures runs many transactions at once, some of which
// fail after writing and some of which panic: a failure undoes its own
// writes only, a panic reaches its own caller only, and every transaction
// that returned nil is there in full.
func testTxIndependentFailures(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 60
	errOdd := errors.New("odd transactions fail")
	var wg sync.WaitGroup
	results := make([]error, n)
	panics := make([]any, n)
	for i := range n {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			results[i] = s.Tx(ctx, func(q store.Queries) error {
				id := fmt.Sprintf("tenant-%02d", i)
				if err := q.CreateTenant(ctx, store.Tenant{ID: id, Name: id}); err != nil {
					return err
				}
				if err := q.SetMeta(ctx, id, "written"); err != nil {
					return err
				}
				switch {
				case i%10 == 9:
					panic("transaction " + id + " panics")
				case i%2 == 1:
					return errOdd
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i := range n {
		id := fmt.Sprintf("tenant-%02d", i)
		_, terr := s.GetTenant(ctx, id)
		_, merr := s.GetMeta(ctx, id)
		switch {
		case i%10 == 9:
			if panics[i] != "transaction "+id+" panics" {
				t.Errorf("%s: recovered %v, want its own panic", id, panics[i])
			}
			wantErr(t, terr, store.ErrNotFound, id+" (panicked) tenant rolled back")
			wantErr(t, merr, store.ErrNotFound, id+" (panicked) meta rolled back")
		case i%2 == 1:
			wantErr(t, results[i], errOdd, id+" returns its own error")
			wantErr(t, terr, store.ErrNotFound, id+" (failed) tenant rolled back")
			wantErr(t, merr, store.ErrNotFound, id+" (failed) meta rolled back")
		default:
			if panics[i] != nil {
				t.Errorf("%s: panicked with %v", id, panics[i])
			}
			ok(t, results[i], id+" commits")
			ok(t, terr, id+" tenant committed")
			ok(t, merr, id+" meta committed")
		}
	}
	// A constraint failure inside one transaction leaves the others alone.
	var wg2 sync.WaitGroup
	dup := make([]error, 8)
	for i := range dup {
		wg2.Go(func() {
			dup[i] = s.Tx(ctx, func(q store.Queries) error {
				return q.CreateTenant(ctx, store.Tenant{ID: fmt.Sprintf("dup-%d", i), Name: "same-name"})
			})
		})
	}
	wg2.Wait()
	won := 0
	for _, err := range dup {
		if err == nil {
			won++
		} else {
			wantErr(t, err, store.ErrConflict, "duplicate tenant name")
		}
	}
	equal(t, won, 1, "transactions creating the same tenant name that commit")
}

// testHeartbeat: the heartbeat commits, again and again (its one row is
// there after the first), inside nobody's transaction.
func testHeartbeat(t *testing.T, s store.Store) {
	ctx := context.Background()
	for range 3 {
		if err := s.Heartbeat(ctx); err != nil {
			t.Fatalf("Heartbeat: %v", err)
		}
	}
}
