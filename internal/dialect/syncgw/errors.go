package syncgw

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/internal/obs"
)

// Error is a Sync Gateway error response: {"error": …, "reason": …}.
type Error struct {
	Status int
	Code   string // error, e.g. "Unauthorized", "not_found"
	Reason string // safe for clients
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

// toError maps an engine error to Sync Gateway's shape. It is the only
// place where this dialect decides statuses.
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
		return unauthorized(err.Error())
	case errors.Is(err, engine.ErrRefreshNotEnabled):
		return unauthorized(err.Error())
	case errors.Is(err, engine.ErrInvalidToken),
		errors.Is(err, engine.ErrTokenExpired),
		errors.Is(err, engine.ErrTokenRevoked),
		errors.Is(err, engine.ErrTokenReused),
		errors.Is(err, engine.ErrWrongTokenUse),
		errors.Is(err, engine.ErrUserDisabled),
		errors.Is(err, engine.ErrTenantDisabled),
		errors.Is(err, engine.ErrTenantMismatch),
		errors.Is(err, engine.ErrInvalidRequest):
		return unauthorized(unableToRefresh)
	case errors.Is(err, engine.ErrBusy):
		return &Error{Status: http.StatusServiceUnavailable, Code: "Service Unavailable", Reason: "server busy, try again"}
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
	httpx.NoStore(w)
	w.Header().Set("Referrer-Policy", "no-referrer")
	httpx.WriteJSON(w, se.Status, map[string]string{"error": se.Code, "reason": se.Reason})
}
