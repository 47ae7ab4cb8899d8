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

// testTxRefreshShape runs the reads and writes of a refresh, a reuse
// revocation and a grace retry the way the engine does, and checks what
// each sees and leaves: a backend may send them in fewer round trips, read
// ahead or defer writes, but never so that fn or a later transaction could
// tell.
func testTxRefreshShape(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	sess := session("sess-1", w.u1, at(0))
	ok(t, s.CreateSession(ctx, sess), "create")

	// A refresh: lock, read the user and tenant, write the next generation,
	// and read the session back inside the transaction.
	next := sess
	next.Generation, next.RotatedAt, next.LastUsedAt, next.IdleExpiresAt = 1, at(time.Minute), at(time.Minute), at(2*time.Hour)
	err := s.Tx(ctx, func(q store.Queries) error {
		got, err := q.GetSessionForUpdate(ctx, sess.ID)
		ok(t, err, "lock")
		equal(t, got, sess, "locked session")
		u, err := q.GetUser(ctx, got.UserID)
		ok(t, err, "user")
		equal(t, u, w.u1, "user of the locked session")
		tn, err := q.GetTenant(ctx, got.TenantID)
		ok(t, err, "tenant")
		equal(t, tn, w.t1, "tenant of the locked session")
		ok(t, q.UpdateSession(ctx, next), "update")
		got, err = q.GetSession(ctx, sess.ID)
		ok(t, err, "read back")
		equal(t, got, next, "the transaction reads its own update")
		return nil
	})
	ok(t, err, "refresh Tx")
	got, err := s.GetSession(ctx, sess.ID)
	ok(t, err, "get")
	equal(t, got, next, "committed refresh")

	// Writes to the user and tenant inside the transaction are what later
	// reads in it return, even after the session's lock read them.
	err = s.Tx(ctx, func(q store.Queries) error {
		_, err := q.GetSessionForUpdate(ctx, sess.ID)
		ok(t, err, "lock")
		u := w.u1
		u.Disabled, u.UpdatedAt = true, at(time.Minute)
		ok(t, q.UpdateUser(ctx, u), "update user")
		tn := w.t1
		tn.DisplayName = "Acme Inc."
		ok(t, q.UpdateTenant(ctx, tn), "update tenant")
		gotU, err := q.GetUser(ctx, u.ID)
		ok(t, err, "user")
		equal(t, gotU, u, "user after its update in the same Tx")
		gotT, err := q.GetTenant(ctx, tn.ID)
		ok(t, err, "tenant")
		equal(t, gotT, tn, "tenant after its update in the same Tx")
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("Tx returning an error committed")
	}
	u, err := s.GetUser(ctx, w.u1.ID)
	ok(t, err, "user")
	equal(t, u, w.u1, "user update rolled back")

	// A revocation for reuse: update and audit, then fn fails: nothing of it
	// remains, the update included.
	errLater := errors.New("fails after writing")
	err = s.Tx(ctx, func(q store.Queries) error {
		x, err := q.GetSessionForUpdate(ctx, sess.ID)
		ok(t, err, "lock")
		x.RevokedAt, x.RevokeReason = at(2*time.Minute), "reuse"
		ok(t, q.UpdateSession(ctx, x), "revoke")
		ok(t, q.AppendAudit(ctx, store.AuditEvent{Time: at(2 * time.Minute), Type: "refresh.reuse", SessionID: x.ID}), "audit")
		return errLater
	})
	wantErr(t, err, errLater, "Tx returns fn's error")
	got, err = s.GetSession(ctx, sess.ID)
	ok(t, err, "get")
	equal(t, got, next, "revocation rolled back")
	evs, err := s.ListAudit(ctx, store.AuditFilter{SessionID: sess.ID})
	ok(t, err, "audit")
	equal(t, len(evs), 0, "audit rolled back")

	// The same revocation committed: both writes are there.
	err = s.Tx(ctx, func(q store.Queries) error {
		x, err := q.GetSessionForUpdate(ctx, sess.ID)
		if err != nil {
			return err
		}
		x.RevokedAt, x.RevokeReason = at(2*time.Minute), "reuse"
		if err := q.UpdateSession(ctx, x); err != nil {
			return err
		}
		return q.AppendAudit(ctx, store.AuditEvent{Time: at(2 * time.Minute), Type: "refresh.reuse", SessionID: x.ID})
	})
	ok(t, err, "revoke Tx")
	got, err = s.GetSession(ctx, sess.ID)
	ok(t, err, "get")
	equal(t, got.RevokeReason, "reuse", "committed revocation")
	evs, err = s.ListAudit(ctx, store.AuditFilter{SessionID: sess.ID})
	ok(t, err, "audit")
	equal(t, len(evs), 1, "committed audit events")

	// A transaction that only reads, and one that does nothing, commit.
	ok(t, s.Tx(ctx, func(q store.Queries) error { _, err := q.GetSessionForUpdate(ctx, sess.ID); return err }), "read-only Tx")
	ok(t, s.Tx(ctx, func(store.Queries) error { return nil }), "empty Tx")
	// One that only appends commits its append.
	ok(t, s.Tx(ctx, func(q store.Queries) error {
		return q.AppendAudit(ctx, store.AuditEvent{Time: at(3 * time.Minute), Type: "alone", SessionID: sess.ID})
	}), "append-only Tx")
	evs, err = s.ListAudit(ctx, store.AuditFilter{SessionID: sess.ID, Type: "alone"})
	ok(t, err, "audit")
	equal(t, len(evs), 1, "append-only Tx committed")

	// Changing the session's user is an ordinary, checked update.
	err = s.Tx(ctx, func(q store.Queries) error {
		x, err := q.GetSessionForUpdate(ctx, sess.ID)
		if err != nil {
			return err
		}
		x.UserID = "missing"
		return q.UpdateSession(ctx, x)
	})
	wantErr(t, err, store.ErrNotFound, "update to a missing user inside Tx")
}

// testTxSessionLimit signs one user on from many goroutines at once, each
// transaction locking the user, listing its live sessions and creating one
// only below the limit, as the engine does: the limit holds exactly.
func testTxSessionLimit(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	const limit, n = 3, 24
	errLimit := errors.New("session limit")
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Tx(ctx, func(q store.Queries) error {
				if _, err := q.LockUser(ctx, w.u1.ID); err != nil {
					return err
				}
				live, err := q.ListSessions(ctx, store.SessionFilter{UserID: w.u1.ID, LiveAt: at(time.Minute)})
				if err != nil {
					return err
				}
				if len(live) >= limit {
					return errLimit
				}
				return q.CreateSession(ctx, session(fmt.Sprintf("sess-%02d", i), w.u1, at(0)))
			})
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			wantErr(t, err, errLimit, "sign-on over the limit")
		}
	}
	equal(t, won, limit, "sign-ons that committed")
	live, err := s.CountLiveSessions(ctx, w.u1.ID, at(time.Minute))
	ok(t, err, "count")
	equal(t, live, limit, "live sessions")
}
