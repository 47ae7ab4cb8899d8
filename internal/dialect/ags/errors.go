package ags

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

// Error is the AGS error body.
type Error struct {
	Status        int    `json:"status"`
	Text          string `json:"error"` // the status text
	Message       string `json:"message"`
	CorrelationID string `json:"correlationId,omitempty"`
	// RetryAfter is the seconds of a Retry-After header; 0 for none.
	RetryAfter int `json:"-"`
}

func (e *Error) Error() string { return e.Message }

func errBadRequest(msg string) *Error { return &Error{Status: http.StatusBadRequest, Message: msg} }

// toError maps an error to its AGS status. It is the only place where
// this dialect decides statuses: 400 malformed, 401 bad credentials or
// tokens, 403 a valid party that may not do this, 404 an unknown record.
// Messages are the dialect's own or the engine's public text, never
// err.Error().
func toError(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	st := func(code int) *Error { return &Error{Status: code, Message: engine.PublicText(err)} }
	switch {
	case errors.Is(err, engine.ErrInvalidRequest):
		return st(http.StatusBadRequest)
	case errors.Is(err, engine.ErrBusy):
		return st(http.StatusServiceUnavailable)
	case errors.Is(err, engine.ErrThrottled):
		e := st(http.StatusTooManyRequests)
		e.RetryAfter = engine.RetryAfter(err)
		return e
	case errors.Is(err, engine.ErrExternalNotAllowed),
		errors.Is(err, engine.ErrPolicyMismatch),
		errors.Is(err, engine.ErrTenantMismatch),
		errors.Is(err, engine.ErrUserDisabled),
		errors.Is(err, engine.ErrTenantDisabled),
		errors.Is(err, engine.ErrSessionLimit),
		errors.Is(err, engine.ErrRefreshNotEnabled),
		errors.Is(err, engine.ErrUnauthorizedClient),
		errors.Is(err, engine.ErrMembershipRequired),
		errors.Is(err, engine.ErrReauthenticationRequired):
		return st(http.StatusForbidden)
	case errors.Is(err, engine.ErrInvalidCredentials),
		errors.Is(err, engine.ErrInvalidToken),
		errors.Is(err, engine.ErrTokenExpired),
		errors.Is(err, engine.ErrTokenRevoked),
		errors.Is(err, engine.ErrTokenReused),
		errors.Is(err, engine.ErrWrongTokenUse),
		errors.Is(err, engine.ErrUnknownTenant),
		errors.Is(err, engine.ErrInvalidClient):
		return st(http.StatusUnauthorized)
	case errors.Is(err, engine.ErrUnknownOrganisation),
		errors.Is(err, engine.ErrUnknownMembership),
		errors.Is(err, engine.ErrUnknownAPIToken),
		errors.Is(err, engine.ErrUnknownUser),
		errors.Is(err, engine.ErrUnknownClient),
		errors.Is(err, engine.ErrUnknownSession), errors.Is(err, engine.ErrUnknownKey):
		return st(http.StatusNotFound)
	case errors.Is(err, engine.ErrAlreadyExists), errors.Is(err, engine.ErrInUse), errors.Is(err, engine.ErrAPITokenLimit):
		return st(http.StatusConflict)
	}
	return &Error{Status: http.StatusInternalServerError, Message: "internal error"}
}

// writeError writes err in the AGS shape; internal errors are logged and
// never shown.
func (h *Handler) writeError(ctx context.Context, w http.ResponseWriter, err error) {
	ae := *toError(err)
	if ae.Status >= 500 {
		obs.Failure(ctx, h.log, slog.LevelError, "ags request failed", err)
	}
	ae.Text = http.StatusText(ae.Status)
	ae.CorrelationID = obs.Request(ctx).CorrelationID
	httpx.NoStore(w)
	if ae.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tokengate"`)
	}
	if ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ae.RetryAfter))
	}
	httpx.WriteJSON(w, ae.Status, ae)
}
