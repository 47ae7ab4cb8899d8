package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"
	"unicode/utf8"

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
	// method is how the user authenticated; the engine's own sign-ons set
	// it (a surface can't claim a password sign-on it did not check).
	method store.AuthMethod
	// sessionID, browserSessionID and noRefresh are set by the
	// authorization code grant: the session's id chosen in advance, the
	// browser sign-in that approved the code, and no refresh token
	// without offline_access.
	sessionID, browserSessionID string
	noRefresh                   bool
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
// policy; any other user gets an access token only. Guessing is throttled
// per account and per client address (throttle.go): a throttled attempt
// is refused with ErrThrottled, saying how long to wait (RetryAfter),
// before any password is checked.
func (e *Engine) SignOnPassword(ctx context.Context, req SignOnRequest) (*Grant, error) {
	start := time.Now()
	g, err := e.signOnPassword(ctx, req)
	e.metrics.signons.WithLabelValues(serviceLabel(req.Service), result(err)).Inc()
	e.metrics.observe(opSignOnPassword, req.Service, start, err)
	return g, err
}

func (e *Engine) signOnPassword(ctx context.Context, req SignOnRequest) (*Grant, error) {
	t, u, err := e.authenticatePassword(ctx, req)
	if err != nil {
		return nil, err
	}
	req.method = store.AuthPassword
	return e.StartSession(ctx, t, u, req)
}

// authenticatePassword is the password check of every password sign-on,
// the token dialects' (SignOnPassword) and the web UI's (SignInBrowser,
// ConfirmPassword): throttled per account and per client address, it
// returns the tenant and the user whose name and password req gives, or
// ErrInvalidCredentials alike for an unknown tenant, an unknown user and a
// wrong password.
func (e *Engine) authenticatePassword(ctx context.Context, req SignOnRequest) (store.Tenant, store.User, error) {
	if req.Username == "" || req.Password == "" {
		return store.Tenant{}, store.User{}, invalidRequest("username and password are required")
	}
	a := passwordAttempt{service: req.Service, address: addressKey(obs.Request(ctx).RemoteAddr)}
	t, err := e.Tenant(ctx, req.Tenant)
	switch {
	case errors.Is(err, ErrUnknownTenant):
		a.reason = "unknown_tenant"
	case err != nil:
		return store.Tenant{}, store.User{}, err
	case checkName("user", req.Username) != nil:
		// A name no user can have: nothing of it is written anywhere,
		// though the attempt still counts against its address.
		a.reason = "invalid_name"
	default:
		a.account = accountKey(t.ID, req.Username)
	}
	// A cheap refusal first, so that a throttled flood never waits for a
	// hash worker; then the deciding check, under the worker slot.
	if err := e.throttled(ctx, &a); err != nil {
		return store.Tenant{}, store.User{}, err
	}
	if err := e.hash.acquire(ctx); err != nil {
		return store.Tenant{}, store.User{}, err
	}
	u, err := e.checkPassword(ctx, &a, t, req)
	if a.held {
		e.hash.release()
	}
	return t, u, err
}

// passwordAttempt is one password sign-on on its way through the
// throttle.
type passwordAttempt struct {
	service          string
	account, address string // failure-record keys; "" for none
	reason           string // why it fails before any user is read
	known            failures
	held             bool // holds a hash worker slot
}

// throttled loads the attempt's failure records and refuses it when it
// must wait.
func (e *Engine) throttled(ctx context.Context, a *passwordAttempt) error {
	keys := make([]string, 0, 2)
	for _, k := range []string{a.account, a.address} {
		if k != "" {
			keys = append(keys, k)
		}
	}
	recs, err := e.st.GetFailures(ctx, keys...)
	if err != nil {
		return err
	}
	a.known = failures{anonymous: a.address == ""}
	for _, r := range recs {
		switch r.Key {
		case a.account:
			a.known.account = r
		case a.address:
			a.known.address = r
		}
	}
	if wait := throttleWait(e.opts.Throttle, a.known, e.now()); wait > 0 {
		e.metrics.failedSignOn(a.service, "throttled")
		return throttledError(wait)
	}
	return nil
}

// checkPassword decides a password sign-on and returns its user; the
// caller holds a hash worker slot, which a success gives back before the
// caller goes on (to start a session).
func (e *Engine) checkPassword(ctx context.Context, a *passwordAttempt, t store.Tenant, req SignOnRequest) (store.User, error) {
	a.held = true
	if err := e.throttled(ctx, a); err != nil {
		return store.User{}, err
	}
	var u store.User
	if a.account != "" {
		var err error
		if u, err = e.st.GetUserByName(ctx, t.ID, req.Username); errors.Is(err, store.ErrNotFound) {
			a.reason = "unknown_user"
		} else if err != nil {
			return store.User{}, err
		}
	}
	// Unknown tenants, invalid names, unknown users and users without a
	// password all spend a hash (of a dummy), so the time tells nothing.
	ok, err := e.hash.verifyHeld(req.Password, u.PasswordHash)
	if err != nil {
		return store.User{}, err
	}
	if !ok {
		if a.reason == "" {
			a.reason = "wrong_password"
		}
		return store.User{}, e.recordFailure(ctx, a, t, u, req)
	}
	e.hash.release()
	a.held = false
	if a.known.account.Count > 0 {
		// The owner is in: the account's run of failures ends. The
		// address keeps its own, or a guesser holding one account could
		// wipe its address's record.
		if err := e.st.ClearFailures(ctx, a.account); err != nil {
			e.log.WarnContext(ctx, "clear sign-on failures", "err", err)
		}
	}
	return u, nil
}

// recordFailure counts a failed password under the attempt's keys and
// audits it, in one transaction, and returns ErrInvalidCredentials.
func (e *Engine) recordFailure(ctx context.Context, a *passwordAttempt, t store.Tenant, u store.User, req SignOnRequest) error {
	e.metrics.failedSignOn(a.service, a.reason)
	now := e.now()
	p := e.opts.Throttle
	err := e.st.Tx(ctx, func(q store.Queries) error {
		if a.account != "" {
			if _, err := q.RecordFailure(ctx, a.account, now, now.Add(-p.Account.Forget)); err != nil {
				return err
			}
		}
		if a.address != "" {
			if _, err := q.RecordFailure(ctx, a.address, now, now.Add(-p.Address.Forget)); err != nil {
				return err
			}
		}
		if a.account == "" {
			return nil // nothing of an invalid name or an unknown tenant's is kept
		}
		return e.audit(ctx, q, store.AuditEvent{Type: "signon.failed", TenantID: t.ID, UserID: u.ID, ClientID: req.ClientID,
			Detail: map[string]string{"service": req.Service, "username": req.Username, "reason": a.reason}})
	})
	if err != nil {
		return err
	}
	return ErrInvalidCredentials
}

// StartSession is the common end of every sign-on, after the user has been
// authenticated (by password, by an external identity provider, or as the
// owner of a new API token). It enforces the tenant's session limit, writes
// the session and its audit event in one transaction, and mints the tokens.
func (e *Engine) StartSession(ctx context.Context, t store.Tenant, u store.User, req SignOnRequest) (*Grant, error) {
	p, s, err := e.newSession(t, u, req)
	if err != nil {
		return nil, err
	}
	err = e.txLive(ctx, func(q store.Queries, lc liveChange) error {
		return e.insertSession(ctx, q, lc, t, u, req, s)
	})
	if err != nil {
		return nil, err
	}
	return e.mintGrant(ctx, t, u, s, p, req.Scope)
}

// newSession checks that t and u may sign on and returns the policy and
// the session a sign-on of req would start now.
func (e *Engine) newSession(t store.Tenant, u store.User, req SignOnRequest) (Policy, store.Session, error) {
	if t.Disabled {
		return Policy{}, store.Session{}, ErrTenantDisabled
	}
	if u.Disabled {
		return Policy{}, store.Session{}, ErrUserDisabled
	}
	if u.TenantID != t.ID {
		return Policy{}, store.Session{}, ErrTenantMismatch
	}
	p, err := e.PolicyFor(req.Service, t.Name)
	if err != nil {
		return Policy{}, store.Session{}, invalidRequest("%v", err)
	}
	now := e.now()
	id := req.sessionID
	if id == "" {
		id = e.newID()
	}
	s := store.Session{
		ID: id, TenantID: t.ID, UserID: u.ID, ClientID: req.ClientID,
		Service: p.Name, Policy: p.Refresh, RotatedAt: now, DeviceID: req.DeviceID, Label: req.Label,
		AuthMethod: req.method, CreatedAt: now, LastUsedAt: now,
		IdleExpiresAt: now.Add(p.IdleTTL), AbsoluteExpiresAt: now.Add(p.AbsoluteTTL),
		BrowserSessionID: req.browserSessionID,
	}
	if !u.RefreshEnabled || req.noRefresh {
		if req.Label != "" {
			return Policy{}, store.Session{}, ErrRefreshNotEnabled
		}
		// Without refresh the session lives exactly as long as its access
		// token, so revocation and limits still apply to it.
		s.Policy = store.PolicyNone
		s.IdleExpiresAt = now.Add(p.AccessTTL)
		s.AbsoluteExpiresAt = s.IdleExpiresAt
	}
	e.live.name(t)
	return p, s, nil
}

// insertSession is the body of a sign-on's transaction: it checks the
// user again under its lock, applies the session limit, and writes the
// session and its audit event.
func (e *Engine) insertSession(ctx context.Context, q store.Queries, lc liveChange, t store.Tenant, u store.User, req SignOnRequest, s store.Session) error {
	// u was read before the (slow) authentication: an administrator may
	// have disabled the user or changed the password since, ending their
	// sessions. Check again under the lock, so that no session starts
	// after that.
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
	if err := e.enforceLimit(ctx, q, t, u, s, lc); err != nil {
		return err
	}
	if err := q.CreateSession(ctx, s); err != nil {
		return err
	}
	lc.started(t)
	return e.audit(ctx, q, store.AuditEvent{Type: "signon", TenantID: t.ID, UserID: u.ID, SessionID: s.ID, ClientID: req.ClientID,
		Detail: map[string]string{"service": s.Service, "policy": string(s.Policy)}})
}

// mintGrant mints the tokens of a session just started.
func (e *Engine) mintGrant(ctx context.Context, t store.Tenant, u store.User, s store.Session, p Policy, scope string) (*Grant, error) {
	now := s.CreatedAt
	g := &Grant{IssuedAt: now, Session: s, User: u, Tenant: t, Policy: p, Scope: scope}
	var err error
	if g.AccessToken, g.AccessExpiresAt, err = e.mintAccess(now, t, u, s, p, scope); err != nil {
		return nil, err
	}
	if s.Policy != store.PolicyNone {
		if g.RefreshToken, err = e.mintRefresh(t, u, s, p, scope); err != nil {
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
// never silently breaks a script's token. They have a limit of their own,
// MaxAPITokens live ones, which refuses the next.
func (e *Engine) enforceLimit(ctx context.Context, q store.Queries, t store.Tenant, u store.User, s store.Session, lc liveChange) error {
	now := e.now()
	if s.Label != "" {
		live, err := q.ListSessions(ctx, store.SessionFilter{UserID: u.ID, LiveAt: now, Labelled: true})
		if err != nil {
			return err
		}
		if len(live) >= e.opts.MaxAPITokens {
			return withDetail(ErrAPITokenLimit, fmt.Sprintf("at most %d live API tokens per user; revoke one first", e.opts.MaxAPITokens))
		}
		return nil
	}
	if t.MaxSessions <= 0 {
		return nil
	}
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
		lc.ended(t.ID, 1)
		if err := e.audit(ctx, q, store.AuditEvent{Type: "session.revoke", TenantID: t.ID, UserID: u.ID, SessionID: old.ID,
			Detail: map[string]string{"reason": old.RevokeReason}}); err != nil {
			return err
		}
	}
	return nil
}

// audit appends an event stamped with the clock and the request's
// correlation id and address, bounded (boundAudit).
func (e *Engine) audit(ctx context.Context, q store.Queries, ev store.AuditEvent) error {
	info := obs.Request(ctx)
	ev.Time = e.now()
	ev.CorrelationID = info.CorrelationID
	ev.RemoteAddr = info.RemoteAddr
	err := q.AppendAudit(ctx, boundAudit(ev))
	if err != nil {
		obs.Failure(ctx, e.log.With("type", ev.Type), slog.LevelError, "audit append failed", err)
	}
	return err
}

// Bounds of an audit event, so that no event, whatever a caller put in
// it, is more than a few kilobytes.
const (
	auditFieldMax   = 256 // bytes of each field and detail value
	auditKeyMax     = 64  // bytes of a detail key
	auditDetailKeys = 16  // detail entries
)

// boundAudit cuts every field of ev to its bound (at a character
// boundary) and keeps at most auditDetailKeys detail entries, the first
// by key, marking the event "truncated" when it dropped any.
func boundAudit(ev store.AuditEvent) store.AuditEvent {
	for _, f := range []*string{&ev.Type, &ev.TenantID, &ev.UserID, &ev.SessionID, &ev.ClientID, &ev.CorrelationID, &ev.RemoteAddr} {
		*f = cut(*f, auditFieldMax)
	}
	if ev.Detail == nil {
		return ev
	}
	keys := slices.Sorted(maps.Keys(ev.Detail))
	d := make(map[string]string, min(len(keys), auditDetailKeys))
	for i, k := range keys {
		if i == auditDetailKeys-1 && len(keys) > auditDetailKeys {
			d["truncated"] = fmt.Sprint(len(keys) - i)
			break
		}
		d[cut(k, auditKeyMax)] = cut(ev.Detail[k], auditFieldMax)
	}
	ev.Detail = d
	return ev
}

// cut returns s cut to at most n bytes, not inside a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func serviceLabel(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
