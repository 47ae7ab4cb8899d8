package engine

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/obs"
	"github.com/tokengate/tokengate/internal/store"
)

// A browser session is the web UI's sign-in: server-side state in the
// store, so any node serves it, found by the SHA-256 of a random token the
// browser keeps in a cookie. It is not a token session: it mints no token
// and counts toward no session limit. It records when and how the user
// authenticated (AuthTime, AuthMethod) and when they last gave their
// password (PasswordAt), which the rules that want a recent password read,
// and which an OAuth 2.0 authorization endpoint reads for max_age and
// prompt=login (OpenID Connect Core 1.0 §3.1.2.1).

// ErrBrowserSessionEnded is the browser session's error. It is an alias
// of a sentinel every surface maps already (as ErrExternalNotAllowed is):
// only the web UI returns it, and it tells it apart.
var (
	// ErrBrowserSessionEnded: the cookie names no live browser session
	// (signed out, expired, ended by a password change or by "sign out
	// everywhere", or never existed). It matches ErrTokenExpired.
	ErrBrowserSessionEnded error = &Error{Kind: ErrTokenExpired, Public: "your sign-in has ended; please sign in again"}
)

// AuthOIDCPrefix starts the AuthMethod of a browser session signed in
// through an external issuer: "oidc:" + the issuer's id. A password
// sign-in's is store.AuthPassword.
const AuthOIDCPrefix = "oidc:"

// browserTouchEvery is how stale LastSeenAt may grow before a request
// writes it (and slides the idle expiry): a page view does not cost a
// write each time.
const browserTouchEvery = time.Minute

// BrowserSignIn is a new browser session and the token its cookie carries.
// The token is never stored; only its SHA-256 is.
type BrowserSignIn struct {
	Token string
	BrowserPrincipal
}

// BrowserPrincipal is who uses a live browser session.
type BrowserPrincipal struct {
	Session store.BrowserSession
	User    store.User
	Tenant  store.Tenant
}

// SignInBrowser checks a user's name and password on the same path as
// every password sign-on (SignOnPassword) and starts a browser session.
// An unknown user and a wrong password both give ErrInvalidCredentials.
func (e *Engine) SignInBrowser(ctx context.Context, tenant, username, password string) (*BrowserSignIn, error) {
	req := SignOnRequest{Tenant: tenant, Service: ServiceWeb, Username: username, Password: password}
	t, u, err := e.authenticatePassword(ctx, req)
	if err == nil {
		var b *BrowserSignIn
		b, err = e.startBrowser(ctx, t, u, string(store.AuthPassword), true)
		e.metrics.signons.WithLabelValues(ServiceWeb, result(err)).Inc()
		return b, err
	}
	e.metrics.signons.WithLabelValues(ServiceWeb, result(err)).Inc()
	return nil, err
}

// SignInBrowserExternal starts a browser session for an external identity
// (verified by the caller: the web UI's OpenID Connect login) of the
// issuer with id issuerID, linking or creating its local user on first use
// as SignOnExternal does.
func (e *Engine) SignInBrowserExternal(ctx context.Context, tenant, issuerID string, id ExternalIdentity) (*BrowserSignIn, error) {
	t, err := e.externalTenant(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	u, err := e.externalUser(ctx, t, id)
	if err != nil {
		return nil, err
	}
	b, err := e.startBrowser(ctx, t, u, AuthOIDCPrefix+issuerID, false)
	e.metrics.signons.WithLabelValues(ServiceWeb, result(err)).Inc()
	return b, err
}

// ServiceWeb names the web UI's sign-ins in audit events and metrics.
const ServiceWeb = "web"

func (e *Engine) startBrowser(ctx context.Context, t store.Tenant, u store.User, method string, byPassword bool) (*BrowserSignIn, error) {
	if t.Disabled {
		return nil, ErrTenantDisabled
	}
	if u.Disabled {
		return nil, ErrUserDisabled
	}
	tok, hash, err := e.newBrowserToken()
	if err != nil {
		return nil, err
	}
	now := e.now()
	info := obs.Request(ctx)
	b := store.BrowserSession{
		ID: e.newID(), TokenHash: hash, TenantID: t.ID, UserID: u.ID, AuthMethod: method, AuthTime: now,
		RemoteAddr: info.RemoteAddr, UserAgent: truncate(info.UserAgent, 256),
		CreatedAt: now, LastSeenAt: now,
		IdleExpiresAt: now.Add(e.opts.BrowserIdleTTL), AbsoluteExpiresAt: now.Add(e.opts.BrowserAbsoluteTTL),
	}
	if byPassword {
		b.PasswordAt = now
	}
	err = e.st.Tx(ctx, func(q store.Queries) error {
		// As in StartSession: the user was read before the slow password
		// check, and may have been disabled or given a new password since.
		cur, err := q.LockUser(ctx, u.ID)
		if err != nil {
			return userByIDErr(err, u.ID)
		}
		if cur.Disabled {
			return ErrUserDisabled
		}
		if byPassword && cur.PasswordHash != u.PasswordHash {
			return ErrInvalidCredentials
		}
		u = cur
		if err := q.CreateBrowserSession(ctx, b); err != nil {
			return err
		}
		return e.audit(ctx, q, store.AuditEvent{Type: "browser.signin", TenantID: t.ID, UserID: u.ID,
			Detail: map[string]string{"method": method, "browser_session": b.ID}})
	})
	if err != nil {
		return nil, err
	}
	e.log.InfoContext(ctx, "browser signed in", "tenant", t.Name, "user", u.Name, "browser_session", b.ID, "method", method)
	return &BrowserSignIn{Token: tok, BrowserPrincipal: BrowserPrincipal{Session: b, User: u, Tenant: t}}, nil
}

// newBrowserToken returns a random cookie token of 256 bits and its hash.
func (e *Engine) newBrowserToken() (string, []byte, error) {
	var raw [32]byte
	if _, err := io.ReadFull(e.rand, raw[:]); err != nil {
		return "", nil, err
	}
	tok := base64.RawURLEncoding.EncodeToString(raw[:])
	return tok, browserTokenHash(tok), nil
}

func browserTokenHash(tok string) []byte {
	sum := sha256.Sum256([]byte(tok))
	return sum[:]
}

// BrowserSession returns the principal of the live browser session whose
// cookie token is tok, or ErrBrowserSessionEnded. A session in use has its
// idle expiry slid forward (never past its absolute expiry).
func (e *Engine) BrowserSession(ctx context.Context, tok string) (BrowserPrincipal, error) {
	if tok == "" || len(tok) > 128 {
		return BrowserPrincipal{}, ErrBrowserSessionEnded
	}
	b, err := e.st.GetBrowserSessionByToken(ctx, browserTokenHash(tok))
	if errors.Is(err, store.ErrNotFound) {
		return BrowserPrincipal{}, ErrBrowserSessionEnded
	} else if err != nil {
		return BrowserPrincipal{}, err
	}
	now := e.now()
	if !b.Live(now) {
		return BrowserPrincipal{}, ErrBrowserSessionEnded
	}
	u, err := e.st.GetUser(ctx, b.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return BrowserPrincipal{}, ErrBrowserSessionEnded
	} else if err != nil {
		return BrowserPrincipal{}, err
	}
	t, err := e.st.GetTenant(ctx, b.TenantID)
	if err != nil {
		return BrowserPrincipal{}, err
	}
	if u.Disabled || t.Disabled {
		return BrowserPrincipal{}, ErrBrowserSessionEnded
	}
	if now.Sub(b.LastSeenAt) >= browserTouchEvery {
		b.LastSeenAt = now
		b.IdleExpiresAt = minTime(now.Add(e.opts.BrowserIdleTTL), b.AbsoluteExpiresAt)
		if err := e.st.UpdateBrowserSession(ctx, b); err != nil {
			return BrowserPrincipal{}, err
		}
	}
	return BrowserPrincipal{Session: b, User: u, Tenant: t}, nil
}

// SignOutBrowser ends the browser session whose cookie token is tok. An
// unknown or ended one is no error: signing out twice is signing out.
func (e *Engine) SignOutBrowser(ctx context.Context, tok string) error {
	if tok == "" || len(tok) > 128 {
		return nil
	}
	b, err := e.st.GetBrowserSessionByToken(ctx, browserTokenHash(tok))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	return e.endBrowser(ctx, b.ID, "", "signed_out")
}

// EndBrowserSession ends the browser session with that id. When userID is
// set the session must be that user's (a user ends only their own);
// otherwise it is ErrUnknownSession, as for an id that does not exist.
func (e *Engine) EndBrowserSession(ctx context.Context, userID, id string) error {
	return e.endBrowser(ctx, id, userID, "ended_by_user")
}

func (e *Engine) endBrowser(ctx context.Context, id, userID, reason string) error {
	return e.txLive(ctx, func(q store.Queries, lc liveChange) error {
		b, err := q.GetBrowserSession(ctx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && userID != "" && b.UserID != userID) {
			return fmt.Errorf("%w %q", ErrUnknownSession, id)
		} else if err != nil {
			return err
		}
		if !b.RevokedAt.IsZero() {
			return nil
		}
		now := e.now()
		b.RevokedAt, b.RevokeReason = now, reason
		if err := q.UpdateBrowserSession(ctx, b); err != nil {
			return err
		}
		detail := map[string]string{"reason": reason, "browser_session": b.ID}
		if !e.opts.SignOutKeepsSessions {
			// The sessions the sign-in's authorization codes started
			// (the relying parties' tokens) end with it.
			n, err := q.RevokeBrowserSessionSessions(ctx, b.ID, now, "browser_"+reason)
			if err != nil {
				return err
			}
			lc.ended(b.TenantID, n)
			e.metrics.revoked.WithLabelValues("browser_" + reason).Add(float64(n))
			detail["sessions_ended"] = fmt.Sprint(n)
		}
		return e.audit(ctx, q, store.AuditEvent{Type: "browser.signout", TenantID: b.TenantID, UserID: b.UserID, Detail: detail})
	})
}

// BrowserSessions lists a user's live browser sessions, oldest first.
func (e *Engine) BrowserSessions(ctx context.Context, userID string) ([]store.BrowserSession, error) {
	return e.st.ListBrowserSessions(ctx, store.BrowserSessionFilter{UserID: userID, LiveAt: e.now()})
}

// SignedOut counts what SignOutEverywhere ended.
type SignedOut struct {
	Browsers int // browser sessions, the caller's own included
	Sessions int // token sessions
}

// SignOutEverywhere ends, in one transaction, every live browser session
// and every live token session of a user, except their API tokens: those
// are credentials the user manages one by one on purpose (a script's
// token survives signing out of a lost laptop), and are revoked each on
// its own.
func (e *Engine) SignOutEverywhere(ctx context.Context, userID string) (SignedOut, error) {
	var out SignedOut
	err := e.st.Tx(ctx, func(q store.Queries) error {
		u, err := q.GetUser(ctx, userID)
		if err != nil {
			return userByIDErr(err, userID)
		}
		now := e.now()
		if out.Browsers, err = q.RevokeUserBrowserSessions(ctx, userID, now, "signed_out_everywhere"); err != nil {
			return err
		}
		live, err := q.ListSessions(ctx, store.SessionFilter{UserID: userID, LiveAt: now})
		if err != nil {
			return err
		}
		for _, s := range live {
			if s.Label != "" {
				continue
			}
			s.RevokedAt, s.RevokeReason = now, "signed_out_everywhere"
			if err := q.UpdateSession(ctx, s); err != nil {
				return err
			}
			out.Sessions++
		}
		e.metrics.revoked.WithLabelValues("signed_out_everywhere").Add(float64(out.Sessions))
		return e.audit(ctx, q, store.AuditEvent{Type: "session.revoke_all", TenantID: u.TenantID, UserID: userID,
			Detail: map[string]string{"reason": "signed_out_everywhere", "count": fmt.Sprint(out.Sessions),
				"browsers": fmt.Sprint(out.Browsers)}})
	})
	return out, err
}

// ConfirmPassword checks the password of a browser session's user again,
// on the same path as every password sign-on (so the same throttling and
// refusal apply), and records it as the session's PasswordAt.
func (e *Engine) ConfirmPassword(ctx context.Context, p BrowserPrincipal, password string) (BrowserPrincipal, error) {
	if _, _, err := e.authenticatePassword(ctx, SignOnRequest{Tenant: p.Tenant.Name, Service: ServiceWeb,
		Username: p.User.Name, Password: password}); err != nil {
		return p, err
	}
	err := e.st.Tx(ctx, func(q store.Queries) error {
		b, err := q.GetBrowserSession(ctx, p.Session.ID)
		if err != nil {
			return err
		}
		if !b.Live(e.now()) {
			return ErrBrowserSessionEnded
		}
		b.PasswordAt, b.AuthTime, b.AuthMethod = e.now(), e.now(), string(store.AuthPassword)
		if err := q.UpdateBrowserSession(ctx, b); err != nil {
			return err
		}
		p.Session = b
		return e.audit(ctx, q, store.AuditEvent{Type: "browser.reauth", TenantID: b.TenantID, UserID: b.UserID,
			Detail: map[string]string{"browser_session": b.ID}})
	})
	return p, err
}

// CreateAPITokenInBrowser creates an API token for the user of a browser
// session, under CreateAPIToken's rule: the session's last password
// (PasswordAt, at sign-in or confirmed since) must be recent, or it is
// ErrReauthenticationRequired. A browser left signed in must not yield a
// long-lived credential to whoever sits at it.
func (e *Engine) CreateAPITokenInBrowser(ctx context.Context, p BrowserPrincipal, label string) (*Grant, error) {
	req := APITokenRequest{User: p.User.ID, Label: label, AuthenticatedAt: p.Session.PasswordAt}
	if !p.Session.PasswordAt.IsZero() {
		req.Method = store.AuthPassword
	}
	return e.CreateAPIToken(ctx, req)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
