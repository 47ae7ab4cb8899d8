package engine

import (
	"fmt"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

// The rules of a refresh, as pure functions of what the refresh
// transaction loaded: no store, no clock, no keys. The transaction in
// refresh.go only loads, asks these, and writes what they decided.

// refreshOutcome is what a refresh does to its session.
type refreshOutcome int

const (
	// refreshUnknown refuses the token as invalid: a generation the
	// session never had, or a session under no refresh policy.
	refreshUnknown refreshOutcome = iota
	// refreshRotate advances a rotating session to the next generation and
	// mints its refresh token.
	refreshRotate
	// refreshSlide renews a stable session: only the idle expiry slides;
	// its client keeps the refresh token it has.
	refreshSlide
	// refreshRetry answers the immediately previous rotating token within
	// the grace window: nothing is written and the current generation's
	// token, the successor already issued, is minted again byte for byte.
	refreshRetry
	// refreshReuse revokes the family: a superseded rotating token was
	// presented outside the grace window.
	refreshReuse
)

var outcomeNames = [...]string{"unknown generation", "rotate", "slide", "grace retry", "reuse"}

func (o refreshOutcome) String() string { return outcomeNames[o] }

// writes reports whether the decided session must be written.
func (o refreshOutcome) writes() bool {
	return o == refreshRotate || o == refreshSlide || o == refreshReuse
}

// mintsRefresh reports whether the answer carries a refresh token.
func (o refreshOutcome) mintsRefresh() bool { return o == refreshRotate || o == refreshRetry }

// decideRefresh is the rotation state machine of refresh tokens (RFC 9700
// §4.14.2, refresh token rotation with reuse detection). Given the session
// as stored, the generation of the presented token, the time, the session's
// policy and the grace window, it returns the session as it must be stored
// and what the refresh does:
//
//   - stable: the presented generation must be the session's; the idle
//     expiry slides (never past the absolute one) and no new refresh token
//     is issued;
//   - rotating, current generation: the next generation, stamped now;
//   - rotating, the immediately previous generation within grace of the
//     last rotation: the same successor again, nothing changed, so a client
//     whose response was lost retries without forking the family;
//   - rotating, any older generation (or the previous one after the grace
//     window): reuse, the session is revoked (RFC 9700 §4.14.2: the server
//     cannot tell the legitimate client from the attacker, so it revokes
//     the active token too);
//   - anything else: an unknown generation, refused.
//
// The caller has already refused revoked and expired sessions
// (checkSession); decideRefresh does not look at them again.
func decideRefresh(s store.Session, gen int64, now time.Time, p Policy, grace time.Duration) (store.Session, refreshOutcome) {
	switch s.Policy {
	case store.PolicyStable:
		if gen != s.Generation {
			return s, refreshUnknown
		}
		s.LastUsedAt = now
		s.IdleExpiresAt = minTime(now.Add(p.IdleTTL), s.AbsoluteExpiresAt)
		return s, refreshSlide
	case store.PolicyRotating:
		switch {
		case gen == s.Generation:
			s.Generation++
			s.RotatedAt = now
			s.LastUsedAt = now
			s.IdleExpiresAt = minTime(now.Add(p.IdleTTL), s.AbsoluteExpiresAt)
			return s, refreshRotate
		case gen == s.Generation-1 && now.Sub(s.RotatedAt) <= grace:
			return s, refreshRetry
		case gen < s.Generation:
			s.RevokedAt, s.RevokeReason = now, "reuse"
			return s, refreshReuse
		}
	}
	return s, refreshUnknown
}

// refusal is the error a refused outcome answers with; nil for the others.
func (o refreshOutcome) refusal(s store.Session, gen int64) error {
	switch o {
	case refreshReuse:
		return refused(ErrTokenReused, fmt.Sprintf("reuse: generation %d presented, the session is at generation %d; session revoked", gen, s.Generation))
	case refreshUnknown:
		return refused(ErrInvalidToken, fmt.Sprintf("generation %d is not one the %s session has (it is at %d)", gen, policyName(s.Policy), s.Generation))
	}
	return nil
}

func policyName(p store.RefreshPolicy) string {
	if p == "" {
		return "no-refresh"
	}
	return string(p)
}

// checkSession reports why a session can no longer be used, if it can't:
// revoked, or past its absolute or idle expiry.
func checkSession(s store.Session, now time.Time) error {
	switch {
	case !s.RevokedAt.IsZero():
		return refused(ErrTokenRevoked, "session revoked ("+s.RevokeReason+")")
	case !now.Before(s.AbsoluteExpiresAt):
		return refused(ErrTokenExpired, "session past its absolute expiry "+s.AbsoluteExpiresAt.UTC().Format(time.RFC3339))
	case !now.Before(s.IdleExpiresAt):
		return refused(ErrTokenExpired, "session idle since "+s.LastUsedAt.UTC().Format(time.RFC3339)+", past its idle expiry")
	}
	return nil
}

// matches reports whether the calling surface serves the session: its
// client (RFC 6749 §6: the refresh token is bound to the client it was
// issued to), its sign-on service and its refresh policy.
func (r RefreshRequest) matches(s store.Session) error {
	if r.ClientID != "" && r.ClientID != s.ClientID {
		e := withDetail(ErrInvalidToken, "refresh token was issued to another client")
		e.Debug = fmt.Sprintf("wrong client: session issued to client %q, presented by %.64q", s.ClientID, r.ClientID)
		return e
	}
	if r.Service != "" && r.Service != s.Service && !hasBase(s.Service, r.Service) {
		e := withDetail(ErrPolicyMismatch, fmt.Sprintf("refresh token belongs to sign-on service %q", s.Service))
		e.Debug = fmt.Sprintf("policy mismatch: session of service %q presented to %q", s.Service, r.Service)
		return e
	}
	if r.Policy != "" && r.Policy != s.Policy {
		e := withDetail(ErrPolicyMismatch, fmt.Sprintf("this endpoint takes %s refresh tokens; this one is %s and belongs to the %s sign-on", r.Policy, s.Policy, s.Service))
		e.Debug = fmt.Sprintf("policy mismatch: %s session of service %q presented where %s tokens are taken", s.Policy, s.Service, r.Policy)
		return e
	}
	return nil
}

// admits reports whether the session's user and tenant may still refresh
// through the calling surface.
func (r RefreshRequest) admits(u store.User, t store.Tenant) error {
	switch {
	case u.Disabled:
		return refused(ErrUserDisabled, "user disabled")
	case !u.RefreshEnabled:
		return refused(ErrRefreshNotEnabled, "user no longer refresh-enabled")
	case t.Disabled:
		return refused(ErrTenantDisabled, "tenant disabled")
	case r.Tenant != "" && r.Tenant != t.Name:
		return refused(ErrTenantMismatch, fmt.Sprintf("session of tenant %q presented for tenant %.64q", t.Name, r.Tenant))
	}
	return nil
}

func hasBase(service, base string) bool {
	return len(service) > len(base) && service[:len(base)] == base && service[len(base)] == ':'
}
