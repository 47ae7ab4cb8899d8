package core

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/internal/obs"
)

// Error is Core's error body.
type Error struct {
	Code    int      `json:"code"`
	Message string   `json:"message"`
	Details []string `json:"details"`
	// RetryAfter is the seconds of a Retry-After header; 0 for none.
	RetryAfter int `json:"-"`
}

func (e *Error) Error() string { return e.Message }

func errBadRequest(detail string) *Error {
	return &Error{Code: http.StatusBadRequest, Message: "Bad Request", Details: []string{detail}}
}

func errUnauthorized(detail string) *Error {
	return &Error{Code: http.StatusUnauthorized, Message: "Unauthorized", Details: []string{detail}}
}

// toError maps an error to Core's status and body. It is the only place
// where this dialect decides statuses. Details are the dialect's own or the
// engine's public text, never err.Error().
func toError(err error) *Error {
	var ce *Error
	if errors.As(err, &ce) {
		return ce
	}
	switch {
	case errors.Is(err, engine.ErrInvalidRequest):
		return errBadRequest(engine.PublicText(err))
	case errors.Is(err, engine.ErrBusy):
		return &Error{Code: http.StatusServiceUnavailable, Message: "Service Unavailable", Details: []string{engine.PublicText(err)}}
	case errors.Is(err, engine.ErrThrottled):
		return &Error{Code: http.StatusTooManyRequests, Message: http.StatusText(http.StatusTooManyRequests), Details: []string{engine.PublicText(err)},
			RetryAfter: engine.RetryAfter(err)}
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
		errors.Is(err, engine.ErrUnknownTenant),
		errors.Is(err, engine.ErrInvalidClient),
		errors.Is(err, engine.ErrUnauthorizedClient),
		errors.Is(err, engine.ErrMembershipRequired),
		errors.Is(err, engine.ErrReauthenticationRequired):
		return errUnauthorized(engine.PublicText(err))
	case errors.Is(err, engine.ErrUnknownOrganisation),
		errors.Is(err, engine.ErrUnknownMembership),
		errors.Is(err, engine.ErrUnknownAPIToken),
		errors.Is(err, engine.ErrUnknownUser),
		errors.Is(err, engine.ErrUnknownClient),
		errors.Is(err, engine.ErrUnknownSession), errors.Is(err, engine.ErrUnknownKey):
		return &Error{Code: http.StatusNotFound, Message: "Not Found", Details: []string{engine.PublicText(err)}}
	case errors.Is(err, engine.ErrAlreadyExists), errors.Is(err, engine.ErrInUse), errors.Is(err, engine.ErrAPITokenLimit):
		return &Error{Code: http.StatusConflict, Message: "Conflict", Details: []string{engine.PublicText(err)}}
	}
	return &Error{Code: http.StatusInternalServerError, Message: "Internal Server Error", Details: []string{"internal error"}}
}

// writeError writes err in Core's shape; internal errors are logged and
// never shown.
func (h *Handler) writeError(ctx context.Context, w http.ResponseWriter, err error) {
	ce := toError(err)
	if ce.Code >= 500 {
		obs.Failure(ctx, h.log, slog.LevelError, "core request failed", err)
	}
	httpx.NoStore(w)
	if ce.Code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tokengate"`)
	}
	if ce.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ce.RetryAfter))
	}
	httpx.WriteJSON(w, ce.Code, ce)
}

func buildSetting(key string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == key {
				return s.Value
			}
		}
	}
	return ""
}
