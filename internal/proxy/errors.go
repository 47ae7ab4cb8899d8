package proxy

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
)

// Reasons of the WSAUTH error family, the Whitespace API's shape
// {"reason": …, "error": true}.
const (
	ReasonUserID    = "Invalid WSAUTH: Valid UserID must be supplied"
	ReasonNoToken   = "Invalid WSAUTH: an Authorization: Bearer token must be supplied"
	ReasonBadToken  = "Invalid WSAUTH: token is invalid, expired or revoked"
	ReasonNoSession = "Invalid WSAUTH: token does not belong to a user"
	reasonUpstream  = "upstream unavailable"
	reasonInternal  = "internal error"
	reasonMethod    = "method not allowed"
	reasonNotFound  = "not found"
	reasonBusy      = "server busy, try again"
	reasonThrottled = "too many requests, try again later"
	reasonRequest   = "bad request"
)

var (
	errNoToken   = errors.New("no bearer token")
	errNoSession = errors.New("token without a session")
	errMethod    = errors.New("method not allowed")
	errNotFound  = errors.New("not found")
)

// wsauth is the error body.
type wsauth struct {
	Reason string `json:"reason"`
	Error  bool   `json:"error"`
}

// writeError maps an error to its status and WSAUTH body. It is the only
// place where the proxy decides error statuses. Reasons are the fixed texts
// above, never err.Error(): the proxy fails closed, and says no more than
// WSAUTH does about why.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, reason := toError(err)
	if status >= 500 {
		log.ErrorContext(r.Context(), "proxy request failed", "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tokengate"`)
	}
	if n := engine.RetryAfter(err); n > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(n))
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, status, wsauth{Reason: reason, Error: true})
}

func toError(err error) (status int, reason string) {
	switch {
	case errors.Is(err, engine.ErrMembershipRequired),
		errors.Is(err, engine.ErrUnknownMembership),
		errors.Is(err, engine.ErrUnknownOrganisation):
		return http.StatusUnauthorized, ReasonUserID
	case errors.Is(err, errNoToken):
		return http.StatusUnauthorized, ReasonNoToken
	case errors.Is(err, errNoSession):
		return http.StatusUnauthorized, ReasonNoSession
	case errors.Is(err, engine.ErrInvalidToken), errors.Is(err, engine.ErrTokenExpired),
		errors.Is(err, engine.ErrTokenRevoked), errors.Is(err, engine.ErrWrongTokenUse),
		errors.Is(err, engine.ErrTokenReused), errors.Is(err, engine.ErrInvalidCredentials),
		errors.Is(err, engine.ErrPolicyMismatch), errors.Is(err, engine.ErrRefreshNotEnabled),
		errors.Is(err, engine.ErrUserDisabled), errors.Is(err, engine.ErrTenantDisabled),
		errors.Is(err, engine.ErrUnknownTenant), errors.Is(err, engine.ErrTenantMismatch),
		errors.Is(err, engine.ErrSessionLimit), errors.Is(err, engine.ErrInvalidClient),
		errors.Is(err, engine.ErrUnauthorizedClient), errors.Is(err, engine.ErrUnknownAPIToken),
		errors.Is(err, engine.ErrUnknownUser), errors.Is(err, engine.ErrUnknownClient),
		errors.Is(err, engine.ErrUnknownSession), errors.Is(err, engine.ErrUnknownKey), errors.Is(err, engine.ErrAlreadyExists),
		errors.Is(err, engine.ErrInUse), errors.Is(err, engine.ErrReauthenticationRequired),
		errors.Is(err, engine.ErrAPITokenLimit):
		return http.StatusUnauthorized, ReasonBadToken
	case errors.Is(err, engine.ErrThrottled):
		return http.StatusTooManyRequests, reasonThrottled
	case errors.Is(err, engine.ErrInvalidRequest):
		return http.StatusBadRequest, reasonRequest
	case errors.Is(err, engine.ErrBusy):
		return http.StatusServiceUnavailable, reasonBusy
	case errors.Is(err, errMethod):
		return http.StatusMethodNotAllowed, reasonMethod
	case errors.Is(err, errBadPath):
		return http.StatusBadRequest, reasonBadPath
	case errors.Is(err, errNotFound):
		return http.StatusNotFound, reasonNotFound
	}
	return http.StatusInternalServerError, reasonInternal
}
