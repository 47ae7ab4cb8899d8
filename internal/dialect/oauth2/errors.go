package oauth2

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/internal/obs"
)

// Error is an RFC 6749 §5.2 error response.
type Error struct {
	Status      int
	Code        string // error
	Description string // error_description, safe for clients
	RetryAfter  int    // seconds for a Retry-After header; 0 for none
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

func errInvalidRequest(desc string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Description: desc}
}

// codes is the RFC 6749 §5.2 error code of each class of engine error
// that is answered 400: a refused grant (credentials, token, a party that
// may not) is invalid_grant, anything else invalid_request.
var codes = map[engine.Class]string{
	engine.ClassBadRequest:   "invalid_request",
	engine.ClassUnauthorized: "invalid_grant",
	engine.ClassForbidden:    "invalid_grant",
	engine.ClassNotFound:     "invalid_request",
	engine.ClassConflict:     "invalid_request",
}

// toError maps an error to its RFC 6749 error. It is the only place where
// this dialect decides statuses: by the engine's class of the error (codes
// above), with RFC 6749's own codes for the client (invalid_client,
// unauthorized_client) and the sentinels whose class its clients read
// otherwise. Descriptions are the dialect's own or the engine's public
// text, never err.Error(): a wrapped internal failure can't reach the wire.
func toError(err error) *Error {
	var oe *Error
	if errors.As(err, &oe) {
		return oe
	}
	bad := func(code string) *Error {
		return &Error{Status: http.StatusBadRequest, Code: code, Description: engine.PublicText(err)}
	}
	switch {
	case errors.Is(err, engine.ErrInvalidScope):
		return bad("invalid_scope")
	case errors.Is(err, engine.ErrAccessDenied):
		return bad("access_denied")
	case errors.Is(err, engine.ErrInvalidClient):
		return &Error{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "client authentication failed"}
	case errors.Is(err, engine.ErrUnauthorizedClient):
		return bad("unauthorized_client")
	case errors.Is(err, engine.ErrMembershipRequired):
		return bad("invalid_request")
	case errors.Is(err, engine.ErrUnknownAPIToken), errors.Is(err, engine.ErrAPITokenLimit):
		return bad("invalid_grant")
	}
	switch class := engine.ClassOf(err); class {
	case engine.ClassBusy:
		return &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable", Description: "server busy, try again"}
	case engine.ClassThrottled, engine.ClassUnavailable:
		// RFC 6749 §4.3.2 wants guessing throttled and defines no code
		// for it; temporarily_unavailable (§4.1.2.1) is the one a client
		// retries on, and 429 (RFC 6585 §4) or 503 with Retry-After says
		// when.
		return &Error{Status: httpx.Status(class), Code: "temporarily_unavailable", Description: engine.PublicText(err), RetryAfter: engine.RetryAfter(err)}
	case engine.ClassInternal:
		return &Error{Status: http.StatusInternalServerError, Code: "server_error", Description: "internal error"}
	default:
		return bad(codes[class])
	}
}

// writeError writes err in the RFC 6749 §5.2 shape. Internal errors are
// logged, and the client sees only "internal error".
func writeError(ctx context.Context, log *slog.Logger, w http.ResponseWriter, err error) {
	oe := toError(err)
	if oe.Status >= 500 {
		obs.Failure(ctx, log, slog.LevelError, "oauth2 request failed", err)
	}
	httpx.NoStore(w)
	if oe.Status == http.StatusUnauthorized {
		// Every 401 here is invalid_client: the challenge names the client
		// authentication scheme these endpoints take (client_secret_basic),
		// whichever way the client tried (RFC 6749 §5.2, RFC 7235 §3.1).
		w.Header().Set("WWW-Authenticate", `Basic realm="tokengate"`)
	}
	if oe.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(oe.RetryAfter))
	}
	body := map[string]string{"error": oe.Code}
	if oe.Description != "" {
		body["error_description"] = oe.Description
	}
	httpx.WriteJSON(w, oe.Status, body)
}
