package engine

import (
	"errors"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

// Sentinel errors of the engine. Every dialect maps them to its own status
// and body in one writer function; their text is safe to show a client.
// A new sentinel goes into Sentinels too (a test parses this package to
// make sure), so that every dialect's mapping test covers it.
var (
	// ErrInvalidCredentials: unknown user or wrong password.
	ErrInvalidCredentials = errors.New("invalid username or password")
	// ErrInvalidToken: a token that is malformed, badly signed, of the wrong
	// kind, or unknown to the server.
	ErrInvalidToken = errors.New("invalid token")
	// ErrTokenExpired: the token, or the session behind it, has expired.
	ErrTokenExpired = errors.New("token expired")
	// ErrTokenRevoked: the session behind the token was revoked.
	ErrTokenRevoked = errors.New("token revoked")
	// ErrTokenReused: a superseded rotating refresh token was presented; the
	// whole session has been revoked.
	ErrTokenReused = errors.New("refresh token reused; the session has been revoked")
	// ErrWrongTokenUse: a refresh token presented as an access token or the
	// reverse.
	ErrWrongTokenUse = errors.New("token is not of the expected kind")
	// ErrPolicyMismatch: a refresh token presented to a surface that does
	// not serve its session (a rotating token on a stable-only endpoint).
	ErrPolicyMismatch = errors.New("refresh token does not belong to this endpoint")
	// ErrRefreshNotEnabled: the user may not hold refresh tokens.
	ErrRefreshNotEnabled = errors.New("refresh is not enabled for this login")
	// ErrUserDisabled: the account is disabled.
	ErrUserDisabled = errors.New("account disabled")
	// ErrTenantDisabled: the tenant is disabled.
	ErrTenantDisabled = errors.New("tenant disabled")
	// ErrUnknownTenant: no tenant of that name.
	ErrUnknownTenant = errors.New("unknown tenant")
	// ErrTenantMismatch: the token belongs to another tenant than the request names.
	ErrTenantMismatch = errors.New("token belongs to another tenant")
	// ErrSessionLimit: the user holds the maximum number of live sessions
	// and the tenant's policy rejects new ones.
	ErrSessionLimit = errors.New("session limit reached")
	// ErrInvalidClient: client authentication failed (RFC 6749 §5.2).
	ErrInvalidClient = errors.New("client authentication failed")
	// ErrUnauthorizedClient: the client may not use this grant.
	ErrUnauthorizedClient = errors.New("client is not authorized for this grant type")
	// ErrInvalidRequest: a request the engine cannot act on (missing field).
	ErrInvalidRequest = errors.New("invalid request")
	// ErrBusy: the sign-on worker pool is saturated and the caller gave up.
	ErrBusy = errors.New("server busy, try again")
	// ErrUnavailable: the store can't write or can't be reached now
	// (read-only, disk full, I/O errors, a lock held past its wait, a
	// database out of reach), so nothing was done: nothing issued, nothing
	// half-written, no token taken for reused. The caller may try again
	// after its RetryAfter. A backend's store.ErrUnavailable matches it
	// (errors.Is), however the engine passed the store's error on, so
	// surfaces map this sentinel alone.
	ErrUnavailable error = &Error{Kind: store.ErrUnavailable, Public: "service temporarily unavailable, try again",
		RetryAfter: unavailableRetry}
)

// unavailableRetry is the Retry-After of ErrUnavailable: long enough for a
// lock to be let go or a connection to come back, short enough that a
// client's retry finds a store that has recovered.
const unavailableRetry = 3 * time.Second

// Sentinels returns every sentinel error of the engine, for the tests that
// prove each surface maps each of them to a status and a body of its own.
func Sentinels() []error {
	return []error{
		ErrInvalidCredentials, ErrInvalidToken, ErrTokenExpired, ErrTokenRevoked, ErrTokenReused,
		ErrWrongTokenUse, ErrPolicyMismatch, ErrRefreshNotEnabled, ErrUserDisabled, ErrTenantDisabled,
		ErrUnknownTenant, ErrTenantMismatch, ErrSessionLimit, ErrInvalidClient, ErrUnauthorizedClient,
		ErrInvalidRequest, ErrBusy, ErrUnavailable,
		ErrExternalNotAllowed, ErrExternalUnavailable, // external.go
		ErrMembershipRequired, ErrUnknownOrganisation, ErrUnknownMembership, // orgs.go
		ErrUnknownAPIToken, ErrReauthenticationRequired, ErrAPITokenLimit, // apitokens.go
		ErrThrottled,            // throttle.go
		ErrBrowserSessionEnded,  // browser.go
		ErrUnknownAccessRequest, // access_requests.go
		ErrUnknownUser, ErrUnknownClient, ErrUnknownSession, ErrAlreadyExists, ErrInUse,
		ErrUnknownKey,                                                                        // keys.go
		ErrInvalidRedirectURI, ErrUnsupportedResponseType, ErrInvalidScope, ErrLoginRequired, // authorize.go
		ErrConsentRequired, ErrAccessDenied, ErrInvalidGrant, ErrReauthenticate,
	}
}

// Sentinels for records that are missing or already there. The store's own
// ErrNotFound and ErrConflict never leave the engine: it translates them into
// these, with a message that names the record (`a user named "bob" already
// exists in tenant "default"`) and no storage text.
var (
	// ErrUnknownUser: no user of that name in the tenant, or with that id.
	ErrUnknownUser = errors.New("unknown user")
	// ErrUnknownClient: no OAuth 2.0 client with that client_id.
	ErrUnknownClient = errors.New("unknown client")
	// ErrUnknownSession: no session with that id.
	ErrUnknownSession = errors.New("unknown session")
	// ErrAlreadyExists: a tenant, user, client, organisation or membership
	// of that name or id exists already.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInUse: the record is still depended on (an organisation with
	// active memberships) and can't be deleted.
	ErrInUse = errors.New("still in use")
)
