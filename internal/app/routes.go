package app

import (
	"net/http"

	"github.com/tokengate/tokengate/internal/adminapi"
	"github.com/tokengate/tokengate/internal/dialect/syncgw"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/proxy"
)

// registerWhitespace mounts the Whitespace API's surfaces: the proxy
// routes (first, so that Sync Gateway's catch-all yields to them), the Sync
// Gateway dialect, and the admin/profile JSON API (which names ext's
// issuers when linking identities).
func registerWhitespace(mux *http.ServeMux, a *App, ext *idp.Registry) {
	var sg *syncgw.Handler
	var handoff func(string) http.Handler
	if a.Config.SyncGW.Enabled {
		sg = syncgw.New(a.Engine, a.Log, a.Config.SyncGW.Buckets)
		handoff = func(path string) http.Handler {
			if syncgw.IsRefreshPath(path) {
				return sg
			}
			return nil
		}
	}
	p, err := proxy.New(a.Engine, proxy.Options{
		Routes: a.Config.Proxy.Routes, Bound: a.Config.Proxy.RevocationBound.D(), CacheSize: a.Config.Proxy.CacheSize, Log: a.Log,
		Handoff: handoff,
	})
	if err != nil {
		// Validate already checked the routes; this can't happen with a
		// validated configuration.
		a.Log.Error("proxy routes not mounted", "err", err)
	} else {
		p.Register(mux)
	}
	if sg != nil {
		sg.Register(mux)
	}
	// The root sees only what no other pattern matched: an unknown bucket's
	// _oidc_refresh gets Sync Gateway's own 404 and a known one's other
	// methods its 405 (the mux would answer this pattern rather than 405),
	// anything else a JSON 404.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if sg != nil && syncgw.IsRefreshPath(r.URL.Path) {
			sg.ServeHTTP(w, r)
			return
		}
		httpx.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "message": "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
	adminapi.New(a.Engine, a.Log, ext).Register(mux)
}
