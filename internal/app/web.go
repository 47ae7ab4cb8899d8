package app

import (
	"net/http"

	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/web"
)

// registerWeb mounts the web UI under /ui/ when it is enabled, and returns
// what a browser's GET / is redirected to (nil without the UI).
func registerWeb(mux *http.ServeMux, a *App, ext *idp.Registry) http.Handler {
	if !a.Config.Web.Enabled {
		return nil
	}
	opts := web.Options{PublicURL: a.Config.Issuer(), Key: a.webKey, Log: a.Log}
	if ext.Configured() {
		opts.Login = ext
	}
	h, err := web.New(a.Engine, opts)
	if err != nil {
		// The options come from a validated configuration and the derived
		// key; this can't fail with them.
		a.Log.Error("web UI not mounted", "err", err)
		return nil
	}
	h.Register(mux)
	return http.RedirectHandler(web.Prefix, http.StatusSeeOther)
}

// root answers what no surface serves: a browser's GET / goes to the web
// UI (uiRoot, nil without it); anything else, curl's GET / included, gets
// the JSON 404.
func root(uiRoot http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if uiRoot != nil && r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) && web.AcceptsHTML(r) {
			uiRoot.ServeHTTP(w, r)
			return
		}
		notFound(w, r)
	}
}
