package syncgw

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/internal/obs"
)

// Error is a Sync Gateway error response: {"error": …, "reason": …}.
type Error struct {
	Status int
	Code   string // error, e.g. "Unauthorized", "not_found"
	Reason string // safe for clients
	// RetryAfter is the seconds of a Retry-After header; 0 for none.
	RetryAfter int
}

func (e *Error) Error() string { return e.Code + ": " + e.Reason }

var errNotFound = &Error{Status: http.StatusNotFound, Code: "not_found", Reason: "no such database"}

var errMethod = &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Reason: "_oidc_refresh takes GET or POST"}

func errBadRequest(reason string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "Bad Request", Reason: reason}
}

// unableToRefresh is Sync Gateway's answer to a bad, expired or revoked
// refresh token.
const unableToRefresh = "Unable to refresh token."

// toError maps an error to Sync Gateway's shape. It is the only place
// where this dialect decides statuses. Reasons are the dialect's own or the
// engine's public text, never err.Error().
func toError(err error) *Error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	unauthorized := func(reason string) *Error {
		return &Error{Status: http.StatusUnauthorized, Code: "Unauthorized", Reason: reason}
	}
	switch {
	case errors.Is(err, engine.ErrPolicyMismatch):
		// Says where the token belongs: "this endpoint takes stable refresh
		// tokens; this one is rotating and belongs to the oauth2 sign-on".
		return unauthorized(engine.PublicText(err))
	case errors.Is(err, engine.ErrRefreshNotEnabled):
		return unauthorized(engine.PublicText(err))
	case errors.Is(err, engine.ErrInvalidToken),
		errors.Is(err, engine.ErrTokenExpired),
		errors.Is(err, engine.ErrTokenRevoked),
		errors.Is(err, engine.ErrTokenReused),
		errors.Is(err, engine.ErrWrongTokenUse),
		errors.Is(err, engine.ErrUserDisabled),
		errors.Is(err, engine.ErrTenantDisabled),
		errors.Is(err, engine.ErrTenantMismatch),
		errors.Is(err, engine.ErrInvalidRequest),
		// Not refresh refusals today, but any refusal here is Sync
		// Gateway's one answer to a refresh it won't do.
		errors.Is(err, engine.ErrInvalidCredentials),
		errors.Is(err, engine.ErrSessionLimit),
		errors.Is(err, engine.ErrUnknownTenant),
		errors.Is(err, engine.ErrInvalidClient),
		errors.Is(err, engine.ErrUnauthorizedClient),
		errors.Is(err, engine.ErrMembershipRequired),
		errors.Is(err, engine.ErrUnknownOrganisation),
		errors.Is(err, engine.ErrUnknownMembership),
		errors.Is(err, engine.ErrUnknownAPIToken),
		errors.Is(err, engine.ErrUnknownUser),
		errors.Is(err, engine.ErrUnknownClient),
		errors.Is(err, engine.ErrUnknownSession), errors.Is(err, engine.ErrUnknownKey),
		errors.Is(err, engine.ErrAlreadyExists),
		errors.Is(err, engine.ErrInUse),
		errors.Is(err, engine.ErrReauthenticationRequired),
		errors.Is(err, engine.ErrAPITokenLimit):
		return unauthorized(unableToRefresh)
	case errors.Is(err, engine.ErrBusy):
		return &Error{Status: http.StatusServiceUnavailable, Code: "Service Unavailable", Reason: "server busy, try again"}
	case errors.Is(err, engine.ErrThrottled):
		// No Sync Gateway refresh signs on with a password; should one be
		// throttled, it is told to wait like any busy gateway.
		return &Error{Status: http.StatusTooManyRequests, Code: "Too Many Requests", Reason: engine.PublicText(err), RetryAfter: engine.RetryAfter(err)}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "Internal Server Error", Reason: "Internal error"}
}

// writeError writes err in Sync Gateway's shape; internal errors are
// logged (never with the token) and shown as "Internal error".
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	se := toError(err)
	if se.Status >= 500 {
		obs.Failure(r.Context(), log, slog.LevelError, "syncgw refresh failed", err)
	}
	if se.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tokengate"`)
	}
	if se.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(se.RetryAfter))
	}
	httpx.NoStore(w)
	w.Header().Set("Referrer-Policy", "no-referrer")
	httpx.WriteJSON(w, se.Status, map[string]string{"error": se.Code, "reason": se.Reason})
}
