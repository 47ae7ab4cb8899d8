// Package adminapi is tokengate's JSON admin API for organisations and
// memberships (/admin/api/…, for administrators) and the User Profile's
// API-token endpoints (/profile/api-tokens, for any signed-on user). Both
// authenticate with a bearer access token whose session is live.
package adminapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/internal/obs"
)

// Handler serves the admin and profile APIs.
type Handler struct {
	eng     *engine.Engine
	log     *slog.Logger
	issuers Issuers
	// reauth is the engine's reauthentication window: the max_age of the
	// step-up challenge.
	reauth time.Duration
}

// Issuers names the external issuers a tenant trusts, by service id or
// iss URL; package idp provides it.
type Issuers interface {
	IssuerURL(tenant, idOrURL string) (string, bool)
}

// New returns the handler. issuers may be nil when no external issuer is
// configured.
func New(eng *engine.Engine, log *slog.Logger, issuers Issuers) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{eng: eng, log: log, issuers: issuers, reauth: eng.ReauthWindow()}
}

// Register mounts the endpoints on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/api/organisations", h.admin(h.listOrgs))
	mux.HandleFunc("POST /admin/api/organisations", h.admin(h.createOrg))
	mux.HandleFunc("GET /admin/api/organisations/{name}", h.admin(h.getOrg))
	mux.HandleFunc("DELETE /admin/api/organisations/{name}", h.admin(h.deleteOrg))
	mux.HandleFunc("GET /admin/api/memberships", h.admin(h.listMemberships))
	mux.HandleFunc("POST /admin/api/memberships", h.admin(h.addMembership))
	mux.HandleFunc("GET /admin/api/memberships/{id}", h.admin(h.getMembership))
	mux.HandleFunc("DELETE /admin/api/memberships/{id}", h.admin(h.removeMembership))
	mux.HandleFunc("PUT /admin/api/memberships/{id}/channels", h.admin(h.setChannels))
	mux.HandleFunc("GET /admin/api/clients", h.admin(h.listClients))
	mux.HandleFunc("POST /admin/api/clients", h.admin(h.createClient))
	mux.HandleFunc("GET /admin/api/clients/{id}", h.admin(h.getClient))
	mux.HandleFunc("PATCH /admin/api/clients/{id}", h.admin(h.updateClient))
	mux.HandleFunc("DELETE /admin/api/clients/{id}", h.admin(h.removeClient))
	mux.HandleFunc("POST /admin/api/clients/{id}/disable", h.admin(h.disableClient))
	mux.HandleFunc("POST /admin/api/clients/{id}/enable", h.admin(h.enableClient))
	mux.HandleFunc("POST /admin/api/clients/{id}/secret", h.admin(h.rotateSecret))
	mux.HandleFunc("GET /admin/api/keys", h.operator(h.listKeys))
	mux.HandleFunc("POST /admin/api/keys/{kid}/revoke", h.operator(h.revokeKey))
	mux.HandleFunc("POST /admin/api/users/{name}/identities", h.admin(h.linkIdentity))
	mux.HandleFunc("POST /profile/api-tokens", h.user(h.createToken))
	mux.HandleFunc("GET /profile/api-tokens", h.user(h.listTokens))
	mux.HandleFunc("DELETE /profile/api-tokens/{id}", h.user(h.revokeToken))
}

// caller is the authenticated user of a request.
type caller struct {
	engine.Principal
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, c caller) error

var (
	errUnauthenticated = errors.New("a valid bearer access token is required")
	errForbidden       = errors.New("administrator rights are required")
)

func (h *Handler) authenticate(r *http.Request) (caller, error) {
	tok, ok := httpx.BearerToken(r)
	if !ok {
		return caller{}, errUnauthenticated
	}
	c, err := h.eng.VerifyAccess(tok)
	if err != nil || c.SessionID == "" {
		return caller{}, errUnauthenticated
	}
	p, err := h.eng.Principal(r.Context(), c.SessionID)
	if err != nil {
		if errors.Is(err, engine.ErrTokenRevoked) || errors.Is(err, engine.ErrTokenExpired) ||
			errors.Is(err, engine.ErrInvalidToken) || errors.Is(err, engine.ErrUserDisabled) {
			return caller{}, errUnauthenticated
		}
		return caller{}, err
	}
	return caller{p}, nil
}

func (h *Handler) user(fn handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		httpx.NoStore(w)
		c, err := h.authenticate(r)
		if err == nil {
			err = fn(w, r, c)
		}
		if err != nil {
			h.writeError(w, r, err)
		}
	}
}

func (h *Handler) admin(fn handlerFunc) http.HandlerFunc {
	return h.user(func(w http.ResponseWriter, r *http.Request, c caller) error {
		if !c.User.Admin {
			return errForbidden
		}
		return fn(w, r, c)
	})
}

// operator wraps an endpoint of the node's own resources (signing keys),
// which administrators of the default tenant manage.
func (h *Handler) operator(fn handlerFunc) http.HandlerFunc {
	return h.user(func(w http.ResponseWriter, r *http.Request, c caller) error {
		if !h.eng.IsOperator(c.User, c.Tenant) {
			return errForbidden
		}
		return fn(w, r, c)
	})
}

// writeError writes err as {"error": code, "message": client-safe text};
// internal errors are logged and shown as "internal error".
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := toError(err)
	if status >= 500 {
		obs.Failure(r.Context(), h.log, slog.LevelError, "admin api request failed", err)
	}
	switch {
	case errors.Is(err, engine.ErrReauthenticationRequired):
		// RFC 9470 §3: the step-up challenge, with the age of sign-on
		// that would do.
		ch := fmt.Sprintf(`Bearer realm="tokengate", error="insufficient_user_authentication", error_description=%q`, strings.ReplaceAll(msg, `"`, "'"))
		if h.reauth > 0 {
			ch += fmt.Sprintf(", max_age=%d", int(h.reauth/time.Second))
		}
		w.Header().Set("WWW-Authenticate", ch)
	case status == http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="tokengate"`)
	}
	if n := engine.RetryAfter(err); n > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(n))
	}
	httpx.WriteJSON(w, status, map[string]string{"error": code, "message": msg})
}

// classCodes is the error code of each class of engine error; the status
// is the class's (httpx.Status).
var classCodes = map[engine.Class]string{
	engine.ClassBadRequest:   "invalid_request",
	engine.ClassUnauthorized: "unauthorized",
	engine.ClassForbidden:    "forbidden",
	engine.ClassNotFound:     "not_found",
	engine.ClassConflict:     "conflict",
	engine.ClassThrottled:    "too_many_requests",
	engine.ClassBusy:         "temporarily_unavailable",
	engine.ClassUnavailable:  "temporarily_unavailable",
}

// toError is the one place that maps errors to statuses: the API's own
// refusals, a few sentinels with codes of their own, and otherwise the
// engine's class of the error. Messages are the API's own fixed texts or
// the engine's public text (engine.PublicText), never err.Error(), so no
// wrapped internal text reaches a client.
func toError(err error) (status int, code, msg string) {
	var bb *badBody
	public := engine.PublicText(err)
	switch {
	case errors.Is(err, errUnauthenticated):
		return http.StatusUnauthorized, "unauthorized", errUnauthenticated.Error()
	case errors.Is(err, errForbidden):
		return http.StatusForbidden, "forbidden", errForbidden.Error()
	case errors.As(err, &bb):
		return http.StatusBadRequest, "invalid_request", bb.msg
	case errors.Is(err, engine.ErrRefreshNotEnabled):
		return http.StatusForbidden, "refresh_not_enabled", public
	case errors.Is(err, engine.ErrReauthenticationRequired):
		return http.StatusUnauthorized, "insufficient_user_authentication", public
	case errors.Is(err, engine.ErrAPITokenLimit):
		return http.StatusConflict, "api_token_limit", public
	}
	class := engine.ClassOf(err)
	if class == engine.ClassInternal {
		return http.StatusInternalServerError, "server_error", "internal error"
	}
	return httpx.Status(class), classCodes[class], public
}

// badBody is a request body the API can't read. Its message describes the
// client's own body, as httpx.DecodeJSON words it for clients.
type badBody struct{ msg string }

func (b *badBody) Error() string { return b.msg }

var errBadBody = &badBody{msg: "invalid request body"}

func decode(r *http.Request, v any) error {
	if err := httpx.DecodeJSON(r, v, true); err != nil {
		return &badBody{msg: errBadBody.msg + "\n" + err.Error()}
	}
	return nil
}

// writeList answers 200 with the records items as the API shows them: a
// JSON array, empty rather than null.
func writeList[T, J any](w http.ResponseWriter, items []T, out func(T) J) error {
	list := make([]J, 0, len(items))
	for _, it := range items {
		list = append(list, out(it))
	}
	httpx.WriteJSON(w, http.StatusOK, list)
	return nil
}

func ts(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
