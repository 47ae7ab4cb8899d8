package engine

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"hash"
	"slices"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/token"
)

// CodeExchange is a token request of the authorization code grant (RFC
// 6749 §4.1.3, RFC 7636 §4.5) by an authenticated client.
type CodeExchange struct {
	Client      AuthenticatedClient
	Code        string
	RedirectURI string
	Verifier    string
}

// revokedCodeReplay is the revoke reason of a session whose authorization
// code was presented again.
const revokedCodeReplay = "code_replay"

// ExchangeCode redeems an authorization code, in one transaction: the code
// must be unused, unexpired, issued to this client for this redirect URI,
// its PKCE verifier must match its challenge (and there must be none when
// it has none, RFC 9700 §2.1.1), and the browser sign-in that approved it
// must still be live. It starts a session like every sign-on (limits,
// audit), holding a rotating refresh token when offline_access was granted
// and the user is refresh-enabled, and an access token only otherwise; and
// it mints an ID token when openid was granted.
//
// A code presented again is refused, and the session it started is
// revoked (RFC 6749 §4.1.2: the code may have been stolen).
func (e *Engine) ExchangeCode(ctx context.Context, x CodeExchange) (*Grant, error) {
	start := time.Now()
	g, err := e.exchangeCode(ctx, x)
	e.metrics.signons.WithLabelValues(ServiceCode, result(err)).Inc()
	e.metrics.observe(opSignOnCode, ServiceCode, start, err)
	return g, err
}

func (e *Engine) exchangeCode(ctx context.Context, x CodeExchange) (*Grant, error) {
	if x.Code == "" {
		return nil, InvalidRequest("code is required")
	}
	if x.Verifier != "" && !validVerifier(x.Verifier) {
		return nil, withDetail(ErrInvalidGrant, "code_verifier must be 43 to 128 unreserved characters")
	}
	var (
		rec      store.AuthCode
		t        store.Tenant
		u        store.User
		s        store.Session
		p        Policy
		replayed bool
	)
	now := e.now()
	err := e.txLive(ctx, func(q store.Queries, lc liveChange) error {
		var err error
		replayed = false
		if rec, err = q.GetAuthCodeForUpdate(ctx, codeHash(x.Code)); errors.Is(err, store.ErrNotFound) {
			return refused(ErrInvalidGrant, "unknown authorization code")
		} else if err != nil {
			return err
		}
		if !rec.UsedAt.IsZero() {
			replayed = true
			return e.revokeReplayed(ctx, q, lc, rec, x.Client.ID, now)
		}
		if err := checkCode(rec, x, now); err != nil {
			return err
		}
		b, err := q.GetBrowserSession(ctx, rec.BrowserSessionID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !b.Live(now)) {
			return withDetail(ErrInvalidGrant, "the sign-in that approved the code has ended")
		} else if err != nil {
			return err
		}
		if t, err = q.GetTenant(ctx, rec.TenantID); err != nil {
			return err
		}
		if u, err = q.GetUser(ctx, rec.UserID); err != nil {
			return userByIDErr(err, rec.UserID)
		}
		req := SignOnRequest{Tenant: t.Name, Service: ServiceCode, ClientID: rec.ClientID, Scope: rec.Scope,
			method: browserAuthMethod(b), sessionID: e.newID(), browserSessionID: b.ID,
			noRefresh: !slices.Contains(strings.Fields(rec.Scope), ScopeOfflineAccess)}
		if p, s, err = e.newSession(t, u, req); err != nil {
			return err
		}
		if err := e.insertSession(ctx, q, lc, t, u, req, s); err != nil {
			return err
		}
		rec.UsedAt, rec.SessionID = now, s.ID
		return q.UpdateAuthCode(ctx, rec)
	})
	if err != nil {
		return nil, err
	}
	if replayed {
		e.metrics.revoked.WithLabelValues(revokedCodeReplay).Inc()
		e.log.WarnContext(ctx, "authorization code replayed", "client", x.Client.ID, "session", rec.SessionID)
		return nil, withDetail(ErrInvalidGrant, "the authorization code was used already; what it issued is revoked")
	}
	g, err := e.mintGrant(ctx, t, u, s, p, rec.Scope)
	if err != nil {
		return nil, err
	}
	if slices.Contains(strings.Fields(rec.Scope), ScopeOpenID) {
		g.IDToken, err = e.mintIDToken(idTokenInput{now: g.IssuedAt, tenant: t, user: u, policy: p, clientID: rec.ClientID,
			sid: rec.BrowserSessionID, nonce: rec.Nonce, authTime: rec.AuthTime, scopes: strings.Fields(rec.Scope), accessToken: g.AccessToken})
		if err != nil {
			return nil, err
		}
	}
	return g, nil
}

// checkCode is the rule of a code's redemption, apart from its use: its
// lifetime, client, redirect URI and PKCE verifier.
func checkCode(rec store.AuthCode, x CodeExchange, now time.Time) error {
	switch {
	case !now.Before(rec.ExpiresAt):
		return withDetail(ErrInvalidGrant, "the authorization code has expired")
	case rec.ClientID != x.Client.ID:
		return withDetail(ErrInvalidGrant, "the authorization code was issued to another client")
	case rec.RedirectURI != x.RedirectURI:
		return withDetail(ErrInvalidGrant, "redirect_uri is not the one of the authorization request")
	case rec.CodeChallenge == "" && x.Verifier != "":
		return withDetail(ErrInvalidGrant, "code_verifier sent for a code requested without code_challenge")
	case rec.CodeChallenge != "" && x.Verifier == "":
		return withDetail(ErrInvalidGrant, "code_verifier is required")
	case rec.CodeChallenge != "" && subtle.ConstantTimeCompare([]byte(S256Challenge(x.Verifier)), []byte(rec.CodeChallenge)) != 1:
		return withDetail(ErrInvalidGrant, "code_verifier does not match the code_challenge")
	}
	return nil
}

// revokeReplayed revokes the session a used code started, and audits the
// replay; it is committed, and the caller refuses the request after.
func (e *Engine) revokeReplayed(ctx context.Context, q store.Queries, lc liveChange, rec store.AuthCode, presenter string, now time.Time) error {
	if rec.SessionID != "" {
		s, err := q.GetSessionForUpdate(ctx, rec.SessionID)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case s.RevokedAt.IsZero():
			if s.Live(now) {
				lc.ended(s.TenantID, 1)
			}
			s.RevokedAt, s.RevokeReason = now, revokedCodeReplay
			if err := q.UpdateSession(ctx, s); err != nil {
				return err
			}
		}
	}
	return e.audit(ctx, q, store.AuditEvent{Type: "authorize.code_replay", TenantID: rec.TenantID, UserID: rec.UserID,
		SessionID: rec.SessionID, ClientID: rec.ClientID, Detail: map[string]string{"presented_by": presenter}})
}

// browserAuthMethod is how the user of a browser sign-in authenticated,
// as a session records it.
func browserAuthMethod(b store.BrowserSession) store.AuthMethod {
	if strings.HasPrefix(b.AuthMethod, AuthOIDCPrefix) {
		return store.AuthExternal
	}
	return store.AuthPassword
}

// idTokenInput is what an ID token says.
type idTokenInput struct {
	now         time.Time
	tenant      store.Tenant
	user        store.User
	policy      Policy
	clientID    string
	sid         string // the browser sign-in's id (OpenID Connect Front-Channel Logout §3)
	nonce       string
	authTime    time.Time
	scopes      []string
	accessToken string
}

// mintIDToken signs an ID token (OpenID Connect Core §2) with the keys
// that sign access tokens, typ JWT: iss, sub (the access token's),
// aud and azp the client, exp (the access token's lifetime), iat,
// auth_time, nonce when the request had one, at_hash of the access token
// (§3.1.3.6, with the hash of the signing algorithm), sid, and the claims
// the profile and email scopes allow (§5.4).
func (e *Engine) mintIDToken(in idTokenInput) (string, error) {
	extra := map[string]any{"auth_time": in.authTime.Unix(), "azp": in.clientID}
	if in.nonce != "" {
		extra["nonce"] = in.nonce
	}
	c := &token.Claims{
		Issuer: e.opts.Issuer, Subject: subject(in.policy, in.user), Audience: token.Audience{in.clientID},
		Expiry: in.now.Add(in.policy.AccessTTL).Unix(), IssuedAt: in.now.Unix(), ID: e.newID(),
		SessionID: in.sid, Tenant: in.tenant.Name, Extra: extra,
	}
	for k, v := range userClaims(in.user, in.scopes) {
		if k == "preferred_username" {
			c.PreferredUsername = v.(string)
			continue
		}
		extra[k] = v
	}
	alg := e.ring.SigningAlg()
	for range 2 { // a key of another algorithm may take over in between: hash again
		extra["at_hash"] = atHash(alg, in.accessToken)
		tok, used, err := e.ring.SignID(c)
		if err != nil || used == alg {
			return tok, err
		}
		alg = used
	}
	return "", errors.New("engine: the signing key changed twice while an ID token was signed")
}

// refreshIDToken is the ID token of a refresh of a session that an
// authorization code granted openid (OpenID Connect Core §12.2): the same
// iss, sub, aud and auth_time (the browser sign-in's, while its record is
// kept; the session's start after), no nonce. Relying parties such as
// Sync Gateway's _oidc_refresh read their new ID token from it. Any other
// refresh has none.
func (e *Engine) refreshIDToken(ctx context.Context, g *Grant) (string, error) {
	s := g.Session
	scopes := strings.Fields(g.Scope)
	if s.Service != ServiceCode || !slices.Contains(scopes, ScopeOpenID) {
		return "", nil
	}
	authTime := s.CreatedAt
	if s.BrowserSessionID != "" {
		if b, err := e.st.GetBrowserSession(ctx, s.BrowserSessionID); err == nil {
			authTime = b.AuthTime
		} else if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	}
	return e.mintIDToken(idTokenInput{now: g.IssuedAt, tenant: g.Tenant, user: g.User, policy: g.Policy, clientID: s.ClientID,
		sid: s.BrowserSessionID, authTime: authTime, scopes: scopes, accessToken: g.AccessToken})
}

// atHash is the left half of the hash of an access token, with the hash
// of the ID token's signing algorithm (OpenID Connect Core §3.1.3.6; for
// EdDSA, Ed25519's SHA-512).
func atHash(alg, accessToken string) string {
	var h hash.Hash
	switch alg {
	case "EdDSA", "RS512", "ES512", "PS512":
		h = sha512.New()
	case "RS384", "ES384", "PS384":
		h = sha512.New384()
	default:
		h = sha256.New()
	}
	h.Write([]byte(accessToken))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// userClaims are the standard claims of u that scopes allow (OpenID
// Connect Core §5.4): profile gives preferred_username, name and
// updated_at, email gives email. sub is not among them.
func userClaims(u store.User, scopes []string) map[string]any {
	out := map[string]any{}
	if slices.Contains(scopes, ScopeProfile) {
		out["preferred_username"] = u.Name
		if u.DisplayName != "" {
			out["name"] = u.DisplayName
		}
		if !u.UpdatedAt.IsZero() {
			out["updated_at"] = u.UpdatedAt.Unix()
		}
	}
	if slices.Contains(scopes, ScopeEmail) && u.Email != "" {
		out["email"] = u.Email
		// tokengate does not verify addresses (§5.1: false when not).
		out["email_verified"] = false
	}
	return out
}

// UserInfo answers the UserInfo endpoint (OpenID Connect Core §5.3) for
// an access token: valid, of a live session, granted the openid scope. It
// returns sub and the claims the token's scopes allow.
func (e *Engine) UserInfo(ctx context.Context, accessToken string) (map[string]any, error) {
	c, err := e.VerifyAccess(accessToken)
	if err != nil {
		return nil, err
	}
	if c.SessionID == "" {
		return nil, withDetail(ErrInvalidToken, "a client's own token speaks for no user")
	}
	scopes := strings.Fields(c.Scope)
	if !slices.Contains(scopes, ScopeOpenID) {
		return nil, withDetail(ErrInvalidToken, "the access token was not granted the openid scope")
	}
	s, err := e.SessionLive(ctx, c.SessionID)
	if err != nil {
		return nil, err
	}
	u, err := e.st.GetUser(ctx, s.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, refused(ErrTokenRevoked, "the user no longer exists")
	} else if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, ErrUserDisabled
	}
	out := userClaims(u, scopes)
	out["sub"] = c.Subject
	return out, nil
}
