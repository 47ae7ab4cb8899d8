package engine

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
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
// read the family, check generation and expiry, write the successor. Under
// the rotating policy it returns a new refresh token; presenting a
// superseded one revokes the family, except the immediately previous token
// within the grace window, which gets the same successor again. Under the
// stable policy the token stays the same and only the idle expiry slides.
func (e *Engine) Refresh(ctx context.Context, req RefreshRequest) (*Grant, error) {
	g, service, err := e.refresh(ctx, req)
	e.metrics.refreshes.WithLabelValues(serviceLabel(service), result(err)).Inc()
	return g, err
}

func (e *Engine) refresh(ctx context.Context, req RefreshRequest) (*Grant, string, error) {
	if req.Token == "" {
		return nil, req.Service, invalidRequest("refresh token is required")
	}
	c, err := e.parse(req.Token, token.UseRefresh)
	if err != nil {
		return nil, req.Service, err
	}
	if c.SessionID == "" || subtle.ConstantTimeCompare([]byte(c.ID), []byte(e.refreshJTI(c.SessionID, c.Generation))) != 1 {
		return nil, req.Service, ErrInvalidToken
	}
	// The client the session was issued to (the token says which: its
	// claims are the session's) must be enabled, whichever surface asks.
	if err := e.clientUsable(ctx, c.ClientID); err != nil {
		return nil, req.Service, err
	}
	var (
		s      store.Session
		u      store.User
		t      store.Tenant
		p      Policy
		reused bool
		mintRT bool
	)
	now := e.now()
	err = e.st.Tx(ctx, func(q store.Queries) error {
		var err error
		if s, err = q.GetSessionForUpdate(ctx, c.SessionID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ErrInvalidToken
			}
			return err
		}
		if err := e.checkSession(s, now); err != nil {
			if errors.Is(err, ErrTokenRevoked) && s.RevokeReason == revokedUserDisabled {
				// Say why, while it is still true (AGS answers 403).
				if u, uerr := q.GetUser(ctx, s.UserID); uerr == nil && u.Disabled {
					return ErrUserDisabled
				}
			}
			return err
		}
		if err := req.matches(s); err != nil {
			return err
		}
		if u, err = q.GetUser(ctx, s.UserID); err != nil {
			return err
		}
		if u.Disabled {
			return ErrUserDisabled
		}
		if !u.RefreshEnabled {
			return ErrRefreshNotEnabled
		}
		if t, err = q.GetTenant(ctx, s.TenantID); err != nil {
			return err
		}
		if t.Disabled {
			return ErrTenantDisabled
		}
		if req.Tenant != "" && req.Tenant != t.Name {
			return ErrTenantMismatch
		}
		if p, err = e.PolicyFor(s.Service, t.Name); err != nil {
			return err
		}
		switch s.Policy {
		case store.PolicyStable:
			if c.Generation != s.Generation {
				return ErrInvalidToken
			}
			s.LastUsedAt = now
			s.IdleExpiresAt = minTime(now.Add(p.IdleTTL), s.AbsoluteExpiresAt)
			return q.UpdateSession(ctx, s)
		case store.PolicyRotating:
			switch {
			case c.Generation == s.Generation:
				s.Generation++
				s.RotatedAt = now
				s.LastUsedAt = now
				s.IdleExpiresAt = minTime(now.Add(p.IdleTTL), s.AbsoluteExpiresAt)
				mintRT = true
				return q.UpdateSession(ctx, s)
			case c.Generation == s.Generation-1 && now.Sub(s.RotatedAt) <= e.opts.GraceWindow:
				// A retry after a lost response: the same successor again,
				// nothing written, no fork of the family.
				mintRT = true
				return nil
			case c.Generation < s.Generation:
				reused = true
				s.RevokedAt, s.RevokeReason = now, "reuse"
				if err := q.UpdateSession(ctx, s); err != nil {
					return err
				}
				return e.audit(ctx, q, store.AuditEvent{Type: "refresh.reuse", TenantID: s.TenantID, UserID: s.UserID, SessionID: s.ID,
					ClientID: s.ClientID, Detail: map[string]string{"presented_generation": fmt.Sprint(c.Generation), "current_generation": fmt.Sprint(s.Generation)}})
			default:
				return ErrInvalidToken
			}
		default:
			return ErrInvalidToken
		}
	})
	if err != nil {
		return nil, s.Service, err
	}
	if reused {
		e.metrics.reuse.Inc()
		e.metrics.revoked.WithLabelValues("reuse").Inc()
		e.log.WarnContext(ctx, "refresh token reuse: session revoked", "session", s.ID, "user", u.Name, "generation", c.Generation)
		return nil, s.Service, ErrTokenReused
	}
	g := &Grant{IssuedAt: now, Session: s, User: u, Tenant: t, Policy: p, Scope: c.Scope}
	if g.AccessToken, g.AccessExpiresAt, err = e.mintAccess(now, t, u, s, p, c.Scope); err != nil {
		return nil, s.Service, err
	}
	if mintRT {
		if g.RefreshToken, err = e.mintRefresh(t, u, s, p, c.Scope); err != nil {
			return nil, s.Service, err
		}
	}
	return g, s.Service, nil
}

// checkSession reports why a session can no longer be used, if it can't.
func (e *Engine) checkSession(s store.Session, now time.Time) error {
	switch {
	case !s.RevokedAt.IsZero():
		return ErrTokenRevoked
	case !now.Before(s.AbsoluteExpiresAt), !now.Before(s.IdleExpiresAt):
		return ErrTokenExpired
	}
	return nil
}

func (r RefreshRequest) matches(s store.Session) error {
	if r.ClientID != "" && r.ClientID != s.ClientID {
		return fmt.Errorf("%w: refresh token was issued to another client", ErrInvalidToken)
	}
	if r.Service != "" && r.Service != s.Service && !hasBase(s.Service, r.Service) {
		return fmt.Errorf("%w: refresh token belongs to sign-on service %q", ErrPolicyMismatch, s.Service)
	}
	if r.Policy != "" && r.Policy != s.Policy {
		return fmt.Errorf("%w: this endpoint takes %s refresh tokens; this one is %s and belongs to the %s sign-on", ErrPolicyMismatch, r.Policy, s.Policy, s.Service)
	}
	return nil
}

func hasBase(service, base string) bool {
	return len(service) > len(base) && service[:len(base)] == base && service[len(base)] == ':'
}
