package app

import (
	"net/http"

	"github.com/tokengate/tokengate/internal/adminapi"
	"github.com/tokengate/tokengate/internal/dialect/syncgw"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/proxy"
)

// registerWhitespace mounts the Whitespace API's surfaces on mux (the
// proxy routes and the admin/profile JSON API, which names ext's issuers
// when linking identities) and returns the Sync Gateway dialect, nil when
// it is disabled, for the front router, which serves
// /{bucket}/_oidc_refresh itself.
func registerWhitespace(mux *http.ServeMux, a *App, ext *idp.Registry) http.Handler {
	// Validate already parsed the trusted proxies.
	trusted, _ := a.Config.Proxy.TrustedPrefixes()
	p, err := proxy.New(a.Engine, proxy.Options{
		Routes: a.Config.Proxy.Routes, Bound: a.Config.Proxy.RevocationBound.D(), CacheSize: a.Config.Proxy.CacheSize, Log: a.Log,
		TrustedProxies: trusted,
		Registerer:     a.Registry,
	})
	if err != nil {
		// Validate already checked the routes; this can't happen with a
		// validated configuration.
		a.Log.Error("proxy routes not mounted", "err", err)
	} else {
		p.Register(mux)
	}
	adminapi.New(a.Engine, a.Log, ext).Register(mux)
	if !a.Config.SyncGW.Enabled {
		return nil
	}
	return syncgw.New(a.Engine, a.Log, a.Config.SyncGW.Buckets)
}

// notFound answers a request no surface serves.
func notFound(w http.ResponseWriter, r *http.Request) {
	httpx.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "message": "no such endpoint"}) // never echo the path
}
