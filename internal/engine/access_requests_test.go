package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/obs"
	"github.com/tokengate/tokengate/internal/store"
)

func TestAccessRequestApproved(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", false)
	admin, err := e.eng.User(e.ctx, "", "admin")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.eng.RequestAPIAccess(e.ctx, u.ID, "  ")
	wantErr(t, err, engine.ErrInvalidRequest)
	_, err = e.eng.RequestAPIAccess(e.ctx, u.ID, strings.Repeat("x", 501))
	wantErr(t, err, engine.ErrInvalidRequest)

	r, err := e.eng.RequestAPIAccess(e.ctx, u.ID, "nightly risk export")
	if err != nil || r.Status != store.AccessPending || r.Reason != "nightly risk export" {
		t.Fatalf("request = %+v, %v", r, err)
	}
	_, err = e.eng.RequestAPIAccess(e.ctx, u.ID, "again")
	wantErr(t, err, engine.ErrAlreadyExists)
	if got, _ := e.eng.UserByID(e.ctx, u.ID); got.RefreshRequestedAt.IsZero() {
		t.Fatal("RefreshRequestedAt not set while pending")
	}

	// Only an administrator decides.
	_, err = e.eng.DecideAccessRequest(e.ctx, u.ID, r.ID, true, "")
	wantErr(t, err, engine.ErrUnknownAccessRequest)
	e.clock.Advance(time.Hour)
	d, err := e.eng.DecideAccessRequest(e.ctx, admin.ID, r.ID, true, "ok for the export")
	if err != nil || d.Status != store.AccessApproved || d.DecidedBy != admin.ID || !d.DecidedAt.Equal(e.clock.Now()) {
		t.Fatalf("approve = %+v, %v", d, err)
	}
	got, _ := e.eng.UserByID(e.ctx, u.ID)
	if !got.RefreshEnabled || !got.RefreshRequestedAt.IsZero() {
		t.Fatalf("after approval: refresh %v, requested %v", got.RefreshEnabled, got.RefreshRequestedAt)
	}
	_, err = e.eng.DecideAccessRequest(e.ctx, admin.ID, r.ID, false, "changed my mind")
	wantErr(t, err, engine.ErrInvalidRequest)
	_, err = e.eng.RequestAPIAccess(e.ctx, u.ID, "more")
	wantErr(t, err, engine.ErrInvalidRequest) // already enabled

	list, err := e.eng.AccessRequests(e.ctx, engine.AccessRequestQuery{UserID: u.ID})
	if err != nil || len(list) != 1 || list[0].Note != "ok for the export" {
		t.Fatalf("user's requests = %+v, %v", list, err)
	}
	evs, _ := e.st.ListAudit(e.ctx, store.AuditFilter{UserID: u.ID, Type: "access.approved"})
	if len(evs) != 1 || evs[0].Detail["decided_by"] != admin.ID {
		t.Fatalf("audit = %+v", evs)
	}
}

func TestAccessRequestDeniedAndWithdrawn(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", false)
	bob := e.user("bob", false)
	admin, _ := e.eng.User(e.ctx, "", "admin")
	r, err := e.eng.RequestAPIAccess(e.ctx, u.ID, "scripts")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.eng.DecideAccessRequest(e.ctx, admin.ID, r.ID, false, "")
	wantErr(t, err, engine.ErrInvalidRequest) // a denial says why
	d, err := e.eng.DecideAccessRequest(e.ctx, admin.ID, r.ID, false, "use the shared export")
	if err != nil || d.Status != store.AccessDenied || d.Note != "use the shared export" {
		t.Fatalf("deny = %+v, %v", d, err)
	}
	if got, _ := e.eng.UserByID(e.ctx, u.ID); got.RefreshEnabled {
		t.Fatal("a denial enabled refresh")
	}

	// After a decision the user may ask again, and withdraw.
	r2, err := e.eng.RequestAPIAccess(e.ctx, u.ID, "scripts, really")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.eng.WithdrawAccessRequest(e.ctx, bob.ID, r2.ID)
	wantErr(t, err, engine.ErrUnknownAccessRequest) // not bob's
	w, err := e.eng.WithdrawAccessRequest(e.ctx, u.ID, r2.ID)
	if err != nil || w.Status != store.AccessWithdrawn {
		t.Fatalf("withdraw = %+v, %v", w, err)
	}
	_, err = e.eng.DecideAccessRequest(e.ctx, admin.ID, r2.ID, true, "")
	wantErr(t, err, engine.ErrInvalidRequest)
	_, err = e.eng.WithdrawAccessRequest(e.ctx, u.ID, "nope")
	wantErr(t, err, engine.ErrUnknownAccessRequest)
	pending, _ := e.eng.AccessRequests(e.ctx, engine.AccessRequestQuery{Status: store.AccessPending})
	if len(pending) != 0 {
		t.Fatalf("pending = %+v", pending)
	}
}

func TestUserSessionsViewAndRevokeOwn(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", true)
	bob := e.user("bob", true)
	ctx := obs.WithRequest(context.Background(), obs.RequestInfo{RemoteAddr: "198.51.100.4"})
	g, err := e.eng.SignOnPassword(ctx, engine.SignOnRequest{Service: "oauth2", ClientID: engine.DefaultClientID, Username: "alice", Password: password, DeviceID: "phone"})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second) // the listing is oldest first
	api, _ := e.eng.CreateAPIToken(e.ctx, engine.APITokenRequest{User: u.ID, Label: "laptop", ByAdministrator: true})
	gb := e.signOn("bob", "oauth2")

	vs, err := e.eng.UserSessions(e.ctx, u.ID)
	if err != nil || len(vs) != 2 {
		t.Fatalf("UserSessions = %+v, %v", vs, err)
	}
	if vs[0].ID != g.Session.ID || vs[0].RemoteAddr != "198.51.100.4" || vs[0].DeviceID != "phone" || vs[1].Label != "laptop" {
		t.Fatalf("views = %+v", vs)
	}
	wantErr(t, e.eng.RevokeSessionOf(e.ctx, u.ID, gb.Session.ID), engine.ErrUnknownSession)
	if _, err := e.refresh(gb.RefreshToken); err != nil {
		t.Fatalf("bob's session was revoked by alice: %v", err)
	}
	if err := e.eng.RevokeSessionOf(e.ctx, u.ID, api.Session.ID); err != nil {
		t.Fatal(err)
	}
	if s := e.session(api.Session.ID); s.RevokeReason != "api_token_revoked" {
		t.Fatalf("revoke reason %q", s.RevokeReason)
	}
	if vs, _ := e.eng.UserSessions(e.ctx, bob.ID); len(vs) != 1 {
		t.Fatalf("bob's sessions = %d", len(vs))
	}
}

func TestAuditLogPages(t *testing.T) {
	e := newEnv(t)
	e.user("alice", false)
	for range 7 {
		e.clock.Advance(time.Second)
		e.signOn("alice", "oauth2")
	}
	var seen int
	q := engine.AuditQuery{User: "alice", Type: "signon", Limit: 3}
	for page := 0; ; page++ {
		evs, err := e.eng.AuditLog(e.ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		seen += len(evs)
		if len(evs) < 3 {
			break
		}
		last := evs[len(evs)-1]
		q.Before = store.AuditCursor{Time: last.Time, ID: last.ID}
		if page > 5 {
			t.Fatal("paging never ends")
		}
	}
	if seen != 7 {
		t.Fatalf("paged through %d sign-ons, want 7", seen)
	}
	_, err := e.eng.AuditLog(e.ctx, engine.AuditQuery{User: "nobody"})
	wantErr(t, err, engine.ErrUnknownUser)

	admin, _ := e.eng.User(e.ctx, "", "admin")
	k, err := e.eng.RotateKey(e.ctx, admin.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	evs, _ := e.eng.AuditLog(e.ctx, engine.AuditQuery{Type: "key.rotate"})
	if len(evs) != 1 || evs[0].Detail["kid"] != k.ID || evs[0].UserID != admin.ID {
		t.Fatalf("key.rotate audit = %+v", evs)
	}
	if keys := e.eng.Keys(); len(keys) != 2 || keys[1].ID != k.ID {
		t.Fatalf("keys = %+v", keys)
	}
}
