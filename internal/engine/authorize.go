package engine

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

// The authorization endpoint's rules (RFC 6749 §4.1, OpenID Connect Core
// §3.1.2, RFC 7636, RFC 9700 §2.1): which requests are taken, when the
// user must sign in again, when consent is asked, and the codes. The
// surface that serves /oauth2/authorize parses and writes; it decides
// nothing of this.

// The authorization endpoint's sentinels. Each is an alias of a sentinel
// every surface maps already, so a surface that does not serve the
// authorization endpoint maps them without knowing them; the authorization
// endpoint and the token endpoint tell them apart (RFC 6749 §4.1.2.1,
// OpenID Connect Core §3.1.2.6).
var (
	// ErrInvalidRedirectURI: the client is unknown or disabled, or the
	// redirect_uri is missing or not registered for it. Such an error is
	// never sent to the redirect URI (RFC 6749 §4.1.2.1): a page explains.
	ErrInvalidRedirectURI error = &Error{Kind: ErrInvalidRequest, Public: "the redirect URI is not registered for this client"}
	// ErrUnsupportedResponseType: a response_type other than code.
	ErrUnsupportedResponseType error = &Error{Kind: ErrInvalidRequest, Public: "only response_type=code is supported"}
	// ErrInvalidScope: a scope the client may not ask for.
	ErrInvalidScope error = &Error{Kind: ErrInvalidRequest, Public: "a requested scope is not allowed for this client"}
	// ErrLoginRequired: prompt=none, and the user must sign in first.
	ErrLoginRequired error = &Error{Kind: ErrBrowserSessionEnded, Public: "the user must sign in"}
	// ErrConsentRequired: prompt=none, and the user must consent first.
	ErrConsentRequired error = &Error{Kind: ErrUnauthorizedClient, Public: "the user must consent to this application"}
	// ErrAccessDenied: the user declined, or may not use this client.
	ErrAccessDenied error = &Error{Kind: ErrUnauthorizedClient, Public: "access denied"}
	// ErrReauthenticate: the consent page's answer came when the
	// browser's sign-in no longer satisfies the request (prompt=login,
	// max_age): the user must sign in again first. The authorization
	// endpoint sends the browser to the sign-in page.
	ErrReauthenticate error = &Error{Kind: ErrBrowserSessionEnded, Public: "sign in again to continue"}
	// ErrInvalidGrant: an authorization code that is unknown, used,
	// expired, of another client or redirect URI, or whose PKCE verifier
	// does not match (RFC 6749 §5.2 invalid_grant).
	ErrInvalidGrant error = &Error{Kind: ErrInvalidToken, Public: "invalid authorization code"}
)

// CodeTTL is how long an authorization code may be redeemed: RFC 6749
// §4.1.2 recommends at most ten minutes; a browser redirect and a token
// request take seconds.
const CodeTTL = time.Minute

// ServiceCode is the sign-on service of the sessions the authorization
// code grant starts; its policy is the OAuth 2.0 service's.
const ServiceCode = ServiceOAuth2 + ":code"

// Prompt values (OpenID Connect Core §3.1.2.1).
const (
	PromptNone    = "none"
	PromptLogin   = "login"
	PromptConsent = "consent"
	// PromptSelectAccount is taken and means nothing more: a browser
	// holds one sign-in here, and the sign-in page lets the user change it.
	PromptSelectAccount = "select_account"
)

// Response modes (OAuth 2.0 Multiple Response Type Encoding Practices,
// OAuth 2.0 Form Post Response Mode).
const (
	ResponseModeQuery    = "query"
	ResponseModeFormPost = "form_post"
)

// AuthorizeRequest is an authorization request's parameters as sent.
type AuthorizeRequest struct {
	ClientID, RedirectURI, ResponseType, ResponseMode string
	Scope, State, Nonce                               string
	CodeChallenge, CodeChallengeMethod                string
	Prompt, MaxAge, LoginHint                         string
}

// Authorization is an authorization request the engine has checked.
type Authorization struct {
	Client store.Client
	// Tenant is the client's tenant: its users are the ones who may sign
	// in to it.
	Tenant       store.Tenant
	RedirectURI  string
	ResponseMode string
	Scopes       []string
	State        string
	Nonce        string
	// CodeChallenge is the S256 challenge, empty when a confidential
	// client sent none.
	CodeChallenge string
	Prompts       []string
	// MaxAge is the most time since the user's authentication, when
	// HasMaxAge.
	MaxAge    time.Duration
	HasMaxAge bool
	LoginHint string
}

// Scope returns the requested scopes, space-separated.
func (a *Authorization) Scope() string { return strings.Join(a.Scopes, " ") }

// Prompted reports whether the request carries prompt value p.
func (a *Authorization) Prompted(p string) bool { return slices.Contains(a.Prompts, p) }

// Limits on what an authorization request may carry; a longer value is an
// invalid request rather than something stored.
const (
	maxStateLen     = 1024
	maxNonceLen     = 512
	maxLoginHintLen = 128
)

// CheckAuthorization checks an authorization request. An error with a nil
// Authorization must not be sent to the redirect URI (the client or the
// redirect URI is not what was registered: ErrInvalidRedirectURI); an
// error with an Authorization goes to its RedirectURI with its State
// (RFC 6749 §4.1.2.1).
func (e *Engine) CheckAuthorization(ctx context.Context, req AuthorizeRequest) (*Authorization, error) {
	if req.ClientID == "" {
		return nil, withDetail(ErrInvalidRedirectURI, "client_id is required")
	}
	c, err := e.st.GetClient(ctx, req.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, refused(ErrInvalidRedirectURI, "unknown client")
	} else if err != nil {
		return nil, err
	}
	if c.Disabled {
		return nil, refused(ErrInvalidRedirectURI, "disabled client")
	}
	// Exact string comparison: no normalisation, no pattern (RFC 9700
	// §2.1; OpenID Connect Core §3.1.2.1 wants redirect_uri always).
	if req.RedirectURI == "" || !slices.Contains(c.RedirectURIs, req.RedirectURI) {
		return nil, refused(ErrInvalidRedirectURI, "redirect_uri not registered")
	}
	t, err := e.st.GetTenant(ctx, c.TenantID)
	if err != nil {
		return nil, err
	}
	a := &Authorization{Client: c, Tenant: t, RedirectURI: req.RedirectURI, State: req.State, ResponseMode: ResponseModeQuery}
	switch req.ResponseMode {
	case "", ResponseModeQuery:
	case ResponseModeFormPost:
		a.ResponseMode = ResponseModeFormPost
	default:
		return a, InvalidRequest("response_mode: want query or form_post")
	}
	if len(req.State) > maxStateLen {
		a.State = ""
		return a, InvalidRequest("state is longer than %d characters", maxStateLen)
	}
	return a, e.checkAuthorization(a, req)
}

// checkAuthorization checks what an error may be redirected for.
func (e *Engine) checkAuthorization(a *Authorization, req AuthorizeRequest) error {
	c := a.Client
	if req.ResponseType != "code" {
		if req.ResponseType == "" {
			return InvalidRequest("response_type is required")
		}
		return ErrUnsupportedResponseType
	}
	if err := ClientMayUse(c, GrantAuthorizationCode); err != nil {
		return withDetail(ErrUnauthorizedClient, "this client may not use the authorization code flow")
	}
	scopes := strings.Fields(req.Scope)
	if len(scopes) == 0 {
		return withDetail(ErrInvalidScope, "scope is required")
	}
	allowed := ClientScopes(c)
	for _, s := range scopes {
		if !slices.Contains(allowed, s) {
			return ErrInvalidScope
		}
		if !slices.Contains(a.Scopes, s) {
			a.Scopes = append(a.Scopes, s)
		}
	}
	if len(req.Nonce) > maxNonceLen {
		return InvalidRequest("nonce is longer than %d characters", maxNonceLen)
	}
	a.Nonce = req.Nonce
	// PKCE (RFC 7636 §4.3): S256 only. plain protects nothing a network
	// observer of the authorization request can't see (RFC 9700 §2.1.1).
	switch req.CodeChallengeMethod {
	case "S256":
		if !validChallenge(req.CodeChallenge) {
			return InvalidRequest("code_challenge: want the 43-character base64url SHA-256 of the code verifier")
		}
		a.CodeChallenge = req.CodeChallenge
	case "":
		if req.CodeChallenge != "" {
			// RFC 7636 §4.3: no method means plain.
			return InvalidRequest("code_challenge_method plain is not supported; use S256")
		}
		if len(c.SecretHash) == 0 {
			return InvalidRequest("a public client must use PKCE: code_challenge with code_challenge_method=S256")
		}
	case "plain":
		return InvalidRequest("code_challenge_method plain is not supported; use S256")
	default:
		return InvalidRequest("code_challenge_method: only S256 is supported")
	}
	for _, p := range strings.Fields(req.Prompt) {
		switch p {
		case PromptNone, PromptLogin, PromptConsent, PromptSelectAccount:
			if !slices.Contains(a.Prompts, p) {
				a.Prompts = append(a.Prompts, p)
			}
		default:
			return InvalidRequest("prompt: want none, login, consent or select_account")
		}
	}
	if a.Prompted(PromptNone) && len(a.Prompts) > 1 {
		return InvalidRequest("prompt=none goes with no other prompt value")
	}
	if req.MaxAge != "" {
		n, err := strconv.ParseInt(req.MaxAge, 10, 64)
		if err != nil || n < 0 || n > 1<<31 {
			return InvalidRequest("max_age: want a number of seconds")
		}
		a.MaxAge, a.HasMaxAge = time.Duration(n)*time.Second, true
	}
	if len(req.LoginHint) > maxLoginHintLen {
		return InvalidRequest("login_hint is longer than %d characters", maxLoginHintLen)
	}
	a.LoginHint = req.LoginHint
	return nil
}

// validChallenge reports whether s can be an S256 challenge: 32 bytes in
// unpadded base64url.
func validChallenge(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == sha256.Size
}

// validVerifier reports whether s is a code verifier (RFC 7636 §4.1): 43
// to 128 unreserved characters.
func validVerifier(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_' || r == '~')
	})
}

// S256Challenge is the PKCE challenge of a verifier (RFC 7636 §4.2).
func S256Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// AuthorizeStep is what an authorization request needs next.
type AuthorizeStep int

const (
	// StepSignIn: the user must sign in (again).
	StepSignIn AuthorizeStep = iota + 1
	// StepConsent: the user must consent to the client's scopes.
	StepConsent
	// StepIssue: a code may be issued.
	StepIssue
)

// authorizeState is what the decision depends on besides the request.
type authorizeState struct {
	signedIn bool
	authTime time.Time
	// signedInAfter, when set, is when the request was first seen: a
	// sign-in since then (auth_time not before it) satisfies prompt=login
	// and max_age, so that the sign-in they ask for ends the loop.
	signedInAfter time.Time
	now           time.Time
	consented     []string // the scopes the user consented to for the client
}

// decideAuthorize is the rule of the authorization endpoint (OpenID
// Connect Core §3.1.2.1 and §3.1.2.3): sign-in when there is none, when
// prompt=login asks for a new one, or when it is older than max_age;
// consent for a third-party client when the scopes are not all consented
// to, or when prompt=consent asks; prompt=none turns either into an error.
func decideAuthorize(a *Authorization, st authorizeState) (AuthorizeStep, error) {
	fresh := !st.signedInAfter.IsZero() && !st.authTime.Before(st.signedInAfter.Truncate(time.Millisecond))
	stale := a.Prompted(PromptLogin) || (a.HasMaxAge && st.now.Sub(st.authTime) > a.MaxAge)
	if !st.signedIn || (stale && !fresh) {
		if a.Prompted(PromptNone) {
			return 0, ErrLoginRequired
		}
		return StepSignIn, nil
	}
	if a.Prompted(PromptConsent) || (!a.Client.FirstParty && !allIn(a.Scopes, st.consented)) {
		if a.Prompted(PromptNone) {
			return 0, ErrConsentRequired
		}
		return StepConsent, nil
	}
	return StepIssue, nil
}

func allIn(want, have []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// Authorize decides what the authorization request a needs next for the
// browser's user p (nil when no one is signed in), and issues the code
// when nothing more is needed. signedInAfter is when the request was
// first seen, zero on its first visit (see authorizeState).
func (e *Engine) Authorize(ctx context.Context, a *Authorization, p *BrowserPrincipal, signedInAfter time.Time) (AuthorizeStep, string, error) {
	st := authorizeState{now: e.now(), signedInAfter: signedInAfter}
	if p != nil {
		if p.Tenant.ID != a.Client.TenantID {
			return 0, "", withDetail(ErrAccessDenied, "this application is not available to your account")
		}
		st.signedIn, st.authTime = true, p.Session.AuthTime
		if !a.Client.FirstParty {
			c, err := e.st.GetConsent(ctx, p.User.ID, a.Client.ID)
			if err == nil {
				st.consented = c.Scopes
			} else if !errors.Is(err, store.ErrNotFound) {
				return 0, "", err
			}
		}
	}
	step, err := decideAuthorize(a, st)
	if err != nil || step != StepIssue {
		return step, "", err
	}
	code, err := e.issueCode(ctx, a, *p, nil)
	return StepIssue, code, err
}

// Consent records the answer of the consent page for a and, when the user
// allowed it, remembers the consent (per user and client, until revoked
// from the profile page) and issues the code. A refusal is ErrAccessDenied.
// An answer is held to Authorize's rule of sign-in (signedInAfter as
// there): when the browser's sign-in does not satisfy prompt=login or
// max_age (any more), it is ErrReauthenticate and nothing is issued, so
// that posting the form is no way around them.
func (e *Engine) Consent(ctx context.Context, a *Authorization, p BrowserPrincipal, signedInAfter time.Time, allow bool) (string, error) {
	if p.Tenant.ID != a.Client.TenantID {
		return "", withDetail(ErrAccessDenied, "this application is not available to your account")
	}
	if allow {
		st := authorizeState{now: e.now(), signedInAfter: signedInAfter, signedIn: true, authTime: p.Session.AuthTime,
			consented: a.Scopes} // the consent is being given
		if step, err := decideAuthorize(a, st); err != nil || step == StepSignIn {
			return "", withDetail(ErrReauthenticate, "the browser's sign-in does not satisfy the request's prompt=login or max_age")
		}
	}
	if !allow {
		err := e.st.Tx(ctx, func(q store.Queries) error {
			return e.audit(ctx, q, store.AuditEvent{Type: "consent.deny", TenantID: p.Tenant.ID, UserID: p.User.ID, ClientID: a.Client.ID,
				Detail: map[string]string{"scope": a.Scope()}})
		})
		if err != nil {
			return "", err
		}
		return "", withDetail(ErrAccessDenied, "the user declined")
	}
	return e.issueCode(ctx, a, p, &a.Scopes)
}

// issueCode stores a new code for a and p (remembering consent to scopes
// in the same transaction when it is not nil) and returns it.
func (e *Engine) issueCode(ctx context.Context, a *Authorization, p BrowserPrincipal, consent *[]string) (string, error) {
	var raw [32]byte
	if _, err := io.ReadFull(e.rand, raw[:]); err != nil {
		return "", err
	}
	code := base64.RawURLEncoding.EncodeToString(raw[:])
	now := e.now()
	rec := store.AuthCode{
		Hash: codeHash(code), TenantID: p.Tenant.ID, ClientID: a.Client.ID, UserID: p.User.ID,
		BrowserSessionID: p.Session.ID, RedirectURI: a.RedirectURI, Scope: a.Scope(), Nonce: a.Nonce,
		CodeChallenge: a.CodeChallenge, AuthTime: p.Session.AuthTime, CreatedAt: now, ExpiresAt: now.Add(CodeTTL),
	}
	err := e.st.Tx(ctx, func(q store.Queries) error {
		if consent != nil {
			prev, err := q.GetConsent(ctx, p.User.ID, a.Client.ID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			c := store.Consent{TenantID: p.Tenant.ID, UserID: p.User.ID, ClientID: a.Client.ID, CreatedAt: now, UpdatedAt: now}
			if err == nil {
				c.CreatedAt = prev.CreatedAt
				c.Scopes = prev.Scopes
			}
			for _, s := range *consent {
				if !slices.Contains(c.Scopes, s) {
					c.Scopes = append(c.Scopes, s)
				}
			}
			if err := q.PutConsent(ctx, c); err != nil {
				return err
			}
			if err := e.audit(ctx, q, store.AuditEvent{Type: "consent.grant", TenantID: p.Tenant.ID, UserID: p.User.ID, ClientID: a.Client.ID,
				Detail: map[string]string{"scope": strings.Join(c.Scopes, " ")}}); err != nil {
				return err
			}
		}
		if err := q.CreateAuthCode(ctx, rec); err != nil {
			return err
		}
		return e.audit(ctx, q, store.AuditEvent{Type: "authorize.code", TenantID: p.Tenant.ID, UserID: p.User.ID, ClientID: a.Client.ID,
			Detail: map[string]string{"scope": rec.Scope, "browser_session": p.Session.ID, "pkce": fmt.Sprint(rec.CodeChallenge != "")}})
	})
	if err != nil {
		return "", err
	}
	return code, nil
}

func codeHash(code string) []byte {
	sum := sha256.Sum256([]byte(code))
	return sum[:]
}
