package engine

import "errors"

// Class is the kind of answer an engine error calls for, the one table the
// surfaces share: each maps a class to its own status and shape (the
// HTTP statuses of httpx.Status, Core's 401 for every refusal, OAuth 2.0's
// error codes, Sync Gateway's one "Unable to refresh token."), and
// overrides it for the few sentinels its wire format answers otherwise.
type Class int

// The classes, and the HTTP status most surfaces give each.
const (
	// ClassInternal is not an engine refusal but a failure: 500, logged,
	// never shown.
	ClassInternal Class = iota
	// ClassBadRequest: a request the engine can't act on (400).
	ClassBadRequest
	// ClassUnauthorized: the credentials or the token are refused (401).
	ClassUnauthorized
	// ClassForbidden: a known party that may not do this (403).
	ClassForbidden
	// ClassNotFound: no such record (404).
	ClassNotFound
	// ClassConflict: the record exists already, is in use, or a limit is
	// reached (409).
	ClassConflict
	// ClassThrottled: too many attempts; try again after RetryAfter (429).
	ClassThrottled
	// ClassBusy: the node is saturated; try again (503).
	ClassBusy
	// ClassUnavailable: the store can't write or be reached; nothing was
	// done; try again after RetryAfter (503).
	ClassUnavailable
)

// classes gives every sentinel of Sentinels() its class (TestClassOf
// keeps it complete). An alias (an *Error whose Kind is another
// sentinel, such as ErrExternalNotAllowed) has its Kind's class.
var classes = []struct {
	class Class
	errs  []error
}{
	{ClassBadRequest, []error{ErrInvalidRequest}},
	{ClassUnauthorized, []error{ErrInvalidCredentials, ErrInvalidToken, ErrTokenExpired, ErrTokenRevoked,
		ErrTokenReused, ErrWrongTokenUse, ErrInvalidClient}},
	{ClassForbidden, []error{ErrPolicyMismatch, ErrRefreshNotEnabled, ErrUserDisabled, ErrTenantDisabled,
		ErrTenantMismatch, ErrSessionLimit, ErrUnauthorizedClient, ErrMembershipRequired, ErrReauthenticationRequired}},
	{ClassNotFound, []error{ErrUnknownTenant, ErrUnknownOrganisation, ErrUnknownMembership, ErrUnknownAPIToken,
		ErrUnknownUser, ErrUnknownClient, ErrUnknownSession, ErrUnknownKey}},
	{ClassConflict, []error{ErrAlreadyExists, ErrInUse, ErrAPITokenLimit}},
	{ClassThrottled, []error{ErrThrottled}},
	{ClassBusy, []error{ErrBusy}},
	{ClassUnavailable, []error{ErrUnavailable}},
}

// ClassOf returns the class of err: that of the engine sentinel it
// matches, ClassUnavailable for a store that is unavailable, and
// ClassInternal for anything else.
func ClassOf(err error) Class {
	if err == nil {
		return ClassInternal
	}
	for _, c := range classes {
		for _, s := range c.errs {
			if errors.Is(err, s) {
				return c.class
			}
		}
	}
	return ClassInternal
}
