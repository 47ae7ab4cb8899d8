package engine

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/token"
)

// VerifyAccess checks an access token's signature, issuer, audience, time
// claims and kind. It does not consult the store: callers that must honour
// revocation also call SessionLive (the proxy caches that answer).
func (e *Engine) VerifyAccess(tok string) (*token.Claims, error) {
	c, err := e.parseSeen(tok, token.UseAccess)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(c.Audience, e.opts.Audience) {
		return nil, ErrInvalidToken
	}
	return c, nil
}

// SessionLive returns the session with that id if it is live now, or
// ErrTokenRevoked / ErrTokenExpired / ErrInvalidToken. A session of a
// client that is disabled (or gone) is not live while it is: its tokens
// are ErrTokenRevoked.
func (e *Engine) SessionLive(ctx context.Context, sid string) (store.Session, error) {
	s, err := e.st.GetSession(ctx, sid)
	if errors.Is(err, store.ErrNotFound) {
		return s, ErrInvalidToken
	} else if err != nil {
		return s, err
	}
	if err := checkSession(s, e.now()); err != nil {
		return s, err
	}
	return s, e.clientUsable(ctx, s.ClientID)
}

// Introspection is the server's view of a token (RFC 7662).
type Introspection struct {
	Active  bool
	Claims  *token.Claims
	Session store.Session // zero for client-credentials tokens
	// Username is the name of the user the token speaks for (RFC 7662
	// §2.2 username): the access token's preferred_username, or the user's
	// name now for a refresh token, which carries none. Empty for a
	// client's own token.
	Username string
}

// Introspect answers an RFC 7662 introspection request of an
// authenticated client: whether tok is active, and its claims when it is.
// A token of another tenant than the caller's is inactive to it, as any
// token the caller may not learn about (§2.2; tenants share nothing, not
// even whether a token of the other is live).
func (e *Engine) Introspect(ctx context.Context, caller AuthenticatedClient, tok string) (Introspection, error) {
	start := time.Now()
	in, tenantID, err := e.inspect(ctx, tok)
	e.metrics.observe(opIntrospect, in.Session.Service, start, err)
	if err != nil || !in.Active || tenantID != caller.TenantID {
		return Introspection{}, err
	}
	return in, nil
}

// Inspect reports whether a token the gateway issued is active, whatever
// its tenant: for a surface acting on the token it was handed (AGS
// sign-off), never for answering another party about it.
func (e *Engine) Inspect(ctx context.Context, tok string) (Introspection, error) {
	in, _, err := e.inspect(ctx, tok)
	return in, err
}

// inspect reports whether a token is active: validly signed, unexpired,
// and, for session tokens, backed by a live session (for refresh tokens:
// of the current generation, or the previous one within the grace window).
// It returns the id of the token's tenant: its session's, or for a
// client-credentials token its client's. An inactive token is not an
// error (RFC 7662 §2.2).
func (e *Engine) inspect(ctx context.Context, tok string) (Introspection, string, error) {
	c, err := e.parseSeen(tok, "")
	if err != nil {
		return Introspection{}, "", nil
	}
	if c.UseFor == token.UseAccess && !slices.Contains(c.Audience, e.opts.Audience) {
		// VerifyAccess's rule: an access token not for this gateway is
		// no access token of it, whoever asks.
		return Introspection{}, "", nil
	}
	if c.SessionID == "" {
		// Client-credentials access token: active while its client is.
		if c.UseFor != token.UseAccess {
			return Introspection{}, "", nil
		}
		if c.ClientID == "" {
			return Introspection{}, "", nil
		}
		cl, err := e.clientRecord(ctx, c.ClientID)
		if errors.Is(err, ErrTokenRevoked) {
			return Introspection{}, "", nil
		} else if err != nil {
			return Introspection{}, "", err
		}
		return Introspection{Active: true, Claims: c}, cl.TenantID, nil
	}
	s, err := e.SessionLive(ctx, c.SessionID)
	if err != nil {
		if errors.Is(err, ErrTokenRevoked) || errors.Is(err, ErrTokenExpired) || errors.Is(err, ErrInvalidToken) {
			return Introspection{}, "", nil
		}
		return Introspection{}, "", err
	}
	in := Introspection{Active: true, Claims: c, Session: s, Username: c.PreferredUsername}
	if c.UseFor == token.UseRefresh {
		if !e.refreshCurrent(c, s) {
			return Introspection{}, "", nil
		}
		u, err := e.st.GetUser(ctx, s.UserID)
		if err != nil {
			return Introspection{}, "", userByIDErr(err, s.UserID)
		}
		in.Username = u.Name
	}
	return in, s.TenantID, nil
}

func (e *Engine) refreshCurrent(c *token.Claims, s store.Session) bool {
	if subtle.ConstantTimeCompare([]byte(c.ID), []byte(e.refreshJTI(s.ID, c.Generation))) != 1 {
		return false
	}
	return c.Generation == s.Generation ||
		(s.Policy == store.PolicyRotating && c.Generation == s.Generation-1 && e.now().Sub(s.RotatedAt) <= e.opts.GraceWindow)
}

// RevokeToken ends the session behind an access or refresh token (RFC
// 7009). Access tokens can't be revoked one by one: revoking one ends its
// session, which stops its siblings at the proxy too. An invalid or
// unknown token is not an error (RFC 7009 §2.2). When clientID is set, the
// token must have been issued to that client.
func (e *Engine) RevokeToken(ctx context.Context, tok, clientID string) error {
	start := time.Now()
	err := e.revokeToken(ctx, tok, clientID)
	e.metrics.observe(opRevoke, "", start, err)
	return err
}

func (e *Engine) revokeToken(ctx context.Context, tok, clientID string) error {
	c, err := e.verify(tok)
	if err != nil || c.SessionID == "" {
		return nil
	}
	if c.UseFor == token.UseRefresh && subtle.ConstantTimeCompare([]byte(c.ID), []byte(e.refreshJTI(c.SessionID, c.Generation))) != 1 {
		return nil
	}
	if clientID != "" && c.ClientID != clientID {
		return withDetail(ErrUnauthorizedClient, "the token was issued to another client")
	}
	err = e.RevokeSession(ctx, c.SessionID, "revoked_by_client")
	if errors.Is(err, ErrUnknownSession) {
		return nil
	}
	return err
}

// RevokeSession revokes one session; revoking a dead session is a no-op.
func (e *Engine) RevokeSession(ctx context.Context, sid, reason string) error {
	return e.txLive(ctx, func(q store.Queries, lc liveChange) error {
		s, err := q.GetSessionForUpdate(ctx, sid)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w %q", ErrUnknownSession, sid)
		} else if err != nil {
			return err
		}
		if !s.RevokedAt.IsZero() {
			return nil
		}
		now := e.now()
		if s.Live(now) {
			lc.ended(s.TenantID, 1)
		}
		s.RevokedAt, s.RevokeReason = now, reason
		if err := q.UpdateSession(ctx, s); err != nil {
			return err
		}
		e.metrics.revoked.WithLabelValues(reason).Inc()
		return e.audit(ctx, q, store.AuditEvent{Type: "session.revoke", TenantID: s.TenantID, UserID: s.UserID, SessionID: s.ID,
			ClientID: s.ClientID, Detail: map[string]string{"reason": reason}})
	})
}

// RevokeUserSessions revokes every live session of a user.
func (e *Engine) RevokeUserSessions(ctx context.Context, userID, reason string) (int, error) {
	var n int
	err := e.txLive(ctx, func(q store.Queries, lc liveChange) error {
		return e.revokeUser(ctx, q, userID, reason, &n, lc)
	})
	return n, err
}

func (e *Engine) revokeUser(ctx context.Context, q store.Queries, userID, reason string, n *int, lc liveChange) error {
	u, err := q.GetUser(ctx, userID)
	if err != nil {
		return userByIDErr(err, userID)
	}
	if *n, err = q.RevokeUserSessions(ctx, userID, e.now(), reason); err != nil {
		return err
	}
	e.metrics.revoked.WithLabelValues(reason).Add(float64(*n))
	lc.ended(u.TenantID, *n)
	return e.audit(ctx, q, store.AuditEvent{Type: "session.revoke_all", TenantID: u.TenantID, UserID: userID,
		Detail: map[string]string{"reason": reason, "count": fmt.Sprint(*n)}})
}

// AuthenticatedClient is a client AuthenticateClient accepted, with the
// name of its tenant: the tenant its password and token-exchange grants
// sign users on to.
type AuthenticatedClient struct {
	store.Client
	Tenant string
}

// AuthenticateClient checks a client's credentials. A public client (no
// secret registered) authenticates by its id alone and must present no
// secret; a confidential client must present its secret.
func (e *Engine) AuthenticateClient(ctx context.Context, id, secret string) (AuthenticatedClient, error) {
	if id == "" {
		return AuthenticatedClient{}, ErrInvalidClient
	}
	// A client accepted on a cached record is at most clientCacheMaxAge
	// old; a refusal is always decided on the stored record.
	now := time.Now()
	if c, ok := e.clients.get(id, now); ok && clientAccepts(c.Client, secret, e.now()) {
		return c, nil
	}
	sc, err := e.st.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		e.clients.forget(id)
		return AuthenticatedClient{}, ErrInvalidClient
	} else if err != nil {
		return AuthenticatedClient{}, err
	}
	// A tenant keeps its name for life, so the name is remembered with
	// the client.
	t, err := e.st.GetTenant(ctx, sc.TenantID)
	if err != nil {
		return AuthenticatedClient{}, err
	}
	c := AuthenticatedClient{Client: sc, Tenant: t.Name}
	e.clients.put(c, now)
	if !clientAccepts(sc, secret, e.now()) {
		return AuthenticatedClient{}, ErrInvalidClient
	}
	return c, nil
}

// clientAccepts reports whether a client record authenticates with secret
// at now: a public client with none, a confidential one with its own, or
// with its previous one until the overlap of the last rotation ends.
func clientAccepts(c store.Client, secret string, now time.Time) bool {
	if c.Disabled {
		return false
	}
	if len(c.SecretHash) == 0 {
		return secret == ""
	}
	sum := sha256.Sum256([]byte(secret))
	current := subtle.ConstantTimeCompare(sum[:], c.SecretHash) == 1
	previous := len(c.PreviousSecretHash) > 0 && now.Before(c.PreviousSecretExpiresAt) &&
		subtle.ConstantTimeCompare(sum[:], c.PreviousSecretHash) == 1
	return current || previous
}

// ClientMayUse reports whether the client may use a grant type.
func ClientMayUse(c store.Client, grantType string) error {
	if !slices.Contains(c.GrantTypes, grantType) {
		return ErrUnauthorizedClient
	}
	return nil
}

// ClientCredentials mints an access token for a confidential client acting
// on its own behalf (RFC 6749 §4.4). No session and no refresh token.
func (e *Engine) ClientCredentials(ctx context.Context, c store.Client, scope string) (*Grant, error) {
	start := time.Now()
	g, err := e.clientCredentials(ctx, c, scope)
	e.metrics.observe(opClientCredentials, ServiceOAuth2, start, err)
	return g, err
}

func (e *Engine) clientCredentials(ctx context.Context, c store.Client, scope string) (*Grant, error) {
	if len(c.SecretHash) == 0 {
		return nil, ErrUnauthorizedClient
	}
	t, err := e.st.GetTenant(ctx, c.TenantID)
	if err != nil {
		return nil, err
	}
	if t.Disabled {
		return nil, ErrTenantDisabled
	}
	p, err := e.PolicyFor(ServiceOAuth2, t.Name)
	if err != nil {
		return nil, err
	}
	now := e.now()
	s := store.Session{ClientID: c.ID}
	// The client acts as itself: its sub is one no user can have, and it
	// has no user name (client_id names it).
	p.Subject = SubjectUserID
	tok, exp, err := e.mintAccess(now, t, store.User{ID: ClientSubjectPrefix + c.ID}, s, p, scope)
	if err != nil {
		return nil, err
	}
	e.metrics.signons.WithLabelValues("client_credentials", "ok").Inc()
	return &Grant{AccessToken: tok, AccessExpiresAt: exp, IssuedAt: now, Tenant: t, Client: c, Policy: p, Scope: scope}, nil
}
