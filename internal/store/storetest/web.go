package storetest

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

// browser returns a live browser session of u created at created, with
// idle and absolute expiries an hour and a day later.
func browser(id string, u store.User, created time.Time) store.BrowserSession {
	h := sha256.Sum256([]byte("token of " + id))
	return store.BrowserSession{
		ID: id, TokenHash: h[:], TenantID: u.TenantID, UserID: u.ID,
		AuthMethod: "password", AuthTime: created, PasswordAt: created,
		RemoteAddr: "192.0.2.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)",
		CreatedAt: created, LastSeenAt: created,
		IdleExpiresAt: created.Add(time.Hour), AbsoluteExpiresAt: created.Add(24 * time.Hour),
	}
}

func testBrowserSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	b1 := browser("b-1", w.u1, at(0))
	b1.PasswordAt = time.Time{} // signed in through an external issuer
	b1.AuthMethod = "oidc:corp"
	ok(t, s.CreateBrowserSession(ctx, b1), "create b-1")
	b2 := browser("b-2", w.u1, at(time.Minute))
	ok(t, s.CreateBrowserSession(ctx, b2), "create b-2")
	b3 := browser("b-3", w.u3, at(2*time.Minute))
	ok(t, s.CreateBrowserSession(ctx, b3), "create b-3")

	dup := browser("b-1", w.u2, at(0))
	wantErr(t, s.CreateBrowserSession(ctx, dup), store.ErrConflict, "duplicate id")
	sameToken := browser("b-9", w.u2, at(0))
	sameToken.TokenHash = b2.TokenHash
	wantErr(t, s.CreateBrowserSession(ctx, sameToken), store.ErrConflict, "duplicate token hash")
	wantErr(t, s.CreateBrowserSession(ctx, browser("b-x", store.User{ID: "nobody", TenantID: w.t1.ID}, at(0))),
		store.ErrNotFound, "unknown user")

	got, err := s.GetBrowserSession(ctx, "b-1")
	ok(t, err, "get b-1")
	equal(t, got, b1, "b-1 round trip (zero PasswordAt)")
	got, err = s.GetBrowserSessionByToken(ctx, b2.TokenHash)
	ok(t, err, "get by token")
	equal(t, got, b2, "b-2 by token")
	_, err = s.GetBrowserSession(ctx, "b-missing")
	wantErr(t, err, store.ErrNotFound, "get missing")
	other := sha256.Sum256([]byte("no such token"))
	_, err = s.GetBrowserSessionByToken(ctx, other[:])
	wantErr(t, err, store.ErrNotFound, "get by unknown token")

	b2.LastSeenAt, b2.IdleExpiresAt, b2.PasswordAt = at(30*time.Minute), at(90*time.Minute), at(30*time.Minute)
	ok(t, s.UpdateBrowserSession(ctx, b2), "update b-2")
	got, err = s.GetBrowserSession(ctx, "b-2")
	ok(t, err, "get updated")
	equal(t, got, b2, "updated b-2")
	wantErr(t, s.UpdateBrowserSession(ctx, browser("b-missing", w.u1, at(0))), store.ErrNotFound, "update missing")

	checkList(t, s.ListBrowserSessions, func(b store.BrowserSession) string { return b.ID }, []listCase[store.BrowserSessionFilter]{
		{"all", store.BrowserSessionFilter{}, []string{"b-1", "b-2", "b-3"}},
		{"tenant", store.BrowserSessionFilter{TenantID: w.t1.ID}, []string{"b-1", "b-2"}},
		{"user", store.BrowserSessionFilter{UserID: w.u3.ID}, []string{"b-3"}},
		// b-1's idle expiry is at(1h); b-2 was renewed to at(90m).
		{"live later", store.BrowserSessionFilter{UserID: w.u1.ID, LiveAt: at(80 * time.Minute)}, []string{"b-2"}},
		{"live at idle expiry", store.BrowserSessionFilter{UserID: w.u1.ID, LiveAt: at(time.Hour)}, []string{"b-2"}},
	})

	n, err := s.RevokeUserBrowserSessions(ctx, w.u1.ID, at(10*time.Minute), "signed_out_everywhere")
	ok(t, err, "revoke user")
	equal(t, n, 2, "revoked")
	n, err = s.RevokeUserBrowserSessions(ctx, w.u1.ID, at(11*time.Minute), "again")
	ok(t, err, "revoke again")
	equal(t, n, 0, "nothing left to revoke")
	got, err = s.GetBrowserSession(ctx, "b-2")
	ok(t, err, "get revoked")
	equal(t, got.RevokedAt, at(10*time.Minute), "revoked at")
	equal(t, got.RevokeReason, "signed_out_everywhere", "revoke reason")
	if got.Live(at(10 * time.Minute)) {
		t.Fatal("a revoked browser session is live")
	}
	live, err := s.ListBrowserSessions(ctx, store.BrowserSessionFilter{LiveAt: at(10 * time.Minute)})
	ok(t, err, "list live")
	equal(t, keys(live, func(b store.BrowserSession) string { return b.ID }), []string{"b-3"}, "live after revoke")

	// Purge: b-1 and b-2 were revoked at 10m; b-3 expires idle at 2m+1h.
	n, err = s.PurgeBrowserSessions(ctx, at(10*time.Minute), 10)
	ok(t, err, "purge at the revocation")
	equal(t, n, 0, "nothing ended strictly before")
	n, err = s.PurgeBrowserSessions(ctx, at(11*time.Minute), 1)
	ok(t, err, "purge batch")
	equal(t, n, 1, "bounded by limit")
	n, err = s.PurgeBrowserSessions(ctx, at(11*time.Minute), 10)
	ok(t, err, "purge rest")
	equal(t, n, 1, "the other revoked one")
	_, err = s.GetBrowserSession(ctx, "b-3")
	ok(t, err, "b-3 kept")

	// Deleting nothing else: the user's token sessions are another table.
	ok(t, s.CreateSession(ctx, session("sess-1", w.u1, at(0))), "token session beside")
	n, err = s.RevokeUserBrowserSessions(ctx, w.u1.ID, at(12*time.Minute), "x")
	ok(t, err, "revoke browsers")
	sess, err := s.GetSession(ctx, "sess-1")
	ok(t, err, "token session")
	equal(t, sess.RevokedAt, time.Time{}, "token session untouched by browser revocation")
}

func testAccessRequests(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	r1 := store.AccessRequest{ID: "r-1", TenantID: w.t1.ID, UserID: w.u1.ID, Reason: "nightly export", Status: store.AccessPending, CreatedAt: at(0)}
	ok(t, s.CreateAccessRequest(ctx, r1), "create r-1")
	second := r1
	second.ID = "r-2"
	wantErr(t, s.CreateAccessRequest(ctx, second), store.ErrConflict, "second pending request of one user")
	wantErr(t, s.CreateAccessRequest(ctx, r1), store.ErrConflict, "duplicate id")
	ghost := store.AccessRequest{ID: "r-g", TenantID: w.t1.ID, UserID: "nobody", Status: store.AccessPending, CreatedAt: at(0)}
	wantErr(t, s.CreateAccessRequest(ctx, ghost), store.ErrNotFound, "unknown user")

	got, err := s.GetAccessRequest(ctx, "r-1")
	ok(t, err, "get")
	equal(t, got, r1, "round trip")
	_, err = s.GetAccessRequest(ctx, "r-missing")
	wantErr(t, err, store.ErrNotFound, "get missing")

	r1.Status, r1.DecidedAt, r1.DecidedBy, r1.Note = store.AccessDenied, at(time.Hour), w.u2.ID, "use the shared export instead"
	ok(t, s.UpdateAccessRequest(ctx, r1), "decide r-1")
	got, err = s.GetAccessRequest(ctx, "r-1")
	ok(t, err, "get decided")
	equal(t, got, r1, "decided round trip")
	missing := r1
	missing.ID = "r-missing"
	wantErr(t, s.UpdateAccessRequest(ctx, missing), store.ErrNotFound, "update missing")

	// Once decided, the user may ask again.
	ok(t, s.CreateAccessRequest(ctx, second), "new pending request after a decision")
	r3 := store.AccessRequest{ID: "r-3", TenantID: w.t1.ID, UserID: w.u2.ID, Status: store.AccessPending, CreatedAt: at(2 * time.Hour)}
	ok(t, s.CreateAccessRequest(ctx, r3), "create r-3")
	r4 := store.AccessRequest{ID: "r-4", TenantID: w.t2.ID, UserID: w.u3.ID, Status: store.AccessPending, CreatedAt: at(3 * time.Hour)}
	ok(t, s.CreateAccessRequest(ctx, r4), "create r-4")

	checkList(t, s.ListAccessRequests, func(r store.AccessRequest) string { return r.ID }, []listCase[store.AccessRequestFilter]{
		{"all newest first", store.AccessRequestFilter{}, []string{"r-4", "r-3", "r-2", "r-1"}},
		{"tenant", store.AccessRequestFilter{TenantID: w.t1.ID}, []string{"r-3", "r-2", "r-1"}},
		{"user", store.AccessRequestFilter{UserID: w.u1.ID}, []string{"r-2", "r-1"}},
		{"pending in tenant", store.AccessRequestFilter{TenantID: w.t1.ID, Status: store.AccessPending}, []string{"r-3", "r-2"}},
		{"denied", store.AccessRequestFilter{Status: store.AccessDenied}, []string{"r-1"}},
		{"limit", store.AccessRequestFilter{UserID: w.u1.ID, Limit: 1}, []string{"r-2"}},
	})
}

func testAuditWindows(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := range 6 {
		// Two events share each second: 0,0,1,1,2,2.
		ok(t, s.AppendAudit(ctx, store.AuditEvent{Time: at(time.Duration(i/2) * time.Second), Type: "signon",
			TenantID: "tenant-a", UserID: "user-a"}), "append")
	}
	all, err := s.ListAudit(ctx, store.AuditFilter{})
	ok(t, err, "list")
	equal(t, len(all), 6, "events")

	secs := func(es []store.AuditEvent) []int {
		out := []int{}
		for _, e := range es {
			out = append(out, int(e.Time.Sub(base)/time.Second))
		}
		return out
	}
	got, err := s.ListAudit(ctx, store.AuditFilter{Since: at(time.Second)})
	ok(t, err, "since")
	equal(t, secs(got), []int{2, 2, 1, 1}, "since is inclusive")
	got, err = s.ListAudit(ctx, store.AuditFilter{Until: at(time.Second)})
	ok(t, err, "until")
	equal(t, secs(got), []int{0, 0}, "until is exclusive")
	got, err = s.ListAudit(ctx, store.AuditFilter{Since: at(time.Second), Until: at(2 * time.Second), UserID: "user-a"})
	ok(t, err, "window")
	equal(t, secs(got), []int{1, 1}, "window")

	// Paging by cursor walks every event once, in order, across events
	// that share a millisecond.
	var walked []int64
	f := store.AuditFilter{Limit: 4}
	for range 4 {
		page, err := s.ListAudit(ctx, f)
		ok(t, err, "page")
		for _, e := range page {
			walked = append(walked, e.ID)
		}
		if len(page) < f.Limit {
			break
		}
		last := page[len(page)-1]
		f.Before = store.AuditCursor{Time: last.Time, ID: last.ID}
	}
	want := []int64{}
	for _, e := range all {
		want = append(want, e.ID)
	}
	equal(t, walked, want, "paged walk")
	page, err := s.ListAudit(ctx, store.AuditFilter{Before: store.AuditCursor{Time: all[1].Time, ID: all[1].ID}, Limit: 1})
	ok(t, err, "after the second")
	equal(t, page[0].ID, all[2].ID, "the page starts after the cursor")
}
