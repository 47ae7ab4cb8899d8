// Package syncgw is tokengate's Couchbase Sync Gateway-compatible surface:
// GET|POST /{bucket}/_oidc_refresh renews an access token (returned as
// id_token) from a stable refresh token, as the Whitespace API documents.
//
// Sync Gateway returns no new refresh token, so only stable sessions are
// served here: API refresh tokens (from the User Profile page or
// `tokengate apitoken create`) and Core-dialect sign-ons. A rotating token
// is refused with a reason naming the sign-on it belongs to.
//
// The GET form carries the refresh token in the URL, which ends up in
// shell history, proxies' logs and browser history. tokengate redacts it
// from its own logs, answers with Cache-Control: no-store and
// Referrer-Policy: no-referrer, and also accepts the POST form
// (application/x-www-form-urlencoded body refresh_token=…), which keeps the
// token out of every URL: prefer it whenever the client can choose.
package syncgw

import (
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/internal/store"
)

// Handler serves _oidc_refresh for the configured buckets.
type Handler struct {
	eng     *engine.Engine
	log     *slog.Logger
	buckets []string
}

// New returns the Sync Gateway handler for buckets.
func New(eng *engine.Engine, log *slog.Logger, buckets []string) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{eng: eng, log: log, buckets: slices.Clone(buckets)}
}

// ServeHTTP answers every request to a path of the form
// /{bucket}/_oidc_refresh (see IsRefreshPath), whatever its method and
// bucket: a configured bucket's GET or POST refreshes, an unknown bucket
// gets Sync Gateway's 404 and another method its 405 with Allow. The node's
// front router sends all such paths here, so that a proxy prefix that
// contains them (/api/) does not take them.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.refresh(w, r) }

// IsRefreshPath reports whether path has the form /{bucket}/_oidc_refresh.
func IsRefreshPath(path string) bool {
	rest, ok := strings.CutSuffix(path, "/_oidc_refresh")
	return ok && strings.Count(rest, "/") == 1 && len(rest) > 1
}

// Bucket returns the bucket of a /{bucket}/_oidc_refresh path.
func Bucket(path string) string {
	b, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return b
}

// response is Sync Gateway's _oidc_refresh answer.
type response struct {
	IDToken   string `json:"id_token"`
	SessionID string `json:"session_id"`
	Name      string `json:"name"`
}

func (h *Handler) refresh(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	httpx.NoStore(w)
	if !slices.Contains(h.buckets, Bucket(r.URL.Path)) {
		writeError(w, r, h.log, errNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		// HEAD too: a refresh whose answer nobody reads is not wanted.
		w.Header().Set("Allow", "GET, POST")
		writeError(w, r, h.log, errMethod)
		return
	}
	tok, err := refreshToken(r)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	g, err := h.eng.Refresh(r.Context(), engine.RefreshRequest{Token: tok, Policy: store.PolicyStable})
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, response{IDToken: g.AccessToken, SessionID: g.Session.ID, Name: g.User.Name})
}

// refreshToken reads refresh_token from the query (GET) or from a form
// body (POST), refusing repeated values and a token in both places.
func refreshToken(r *http.Request) (string, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "", errBadRequest("query string could not be parsed")
	}
	vals := q["refresh_token"]
	if r.Method == http.MethodPost {
		if len(vals) > 0 {
			return "", errBadRequest("send refresh_token in the body only, not in the URL")
		}
		if !httpx.IsForm(r) {
			return "", errBadRequest("the body must be application/x-www-form-urlencoded")
		}
		form, err := httpx.ReadForm(r)
		if err != nil {
			return "", errBadRequest("the body could not be parsed")
		}
		vals = form["refresh_token"]
	}
	switch {
	case len(vals) == 0 || vals[0] == "":
		return "", errBadRequest("Missing refresh_token")
	case len(vals) > 1:
		return "", errBadRequest("refresh_token is repeated")
	}
	return vals[0], nil
}
