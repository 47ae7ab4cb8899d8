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
// this dialect decides statuses: the engine's class of the error
// (httpx.Status: 400 malformed, 401 bad credentials or tokens, 403 a valid
// party that may not do this, 404 an unknown record, 409, 429, 503), but
// 403 for an external identity that is not allowed and 401 for an unknown
// tenant, which AGS clients take for a failed sign-on. Messages are the
// dialect's own or the engine's public text, never err.Error().
func toError(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	status := httpx.Status(engine.ClassOf(err))
	switch {
	case status == http.StatusInternalServerError:
		return &Error{Status: status, Message: "internal error"}
	case errors.Is(err, engine.ErrExternalNotAllowed):
		status = http.StatusForbidden
	case errors.Is(err, engine.ErrUnknownTenant):
		status = http.StatusUnauthorized
	}
	return &Error{Status: status, Message: engine.PublicText(err), RetryAfter: engine.RetryAfter(err)}
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
