package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

func testSessionRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	full := store.Session{
		ID: "sess-full", TenantID: w.t1.ID, UserID: w.u1.ID, ClientID: "client-a", Service: "ags:password",
		Policy: store.PolicyStable, Generation: 42, RotatedAt: at(5 * time.Minute), DeviceID: "device-1",
		Label: "laptop", AuthMethod: store.AuthPassword, CreatedAt: at(0), LastUsedAt: at(6 * time.Minute),
		IdleExpiresAt: at(time.Hour), AbsoluteExpiresAt: at(24 * time.Hour),
		RevokedAt: at(7 * time.Minute), RevokeReason: "user",
	}
	bare := store.Session{ID: "sess-bare", TenantID: w.t1.ID, UserID: w.u1.ID, Policy: store.PolicyNone}
	ok(t, s.CreateSession(ctx, full), "create full")
	ok(t, s.CreateSession(ctx, bare), "create bare")
	for _, want := range []store.Session{full, bare} {
		got, err := s.GetSession(ctx, want.ID)
		ok(t, err, "get "+want.ID)
		equal(t, got, want, "round trip of "+want.ID)
		got, err = s.GetSessionForUpdate(ctx, want.ID)
		ok(t, err, "get for update "+want.ID)
		equal(t, got, want, "get for update outside Tx of "+want.ID)
	}

	// Times in another zone come back as the same instant in UTC.
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	local := session("sess-zone", w.u2, at(0).In(zone))
	ok(t, s.CreateSession(ctx, local), "create zoned")
	got, err := s.GetSession(ctx, local.ID)
	ok(t, err, "get zoned")
	equal(t, got, session("sess-zone", w.u2, at(0)), "zoned times returned in UTC")

	// Precision is at least the millisecond.
	fine := session("sess-fine", w.u2, at(0).Add(1234567*time.Nanosecond))
	ok(t, s.CreateSession(ctx, fine), "create sub-millisecond")
	got, err = s.GetSession(ctx, fine.ID)
	ok(t, err, "get sub-millisecond")
	if d := got.CreatedAt.Sub(fine.CreatedAt).Abs(); d >= time.Millisecond {
		t.Fatalf("sub-millisecond time came back %v off", d)
	}

	// Update every field, including clearing RevokedAt.
	full.UserID, full.ClientID, full.Service, full.Policy = w.u2.ID, "", "core", store.PolicyRotating
	full.Generation, full.RotatedAt, full.DeviceID, full.Label = 43, at(8*time.Minute), "", ""
	full.LastUsedAt, full.IdleExpiresAt = at(8*time.Minute), at(2*time.Hour)
	full.RevokedAt, full.RevokeReason, full.AuthMethod = time.Time{}, "", store.AuthExternal
	ok(t, s.UpdateSession(ctx, full), "update")
	got, err = s.GetSession(ctx, full.ID)
	ok(t, err, "get after update")
	equal(t, got, full, "after update")
}

func testSessionErrors(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	sess := session("sess-1", w.u1, at(0))
	ok(t, s.CreateSession(ctx, sess), "create")
	wantErr(t, s.CreateSession(ctx, session("sess-1", w.u2, at(0))), store.ErrConflict, "duplicate id")
	wantErr(t, s.CreateSession(ctx, session("sess-2", store.User{ID: "missing", TenantID: w.t1.ID}, at(0))),
		store.ErrNotFound, "unknown user")
	_, err := s.GetSession(ctx, "missing")
	wantErr(t, err, store.ErrNotFound, "get missing")
	_, err = s.GetSessionForUpdate(ctx, "missing")
	wantErr(t, err, store.ErrNotFound, "get for update missing")
	wantErr(t, s.UpdateSession(ctx, session("missing", w.u1, at(0))), store.ErrNotFound, "update missing")
	err = s.Tx(ctx, func(q store.Queries) error {
		_, err := q.GetSessionForUpdate(ctx, "missing")
		return err
	})
	wantErr(t, err, store.ErrNotFound, "get for update missing in Tx")
}

// sessionSet creates, for user u, one session of each interesting state at
// the reference time now = at(2h): the live ones are created in the order
// given by their ids.
func sessionSet(t *testing.T, s store.Store, u store.User, prefix string) []store.Session {
	t.Helper()
	var out []store.Session
	add := func(id string, created time.Time, edit func(*store.Session)) {
		x := session(prefix+id, u, created)
		x.IdleExpiresAt, x.AbsoluteExpiresAt = at(3*time.Hour), at(10*time.Hour)
		if edit != nil {
			edit(&x)
		}
		ok(t, s.CreateSession(context.Background(), x), "create "+x.ID)
		out = append(out, x)
	}
	add("-1-live", at(0), nil)
	add("-2-labelled", at(time.Minute), func(x *store.Session) { x.Label = "ci token" })
	add("-3-revoked", at(2*time.Minute), func(x *store.Session) {
		x.RevokedAt, x.RevokeReason = at(90*time.Minute), "admin"
	})
	add("-4-idle", at(3*time.Minute), func(x *store.Session) { x.IdleExpiresAt = at(2 * time.Hour) }) // expires exactly at now
	add("-5-absolute", at(4*time.Minute), func(x *store.Session) { x.AbsoluteExpiresAt = at(time.Hour) })
	add("-6-live", at(4*time.Minute), nil) // same created_at as -5: ordered by id
	add("-7-labelled-revoked", at(5*time.Minute), func(x *store.Session) {
		x.Label, x.RevokedAt = "old token", at(time.Hour)
	})
	return out
}

func ids(ss []store.Session) []string {
	return keys(ss, func(x store.Session) string { return x.ID })
}

func testListSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	now := at(2 * time.Hour)
	a := sessionSet(t, s, w.u1, "a")
	b := sessionSet(t, s, w.u2, "b")
	c := sessionSet(t, s, w.u3, "c")

	filter := func(ss []store.Session, keep func(store.Session) bool) []store.Session {
		var out []store.Session
		for _, x := range ss {
			if keep(x) {
				out = append(out, x)
			}
		}
		return out
	}
	live := func(x store.Session) bool { return x.Live(now) }
	labelled := func(x store.Session) bool { return x.Label != "" }
	// merge orders sessions of several users oldest first, then by id.
	merge := func(sets ...[]store.Session) []store.Session {
		var all []store.Session
		for _, ss := range sets {
			all = append(all, ss...)
		}
		return sortedBy(all, func(x store.Session) string {
			return fmt.Sprintf("%020d/%s", x.CreatedAt.UnixMilli(), x.ID)
		})
	}

	cases := []struct {
		name string
		f    store.SessionFilter
		want []store.Session
	}{
		{"user", store.SessionFilter{UserID: w.u1.ID}, a},
		{"tenant", store.SessionFilter{TenantID: w.t1.ID}, merge(a, b)},
		{"all", store.SessionFilter{}, merge(a, b, c)},
		{"live", store.SessionFilter{UserID: w.u1.ID, LiveAt: now}, filter(a, live)},
		{"labelled", store.SessionFilter{UserID: w.u2.ID, Labelled: true}, filter(b, labelled)},
		{"live labelled", store.SessionFilter{TenantID: w.t2.ID, LiveAt: now, Labelled: true},
			filter(c, func(x store.Session) bool { return live(x) && labelled(x) })},
		{"limit", store.SessionFilter{UserID: w.u1.ID, Limit: 2}, a[:2]},
		{"live limit", store.SessionFilter{UserID: w.u1.ID, LiveAt: now, Limit: 2}, filter(a, live)[:2]},
		{"limit above count", store.SessionFilter{UserID: w.u1.ID, Limit: 100}, a},
		{"no match", store.SessionFilter{UserID: "missing"}, nil},
	}
	for _, tc := range cases {
		got, err := s.ListSessions(ctx, tc.f)
		ok(t, err, tc.name)
		equal(t, ids(got), ids(tc.want), tc.name+": ids in order")
		if len(got) > 0 {
			equal(t, got, tc.want, tc.name+": records")
		}
	}
	if n := len(filter(a, live)); n != 3 {
		t.Fatalf("fixture: %d live sessions, want 3", n)
	}
}

func testCountLiveSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	now := at(2 * time.Hour)
	sessionSet(t, s, w.u1, "a")
	sessionSet(t, s, w.u2, "b")
	for _, tc := range []struct {
		user string
		at   time.Time
		want int
	}{
		{w.u1.ID, now, 3},                  // live, labelled, live; not revoked/expired
		{w.u1.ID, at(30 * time.Minute), 5}, // before the idle/absolute expiries; revoked stay revoked
		{w.u1.ID, at(11 * time.Hour), 0},   // after every absolute expiry
		{w.u3.ID, now, 0},
		{"missing", now, 0},
	} {
		n, err := s.CountLiveSessions(ctx, tc.user, tc.at)
		ok(t, err, "count")
		if n != tc.want {
			t.Fatalf("CountLiveSessions(%s, %v) = %d, want %d", tc.user, tc.at, n, tc.want)
		}
	}
}

func testCountLiveSessionsByTenant(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	now := at(2 * time.Hour)
	sessionSet(t, s, w.u1, "a")
	sessionSet(t, s, w.u2, "b")
	sessionSet(t, s, w.u3, "c")
	for _, tc := range []struct {
		name string
		at   time.Time
		want map[string]int
	}{
		{"now", now, map[string]int{w.t1.ID: 6, w.t2.ID: 3}},
		{"before the expiries", at(30 * time.Minute), map[string]int{w.t1.ID: 10, w.t2.ID: 5}},
		{"after every expiry", at(11 * time.Hour), map[string]int{}},
	} {
		got, err := s.CountLiveSessionsByTenant(ctx, tc.at)
		ok(t, err, tc.name)
		equal(t, got, tc.want, "CountLiveSessionsByTenant "+tc.name)
	}
	// Inside a transaction it reads what the transaction wrote.
	err := s.Tx(ctx, func(q store.Queries) error {
		x := session("d-1", w.u3, now)
		if err := q.CreateSession(ctx, x); err != nil {
			return err
		}
		got, err := q.CountLiveSessionsByTenant(ctx, now)
		if err != nil {
			return err
		}
		equal(t, got, map[string]int{w.t1.ID: 6, w.t2.ID: 4}, "CountLiveSessionsByTenant in a transaction")
		return nil
	})
	ok(t, err, "tx")
}

func testRevokeUserSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	now := at(2 * time.Hour)
	a := sessionSet(t, s, w.u1, "a")
	b := sessionSet(t, s, w.u2, "b")

	n, err := s.RevokeUserSessions(ctx, w.u1.ID, now, "password change")
	ok(t, err, "revoke")
	if n != 3 {
		t.Fatalf("revoked %d sessions, want 3", n)
	}
	checkRevoked(t, s, now, "password change", a, b, "other user's session untouched")
	n, err = s.RevokeUserSessions(ctx, w.u1.ID, now, "again")
	ok(t, err, "revoke again")
	if n != 0 {
		t.Fatalf("second revoke revoked %d sessions, want 0", n)
	}
	if c, _ := s.CountLiveSessions(ctx, w.u1.ID, now); c != 0 {
		t.Fatalf("live sessions after revoke: %d", c)
	}
}

// checkRevoked checks a bulk revocation at now for reason: each session
// of revoked that was live at now carries it (the others are as they
// were), and each of untouched (what says why) is as it was.
func checkRevoked(t *testing.T, s store.Store, now time.Time, reason string, revoked, untouched []store.Session, what string) {
	t.Helper()
	ctx := context.Background()
	for _, x := range revoked {
		got, err := s.GetSession(ctx, x.ID)
		ok(t, err, "get "+x.ID)
		want := x
		if x.Live(now) {
			want.RevokedAt, want.RevokeReason = now, reason
		}
		equal(t, got, want, "after revoke: "+x.ID)
	}
	for _, x := range untouched {
		got, err := s.GetSession(ctx, x.ID)
		ok(t, err, "get "+x.ID)
		equal(t, got, x, what+": "+x.ID)
	}
}

func testPurgeSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	before := at(2 * time.Hour)
	var keep, purge []string
	add := func(id string, edit func(*store.Session), purgeable bool) {
		x := session(id, w.u1, at(0))
		x.IdleExpiresAt, x.AbsoluteExpiresAt = at(3*time.Hour), at(10*time.Hour)
		edit(&x)
		ok(t, s.CreateSession(ctx, x), "create "+id)
		if purgeable {
			purge = append(purge, id)
		} else {
			keep = append(keep, id)
		}
	}
	for i := range 3 {
		add(fmt.Sprintf("p-idle-%d", i), func(x *store.Session) { x.IdleExpiresAt = at(time.Hour) }, true)
		add(fmt.Sprintf("p-abs-%d", i), func(x *store.Session) { x.AbsoluteExpiresAt = at(time.Minute) }, true)
		add(fmt.Sprintf("p-rev-%d", i), func(x *store.Session) { x.RevokedAt = at(time.Hour) }, true)
	}
	add("k-live", func(*store.Session) {}, false)
	add("k-idle-at", func(x *store.Session) { x.IdleExpiresAt = before }, false) // not strictly before
	add("k-revoked-later", func(x *store.Session) { x.RevokedAt = at(150 * time.Minute) }, false)

	var counts []int
	for {
		n, err := s.PurgeSessions(ctx, before, 4)
		ok(t, err, "purge")
		counts = append(counts, n)
		if n < 4 {
			break
		}
		if len(counts) > 10 {
			t.Fatal("purge never finishes")
		}
	}
	equal(t, counts, []int{4, 4, 1}, "batch sizes for 9 purgeable sessions, limit 4")
	for _, id := range purge {
		_, err := s.GetSession(ctx, id)
		wantErr(t, err, store.ErrNotFound, "purged "+id)
	}
	left, err := s.ListSessions(ctx, store.SessionFilter{})
	ok(t, err, "list")
	equal(t, sortedBy(ids(left), func(s string) string { return s }), sortedBy(keep, func(s string) string { return s }), "kept")
}
