package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/tokengate/tokengate/internal/obs"
	"github.com/tokengate/tokengate/internal/store"
)

// SignOnRequest asks for a new session.
type SignOnRequest struct {
	Tenant   string // tenant name; "" means the default tenant
	Service  string // sign-on service, e.g. "oauth2", "core", "ags:password"
	ClientID string
	Username string
	Password string
	DeviceID string
	Scope    string
	Label    string // names an API token
}

// Tenant returns the tenant of that name ("" means the default one).
func (e *Engine) Tenant(ctx context.Context, name string) (store.Tenant, error) {
	if name == "" {
		name = e.opts.DefaultTenant
	}
	t, err := e.st.GetTenantByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return t, &Error{Kind: ErrUnknownTenant, Public: fmt.Sprintf("%s %q", ErrUnknownTenant, name)}
	}
	return t, err
}

// SignOnPassword authenticates a user by name and password and starts a
// session. A refresh-enabled user gets a refresh token under the service's
// policy; any other user gets an access token only.
func (e *Engine) SignOnPassword(ctx context.Context, req SignOnRequest) (*Grant, error) {
	g, err := e.signOnPassword(ctx, req)
	e.metrics.signons.WithLabelValues(serviceLabel(req.Service), result(err)).Inc()
	return g, err
}

func (e *Engine) signOnPassword(ctx context.Context, req SignOnRequest) (*Grant, error) {
	if req.Username == "" || req.Password == "" {
		return nil, invalidRequest("username and password are required")
	}
	t, err := e.Tenant(ctx, req.Tenant)
	if errors.Is(err, ErrUnknownTenant) {
		// Spend the time of a real check so tenants can't be enumerated.
		_, _ = e.hash.Verify(ctx, req.Password, "")
		return nil, ErrInvalidCredentials
	} else if err != nil {
		return nil, err
	}
	u, err := e.st.GetUserByName(ctx, t.ID, req.Username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	ok, herr := e.hash.Verify(ctx, req.Password, u.PasswordHash)
	if herr != nil {
		return nil, herr
	}
	if !ok {
		e.audit(ctx, e.st, store.AuditEvent{Type: "signon.failed", TenantID: t.ID, UserID: u.ID, ClientID: req.ClientID,
			Detail: map[string]string{"service": req.Service, "username": req.Username}})
		return nil, ErrInvalidCredentials
	}
	return e.StartSession(ctx, t, u, req)
}

// StartSession is the common end of every sign-on, after the user has been
// authenticated (by password, by an external identity provider, or as the
// owner of a new API token). It enforces the tenant's session limit, writes
// the session and its audit event in one transaction, and mints the tokens.
func (e *Engine) StartSession(ctx context.Context, t store.Tenant, u store.User, req SignOnRequest) (*Grant, error) {
	if t.Disabled {
		return nil, ErrTenantDisabled
	}
	if u.Disabled {
		return nil, ErrUserDisabled
	}
	if u.TenantID != t.ID {
		return nil, ErrTenantMismatch
	}
	p, err := e.PolicyFor(req.Service, t.Name)
	if err != nil {
		return nil, invalidRequest("%v", err)
	}
	now := e.now()
	s := store.Session{
		ID: e.newID(), TenantID: t.ID, UserID: u.ID, ClientID: req.ClientID,
		Service: p.Name, Policy: p.Refresh, RotatedAt: now, DeviceID: req.DeviceID, Label: req.Label,
		CreatedAt: now, LastUsedAt: now,
		IdleExpiresAt: now.Add(p.IdleTTL), AbsoluteExpiresAt: now.Add(p.AbsoluteTTL),
	}
	if !u.RefreshEnabled {
		if req.Label != "" {
			return nil, ErrRefreshNotEnabled
		}
		// Without refresh the session lives exactly as long as its access
		// token, so revocation and limits still apply to it.
		s.Policy = store.PolicyNone
		s.IdleExpiresAt = now.Add(p.AccessTTL)
		s.AbsoluteExpiresAt = s.IdleExpiresAt
	}
	err = e.st.Tx(ctx, func(q store.Queries) error {
		// u was read before the (slow) authentication: an administrator
		// may have disabled the user or changed the password since, ending
		// their sessions. Check again under the lock, so that no session
		// starts after that.
		cur, err := q.LockUser(ctx, u.ID)
		if err != nil {
			return err
		}
		switch {
		case cur.Disabled:
			return ErrUserDisabled
		case req.Password != "" && cur.PasswordHash != u.PasswordHash:
			return ErrInvalidCredentials
		case s.Policy != store.PolicyNone && !cur.RefreshEnabled:
			return ErrRefreshNotEnabled
		}
		if err := e.enforceLimit(ctx, q, t, u, s); err != nil {
			return err
		}
		if err := q.CreateSession(ctx, s); err != nil {
			return err
		}
		return e.audit(ctx, q, store.AuditEvent{Type: "signon", TenantID: t.ID, UserID: u.ID, SessionID: s.ID, ClientID: req.ClientID,
			Detail: map[string]string{"service": s.Service, "policy": string(s.Policy)}})
	})
	if err != nil {
		return nil, err
	}
	g := &Grant{IssuedAt: now, Session: s, User: u, Tenant: t, Policy: p, Scope: req.Scope}
	if g.AccessToken, g.AccessExpiresAt, err = e.mintAccess(now, t, u, s, p, req.Scope); err != nil {
		return nil, err
	}
	if s.Policy != store.PolicyNone {
		if g.RefreshToken, err = e.mintRefresh(t, u, s, p, req.Scope); err != nil {
			return nil, err
		}
	}
	e.log.InfoContext(ctx, "session started", "tenant", t.Name, "user", u.Name, "session", s.ID, "service", s.Service, "policy", string(s.Policy))
	return g, nil
}

// enforceLimit applies the tenant's per-user session limit inside the
// sign-on transaction (the user row is locked, so concurrent sign-ons of
// one user count one after another). API tokens (labelled sessions) are
// long-lived credentials a user manages on purpose: they neither count
// toward the limit nor are ended by it, so signing in on one more device
// never silently breaks a script's token, and creating one is not limited.
func (e *Engine) enforceLimit(ctx context.Context, q store.Queries, t store.Tenant, u store.User, s store.Session) error {
	if t.MaxSessions <= 0 || s.Label != "" {
		return nil
	}
	now := e.now()
	live, err := q.ListSessions(ctx, store.SessionFilter{UserID: u.ID, LiveAt: now}) // oldest first
	if err != nil {
		return err
	}
	live = slices.DeleteFunc(live, func(x store.Session) bool { return x.Label != "" })
	if len(live) < t.MaxSessions {
		return nil
	}
	if t.SessionLimitPolicy != store.LimitEndOldest {
		return withDetail(ErrSessionLimit, fmt.Sprintf("at most %d live sessions per user", t.MaxSessions))
	}
	for _, old := range live[:len(live)-t.MaxSessions+1] {
		old.RevokedAt, old.RevokeReason = now, "session_limit"
		if err := q.UpdateSession(ctx, old); err != nil {
			return err
		}
		e.metrics.revoked.WithLabelValues(old.RevokeReason).Inc()
		if err := e.audit(ctx, q, store.AuditEvent{Type: "session.revoke", TenantID: t.ID, UserID: u.ID, SessionID: old.ID,
			Detail: map[string]string{"reason": old.RevokeReason}}); err != nil {
			return err
		}
	}
	return nil
}

// audit appends an event stamped with the clock and the request's
// correlation id and address.
func (e *Engine) audit(ctx context.Context, q store.Queries, ev store.AuditEvent) error {
	info := obs.Request(ctx)
	ev.Time = e.now()
	ev.CorrelationID = info.CorrelationID
	ev.RemoteAddr = info.RemoteAddr
	err := q.AppendAudit(ctx, ev)
	if err != nil {
		e.log.ErrorContext(ctx, "audit append failed", "type", ev.Type, "err", err)
	}
	return err
}

func serviceLabel(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
