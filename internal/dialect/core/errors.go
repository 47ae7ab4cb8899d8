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
// where this dialect decides statuses: the engine's class of the error
// (httpx.Status), except that Core answers every refusal of a party, 403
// included, and an unknown tenant with 401. Details are the dialect's own
// or the engine's public text, never err.Error().
func toError(err error) *Error {
	var ce *Error
	if errors.As(err, &ce) {
		return ce
	}
	class := engine.ClassOf(err)
	code := httpx.Status(class)
	switch {
	case class == engine.ClassInternal:
		return &Error{Code: code, Message: http.StatusText(code), Details: []string{"internal error"}}
	case class == engine.ClassForbidden, errors.Is(err, engine.ErrUnknownTenant):
		code = http.StatusUnauthorized
	}
	return &Error{Code: code, Message: http.StatusText(code), Details: []string{engine.PublicText(err)}, RetryAfter: engine.RetryAfter(err)}
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
