package proxy

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/internal/obs"
)

// Reasons of the WSAUTH error family, the Whitespace API's shape
// {"reason": …, "error": true}.
const (
	ReasonUserID      = "Invalid WSAUTH: Valid UserID must be supplied"
	ReasonNoToken     = "Invalid WSAUTH: an Authorization: Bearer token must be supplied"
	ReasonBadToken    = "Invalid WSAUTH: token is invalid, expired or revoked"
	ReasonNoSession   = "Invalid WSAUTH: token does not belong to a user"
	reasonUpstream    = "upstream unavailable"
	reasonInternal    = "internal error"
	reasonMethod      = "method not allowed"
	reasonNotFound    = "not found"
	reasonBusy        = "server busy, try again"
	reasonUnavailable = "service temporarily unavailable, try again"
	reasonThrottled   = "too many requests, try again later"
	reasonRequest     = "bad request"
)

var (
	errNoToken   = errors.New("no bearer token")
	errNoSession = errors.New("token without a session")
	errMethod    = errors.New("method not allowed")
	errNotFound  = errors.New("not found")
	// errUpstream marks a failed round trip to the upstream.
	errUpstream = errors.New("upstream unavailable")
)

// failure is what the proxy answers for one kind of refusal or failure,
// in the words of every shape a route may name.
type failure struct {
	status int
	reason string // WSAUTH reason
	// code is the plain shape's error; bearer is the RFC 6750 §3.1 error
	// code of the challenge ("" for none: a request without a token).
	code, bearer string
	detail       string // the message of the core and plain shapes
}

var (
	failUserID    = failure{http.StatusUnauthorized, ReasonUserID, "membership_required", "", "a valid UserID header naming one of your memberships must be supplied"}
	failNoToken   = failure{http.StatusUnauthorized, ReasonNoToken, "unauthorized", "", "an Authorization: Bearer token must be supplied"}
	failNoSession = failure{http.StatusUnauthorized, ReasonNoSession, "invalid_token", "invalid_token", "the token does not belong to a user"}
	failBadToken  = failure{http.StatusUnauthorized, ReasonBadToken, "invalid_token", "invalid_token", "the token is invalid, expired or revoked"}
	failMethod    = failure{http.StatusMethodNotAllowed, reasonMethod, "method_not_allowed", "", "method not allowed"}
	failNotFound  = failure{http.StatusNotFound, reasonNotFound, "not_found", "", "not found"}
	failBadPath   = failure{http.StatusBadRequest, reasonBadPath, "invalid_request", "", "encoded dot segments, encoded slashes and backslashes are not allowed in the path"}
	failRequest   = failure{http.StatusBadRequest, reasonRequest, "invalid_request", "", "bad request"}
	failBusy      = failure{http.StatusServiceUnavailable, reasonBusy, "temporarily_unavailable", "", "server busy, try again"}
	// failUnavailable: the store can't say whether the session is live
	// (or can't record what the request needs), so the request is refused.
	failUnavailable = failure{http.StatusServiceUnavailable, reasonUnavailable, "temporarily_unavailable", "", "service temporarily unavailable, try again"}
	failThrottled   = failure{http.StatusTooManyRequests, reasonThrottled, "too_many_requests", "", "too many requests, try again later"}
	failUpstream    = failure{http.StatusBadGateway, reasonUpstream, "bad_gateway", "", "upstream unavailable"}
	failInternal    = failure{http.StatusInternalServerError, reasonInternal, "server_error", "", "internal error"}
)

// toFailure maps an error to what the proxy answers. It is the only place
// where the proxy decides error statuses; the shape writers below only
// word them. The words are the fixed texts above, never err.Error(): the
// proxy fails closed, and says no more than WSAUTH does about why. Any
// refusal by the engine, whatever its class, is a bad token, but a
// membership that is missing or unknown (the UserID header's), a bad
// request, and a node that is busy, throttling or whose store is
// unavailable: then no request reaches the upstream either.
func toFailure(err error) failure {
	switch {
	case errors.Is(err, engine.ErrMembershipRequired),
		errors.Is(err, engine.ErrUnknownMembership),
		errors.Is(err, engine.ErrUnknownOrganisation):
		return failUserID
	case errors.Is(err, errNoToken):
		return failNoToken
	case errors.Is(err, errNoSession):
		return failNoSession
	case errors.Is(err, errMethod):
		return failMethod
	case errors.Is(err, errBadPath):
		return failBadPath
	case errors.Is(err, errNotFound):
		return failNotFound
	case errors.Is(err, errUpstream):
		return failUpstream
	}
	switch engine.ClassOf(err) {
	case engine.ClassInternal:
		return failInternal
	case engine.ClassBadRequest:
		return failRequest
	case engine.ClassThrottled:
		return failThrottled
	case engine.ClassBusy:
		return failBusy
	case engine.ClassUnavailable:
		return failUnavailable
	default:
		return failBadToken
	}
}

// writeError writes err in the route's error shape (config.ErrorsCore,
// config.ErrorsPlain, or the Whitespace API's WSAUTH otherwise). Internal
// errors are logged, never shown.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, shape string, err error) {
	f := toFailure(err)
	if f.status == http.StatusInternalServerError {
		obs.Failure(r.Context(), log, slog.LevelError, "proxy request failed", err)
	}
	if n := engine.RetryAfter(err); n > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(n))
	}
	w.Header().Set("Cache-Control", "no-store")
	switch shape {
	case config.ErrorsCore:
		writeCore(w, f)
	case config.ErrorsPlain:
		writePlain(w, f)
	default:
		writeWSAUTH(w, f)
	}
}

// wsauth is the Whitespace API's error body.
type wsauth struct {
	Reason string `json:"reason"`
	Error  bool   `json:"error"`
}

// writeWSAUTH writes the Whitespace API's shape.
func writeWSAUTH(w http.ResponseWriter, f failure) {
	if f.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tokengate"`)
	}
	httpx.WriteJSON(w, f.status, wsauth{Reason: f.reason, Error: true})
}

// coreError is datarhei Core's error body, as the Core dialect writes it
// (internal/dialect/core/errors.go): the status, its text, and details.
type coreError struct {
	Code    int      `json:"code"`
	Message string   `json:"message"`
	Details []string `json:"details"`
}

// writeCore writes Core's shape, with the challenge Core's dialect sends.
func writeCore(w http.ResponseWriter, f failure) {
	if f.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tokengate"`)
	}
	httpx.WriteJSON(w, f.status, coreError{Code: f.status, Message: http.StatusText(f.status), Details: []string{f.detail}})
}

// writePlain writes {"error","message"}, the admin API's shape, and on a
// 401 the RFC 6750 §3 challenge: with error="invalid_token" (and its
// description) when the token is the problem, without an error code when
// the request carried none (§3.1).
func writePlain(w http.ResponseWriter, f failure) {
	if f.status == http.StatusUnauthorized {
		c := `Bearer realm="tokengate"`
		if f.bearer != "" {
			c += `, error="` + f.bearer + `", error_description=` + strconv.Quote(f.detail)
		}
		w.Header().Set("WWW-Authenticate", c)
	}
	httpx.WriteJSON(w, f.status, map[string]string{"error": f.code, "message": f.detail})
}
