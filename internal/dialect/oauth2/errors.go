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

// toError maps an error to its RFC 6749 error. It is the only place where
// this dialect decides statuses. Descriptions are the dialect's own or the
// engine's public text, never err.Error(): a wrapped internal failure can't
// reach the wire.
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
	case errors.Is(err, engine.ErrInvalidRequest):
		return bad("invalid_request")
	case errors.Is(err, engine.ErrInvalidCredentials),
		errors.Is(err, engine.ErrInvalidToken),
		errors.Is(err, engine.ErrTokenExpired),
		errors.Is(err, engine.ErrTokenRevoked),
		errors.Is(err, engine.ErrTokenReused),
		errors.Is(err, engine.ErrWrongTokenUse),
		errors.Is(err, engine.ErrPolicyMismatch),
		errors.Is(err, engine.ErrRefreshNotEnabled),
		errors.Is(err, engine.ErrUserDisabled),
		errors.Is(err, engine.ErrTenantDisabled),
		errors.Is(err, engine.ErrTenantMismatch),
		errors.Is(err, engine.ErrSessionLimit),
		errors.Is(err, engine.ErrUnknownAPIToken),
		errors.Is(err, engine.ErrReauthenticationRequired),
		errors.Is(err, engine.ErrAPITokenLimit):
		return bad("invalid_grant")
	case errors.Is(err, engine.ErrUnknownTenant),
		errors.Is(err, engine.ErrMembershipRequired),
		errors.Is(err, engine.ErrUnknownOrganisation),
		errors.Is(err, engine.ErrUnknownMembership),
		errors.Is(err, engine.ErrUnknownUser),
		errors.Is(err, engine.ErrUnknownClient),
		errors.Is(err, engine.ErrUnknownSession), errors.Is(err, engine.ErrUnknownKey),
		errors.Is(err, engine.ErrAlreadyExists),
		errors.Is(err, engine.ErrInUse):
		return bad("invalid_request")
	case errors.Is(err, engine.ErrBusy):
		return &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable", Description: "server busy, try again"}
	case errors.Is(err, engine.ErrThrottled):
		// RFC 6749 §4.3.2 wants guessing throttled and defines no code
		// for it; temporarily_unavailable (§4.1.2.1) is the one a client
		// retries on, and 429 with Retry-After says when (RFC 6585 §4).
		return &Error{Status: http.StatusTooManyRequests, Code: "temporarily_unavailable", Description: engine.PublicText(err), RetryAfter: engine.RetryAfter(err)}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "server_error", Description: "internal error"}
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
