package engine

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/token"
)

// RefreshRequest presents a refresh token. The optional fields narrow
// which sessions the calling surface serves.
type RefreshRequest struct {
	Token string
	// ClientID, when set, must be the client the session was issued to
	// (RFC 6749 §6).
	ClientID string
	// Tenant, when set, must be the session's tenant name.
	Tenant string
	// Service, when set, must be the session's service (or its base:
	// "ags" matches "ags:password").
	Service string
	// Policy, when set, must be the session's refresh policy: stable-only
	// surfaces refuse rotating tokens, whose clients expect a new one.
	Policy store.RefreshPolicy
}

// Refresh renews a session from its refresh token, in one transaction:
// read the family, decide (decideRefresh), write the successor. Under the
// rotating policy it returns a new refresh token; presenting a superseded
// one revokes the family, except the immediately previous token within the
// grace window, which gets the same successor again. Under the stable
// policy the token stays the same and only the idle expiry slides.
//
// A refresh token is valid by the server's state alone: its session and
// generation, under the engine's own MAC key; its iss claim is not checked
// (parse), so a change of the public URL does not end live sessions. Every
// refusal is logged at info with its reason (logRefusal).
func (e *Engine) Refresh(ctx context.Context, req RefreshRequest) (*Grant, error) {
	start := time.Now()
	g, who, err := e.refresh(ctx, req)
	e.metrics.refreshes.WithLabelValues(serviceLabel(who.service), result(err)).Inc()
	e.metrics.observe(opRefresh, who.service, start, err)
	if err != nil {
		e.logRefusal(ctx, who, err)
	}
	return g, err
}

// refreshSubject is what a refresh learnt about whose token it was, for
// metrics and the log of a refusal.
type refreshSubject struct {
	service, session, user, tenant string
}

func (e *Engine) refresh(ctx context.Context, req RefreshRequest) (*Grant, refreshSubject, error) {
	who := refreshSubject{service: req.Service}
	if req.Token == "" {
		return nil, who, invalidRequest("refresh token is required")
	}
	c, err := e.parse(req.Token, token.UseRefresh)
	if err != nil {
		// Refused before the session was read: an expired or misused token
		// that the engine did sign still says, for the log, whose it was.
		if c, verr := e.verify(req.Token); verr == nil {
			who.session, who.user, who.tenant = c.SessionID, c.Username(), c.Tenant
		}
		return nil, who, err
	}
	who.session, who.user, who.tenant = c.SessionID, c.Username(), c.Tenant
	if c.SessionID == "" || subtle.ConstantTimeCompare([]byte(c.ID), []byte(e.refreshJTI(c.SessionID, c.Generation))) != 1 {
		return nil, who, refused(ErrInvalidToken, "refresh token id does not match its session and generation")
	}
	// The client the session was issued to (the token says which: its
	// claims are the session's) must be enabled, whichever surface asks.
	if err := e.clientUsable(ctx, c.ClientID); err != nil {
		return nil, who, err
	}
	now := e.now()
	var r refreshState
	err = e.st.Tx(ctx, func(q store.Queries) error {
		var err error
		r, err = e.refreshTx(ctx, q, req, c, now)
		return err
	})
	if r.s.ID != "" {
		who.service = r.s.Service
	}
	if r.u.ID != "" {
		who.user, who.tenant = r.u.Name, r.t.Name
	}
	if err != nil {
		return nil, who, err
	}
	if err := r.outcome.refusal(r.s, c.Generation); err != nil {
		if r.outcome == refreshReuse {
			e.metrics.reuse.Inc()
			e.metrics.revoked.WithLabelValues("reuse").Inc()
			e.live.apply(liveChange{r.s.TenantID: -1})
		}
		return nil, who, err
	}
	g := &Grant{IssuedAt: now, Session: r.s, User: r.u, Tenant: r.t, Policy: r.p, Scope: c.Scope}
	if g.AccessToken, g.AccessExpiresAt, err = e.mintAccess(now, r.t, r.u, r.s, r.p, c.Scope); err != nil {
		return nil, who, err
	}
	if r.outcome.mintsRefresh() {
		if g.RefreshToken, err = e.mintRefresh(r.t, r.u, r.s, r.p, c.Scope); err != nil {
			return nil, who, err
		}
	}
	if g.IDToken, err = e.refreshIDToken(ctx, g); err != nil {
		return nil, who, err
	}
	return g, who, nil
}

// refreshState is what the refresh transaction loaded and decided: the
// session as written (as found, when nothing was), its user, tenant and
// policy, and the outcome.
type refreshState struct {
	s       store.Session
	u       store.User
	t       store.Tenant
	p       Policy
	outcome refreshOutcome
}

// refreshTx is the body of the refresh transaction for the verified claims
// c: it loads the session, its user and tenant, asks the pure rules
// (refreshdecision.go) and writes what they decided. A refused outcome is
// decided, not failed: a reuse commits the revocation and is refused after
// the commit. What it loaded is returned with an error too, for the log.
func (e *Engine) refreshTx(ctx context.Context, q store.Queries, req RefreshRequest, c *token.Claims, now time.Time) (r refreshState, err error) {
	if r.s, err = q.GetSessionForUpdate(ctx, c.SessionID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return r, refused(ErrInvalidToken, "unknown session")
		}
		return r, err
	}
	if err := checkSession(r.s, now); err != nil {
		if errors.Is(err, ErrTokenRevoked) && r.s.RevokeReason == revokedUserDisabled {
			// Say why, while it is still true (AGS answers 403).
			if u, uerr := q.GetUser(ctx, r.s.UserID); uerr == nil && u.Disabled {
				return r, refused(ErrUserDisabled, "session revoked when its user was disabled")
			}
		}
		return r, err
	}
	if err := req.matches(r.s); err != nil {
		return r, err
	}
	if r.u, err = q.GetUser(ctx, r.s.UserID); err != nil {
		return r, err
	}
	if r.t, err = q.GetTenant(ctx, r.s.TenantID); err != nil {
		return r, err
	}
	if err := req.admits(r.u, r.t); err != nil {
		return r, err
	}
	if r.p, err = e.PolicyFor(r.s.Service, r.t.Name); err != nil {
		return r, err
	}
	next, outcome := decideRefresh(r.s, c.Generation, now, r.p, e.opts.GraceWindow)
	if outcome.writes() {
		if err := q.UpdateSession(ctx, next); err != nil {
			return r, err
		}
	}
	if outcome == refreshReuse {
		if err := e.audit(ctx, q, store.AuditEvent{Type: "refresh.reuse", TenantID: r.s.TenantID, UserID: r.s.UserID, SessionID: r.s.ID,
			ClientID: r.s.ClientID, Detail: map[string]string{"presented_generation": fmt.Sprint(c.Generation), "current_generation": fmt.Sprint(r.s.Generation)}}); err != nil {
			return r, err
		}
	}
	r.s, r.outcome = next, outcome
	return r, nil
}

// logRefusal says why a refresh was refused, so that a client's bare
// "Unable to refresh token." can be explained from the log: the reason, and
// the session, user and tenant where known; the logger adds the request's
// correlation id. The token itself is never logged. A reuse is a warning:
// it may be a stolen token. Failures that are not refusals (the store) are
// the surface's to log as errors.
func (e *Engine) logRefusal(ctx context.Context, who refreshSubject, err error) {
	public := PublicText(err)
	if public == "" || errors.Is(err, ErrUnavailable) {
		return // a failure, not a refusal: the surface logs it
	}
	level := slog.LevelInfo
	if errors.Is(err, ErrTokenReused) {
		level = slog.LevelWarn
	}
	attrs := make([]slog.Attr, 0, 6)
	attrs = append(attrs, slog.String("reason", DebugText(err)), slog.String("error", public))
	for _, a := range [...]struct{ k, v string }{{"session", who.session}, {"user", who.user}, {"tenant", who.tenant}, {"service", who.service}} {
		if a.v != "" {
			attrs = append(attrs, slog.String(a.k, a.v))
		}
	}
	e.log.LogAttrs(ctx, level, "refresh refused", attrs...)
}
