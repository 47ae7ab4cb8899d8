package oauth2

import (
	"net/http"
)

// CORS (the Fetch standard's CORS protocol) for browser applications: a
// single-page app redeems its code, refreshes, revokes and reads userinfo
// from its own origin. Only the origins of registered redirect URIs of
// authorization code clients are allowed (engine.AllowedOrigin), never
// with credentials: these endpoints take tokens and client credentials in
// the request, not cookies. Discovery and the JWKS are public documents,
// readable from any origin.

// cors wraps an endpoint for the origins the engine allows; methods are
// what a preflight may ask for.
func (h *Handler) cors(methods string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" {
			w.Header().Add("Vary", "Origin")
			ok, err := h.eng.AllowedOrigin(r.Context(), origin)
			if err != nil {
				writeError(r.Context(), h.log, w, err)
				return
			}
			if ok {
				w.Header().Set("Access-Control-Allow-Origin", origin)
				w.Header().Set("Access-Control-Expose-Headers", "WWW-Authenticate, Retry-After")
			}
			if r.Method == http.MethodOptions {
				if ok {
					w.Header().Set("Access-Control-Allow-Methods", methods)
					w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
					w.Header().Set("Access-Control-Max-Age", "600")
				}
				w.WriteHeader(http.StatusNoContent)
				return
			}
		} else if r.Method == http.MethodOptions {
			w.Header().Set("Allow", methods+", OPTIONS")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next(w, r)
	}
}

// public lets any origin read a public document.
func public(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		next(w, r)
	}
}
