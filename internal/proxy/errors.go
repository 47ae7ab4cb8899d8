package proxy

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/internal/obs"
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
// place where the proxy decides error statuses.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, reason := http.StatusUnauthorized, ""
	switch {
	case errors.Is(err, engine.ErrMembershipRequired):
		reason = ReasonUserID
	case errors.Is(err, errNoToken):
		reason = ReasonNoToken
	case errors.Is(err, errNoSession):
		reason = ReasonNoSession
	case errors.Is(err, engine.ErrInvalidToken), errors.Is(err, engine.ErrTokenExpired),
		errors.Is(err, engine.ErrTokenRevoked), errors.Is(err, engine.ErrWrongTokenUse):
		reason = ReasonBadToken
	case errors.Is(err, errMethod):
		status, reason = http.StatusMethodNotAllowed, reasonMethod
	case errors.Is(err, errNotFound):
		status, reason = http.StatusNotFound, reasonNotFound
	default:
		status, reason = http.StatusInternalServerError, reasonInternal
		obs.Failure(r.Context(), log, slog.LevelError, "proxy request failed", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tokengate"`)
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, status, wsauth{Reason: reason, Error: true})
}
