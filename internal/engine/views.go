package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/token"
)

// The views of this file serve the web UI's pages: a user's own sessions
// with where they began, the audit log by page, and the signing keys.

// SessionView is a live session with the address its sign-on came from
// (from its audit event; empty when that event is gone).
type SessionView struct {
	store.Session
	RemoteAddr string
}

// UserSessions lists a user's live token sessions, oldest first, API
// tokens included (their Label is set).
func (e *Engine) UserSessions(ctx context.Context, userID string) ([]SessionView, error) {
	ss, err := e.st.ListSessions(ctx, store.SessionFilter{UserID: userID, LiveAt: e.now()})
	if err != nil || len(ss) == 0 {
		return nil, err
	}
	// One read of the user's sign-on events since the oldest live session
	// began gives every session's address.
	evs, err := e.st.ListAudit(ctx, store.AuditFilter{UserID: userID, Type: "signon", Since: ss[0].CreatedAt})
	if err != nil {
		return nil, err
	}
	addr := make(map[string]string, len(evs))
	for _, ev := range evs {
		addr[ev.SessionID] = ev.RemoteAddr
	}
	out := make([]SessionView, len(ss))
	for i, s := range ss {
		out[i] = SessionView{Session: s, RemoteAddr: addr[s.ID]}
	}
	return out, nil
}

// RevokeSessionOf revokes a session when it belongs to userID (a user
// ends only their own): ErrUnknownSession otherwise, as for an id that
// does not exist.
func (e *Engine) RevokeSessionOf(ctx context.Context, userID, sid string) error {
	s, err := e.st.GetSession(ctx, sid)
	if errors.Is(err, store.ErrNotFound) || (err == nil && s.UserID != userID) {
		return fmt.Errorf("%w %q", ErrUnknownSession, sid)
	} else if err != nil {
		return err
	}
	reason := "revoked_by_user"
	if s.Label != "" {
		reason = "api_token_revoked"
	}
	return e.RevokeSession(ctx, sid, reason)
}

// AuditQuery selects a page of a tenant's audit log for AuditLog.
type AuditQuery struct {
	Tenant string // tenant name; "" = the default tenant
	User   string // user name; "" = every user
	Type   string // event type; "" = every type
	// Since and Until bound the events' time: Since <= time < Until.
	Since, Until time.Time
	// Before continues a listing after the last event of the previous
	// page (zero: from the newest).
	Before store.AuditCursor
	Limit  int // 0: 50
}

// AuditLog lists a page of a tenant's audit events, newest first.
func (e *Engine) AuditLog(ctx context.Context, aq AuditQuery) ([]store.AuditEvent, error) {
	t, err := e.Tenant(ctx, aq.Tenant)
	if err != nil {
		return nil, err
	}
	f := store.AuditFilter{TenantID: t.ID, Type: aq.Type, Since: aq.Since, Until: aq.Until, Before: aq.Before, Limit: aq.Limit}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	if aq.User != "" {
		u, err := e.User(ctx, t.Name, aq.User)
		if err != nil {
			return nil, err
		}
		f.UserID = u.ID
	}
	return e.st.ListAudit(ctx, f)
}

// Keys describes the signing keys as of the ring's last load.
func (e *Engine) Keys() []token.KeyInfo { return e.ring.Keys() }

// RotateKey creates a new signing key that signs after activateIn (a
// negative value: the ring's publish lead) and records who asked.
func (e *Engine) RotateKey(ctx context.Context, byUserID string, activateIn time.Duration) (token.KeyRecord, error) {
	k, err := e.ring.Rotate(ctx, activateIn)
	if err != nil {
		return k, err
	}
	ev := store.AuditEvent{Type: "key.rotate", UserID: byUserID, Detail: map[string]string{"kid": k.ID, "alg": k.Alg}}
	if byUserID != "" {
		if u, err := e.st.GetUser(ctx, byUserID); err == nil {
			ev.TenantID = u.TenantID
		}
	}
	return k, e.audit(ctx, e.st, ev)
}
