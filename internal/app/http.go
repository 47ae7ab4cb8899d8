package app

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tokengate/tokengate/internal/dialect/oauth2"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/internal/idp"
)

// Handler returns the node's HTTP surface: every dialect, the proxy, the
// admin API, health, readiness and metrics (unless metrics.listen serves
// them apart, see MetricsHandler), behind the front router and the shared
// middleware.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	ext := idp.New(a.Config.OIDC, a.Config.DefaultTenant, a.Engine, a.Log, nil)
	var exchange oauth2.ExternalVerifier // nil: no RFC 8693 token exchange
	if ext.Configured() {
		exchange = ext
	}
	oauth2.New(a.Engine, a.Log, exchange).Register(mux)
	registerDialects(mux, a, ext)
	uiRoot := registerWeb(mux, a, ext)
	refresh := registerWhitespace(mux, a, ext)

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := a.Ready(r.Context()); err != nil {
			a.Log.WarnContext(r.Context(), "not ready", "err", err)
			httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	if a.Config.Metrics.Listen == "" {
		mux.Handle("GET /metrics", a.metrics())
	}
	mux.HandleFunc("/", root(uiRoot))
	mw := httpx.NewMiddleware(a.Log, a.Registry)
	// Validate already parsed them.
	mw.TrustedProxies, _ = a.Config.Proxy.TrustedPrefixes()
	mw.Access = a.Config.Log.Access
	return mw.Wrap(&front{refresh: refresh, mux: mux})
}

// MetricsHandler returns what the metrics listener (metrics.listen)
// serves: GET /metrics and a 404 for anything else. Its own requests are
// not counted in the metrics it serves.
func (a *App) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metrics())
	mux.HandleFunc("/", notFound)
	return mux
}

func (a *App) metrics() http.Handler {
	return promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(a.Log.Handler(), slog.LevelError)})
}
