package app

import (
	"net/http"
	"path"

	"github.com/tokengate/tokengate/internal/dialect/syncgw"
)

// refreshPattern names Sync Gateway's route in metrics, as a mux pattern
// would.
const refreshPattern = "/{bucket}/_oidc_refresh"

// front is the node's one way in: it decides, once per request, which
// surface answers it.
//
//   - /{bucket}/_oidc_refresh, when Sync Gateway is enabled, goes to the
//     syncgw dialect whatever the method and bucket: it answers a known
//     bucket's GET and POST, an unknown bucket with its own 404 and other
//     methods (HEAD too) with 405 and Allow. This holds also under a proxy
//     prefix such as /api/ that would otherwise take the path.
//   - Everything else goes to the mux: the dialects, the proxy's route
//     prefixes, the admin API and the operational endpoints. The mux's
//     most-specific-pattern rule is the precedence wanted between them (the
//     Core dialect's /api/login stands inside the demo's /api/ prefix), and
//     its "/" pattern answers the JSON 404.
//
// Only clean paths are routed here; the mux redirects the others to their
// clean form, as for every other route.
type front struct {
	refresh http.Handler // nil when Sync Gateway is disabled
	mux     *http.ServeMux
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.refresh != nil && syncgw.IsRefreshPath(r.URL.Path) && path.Clean(r.URL.Path) == r.URL.Path {
		r.Pattern = refreshPattern
		f.refresh.ServeHTTP(w, r)
		return
	}
	f.mux.ServeHTTP(w, r)
}
