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
// where this dialect decides statuses: every refusal, whatever its class,
// is Sync Gateway's one answer to a refresh it won't do ("Unable to
// refresh token."), but a refresh token that belongs elsewhere or a login
// without refresh says why; a busy, throttled or unavailable gateway says
// when to come back. Reasons are the dialect's own or the engine's public
// text, never err.Error().
func toError(err error) *Error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	unauthorized := func(reason string) *Error {
		return &Error{Status: http.StatusUnauthorized, Code: "Unauthorized", Reason: reason}
	}
	if errors.Is(err, engine.ErrPolicyMismatch) || errors.Is(err, engine.ErrRefreshNotEnabled) {
		// Says where the token belongs: "this endpoint takes stable refresh
		// tokens; this one is rotating and belongs to the oauth2 sign-on".
		return unauthorized(engine.PublicText(err))
	}
	switch class := engine.ClassOf(err); class {
	case engine.ClassInternal:
		return &Error{Status: http.StatusInternalServerError, Code: "Internal Server Error", Reason: "Internal error"}
	case engine.ClassBusy:
		return &Error{Status: http.StatusServiceUnavailable, Code: "Service Unavailable", Reason: "server busy, try again"}
	case engine.ClassThrottled, engine.ClassUnavailable:
		// No Sync Gateway refresh signs on with a password; should one be
		// throttled, it is told to wait like any busy gateway.
		status := httpx.Status(class)
		return &Error{Status: status, Code: http.StatusText(status), Reason: engine.PublicText(err), RetryAfter: engine.RetryAfter(err)}
	default:
		return unauthorized(unableToRefresh)
	}
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
