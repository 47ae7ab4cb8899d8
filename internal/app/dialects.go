package app

import (
	"net/http"

	"github.com/tokengate/tokengate/internal/dialect/ags"
	"github.com/tokengate/tokengate/internal/dialect/core"
	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/openapi"
)

// registerDialects mounts the Core and AGS dialects (when enabled) with
// external OIDC sign-on, and the OpenAPI document.
func registerDialects(mux *http.ServeMux, a *App, ext *idp.Registry) {
	if a.Config.Core.Enabled {
		core.New(a.Engine, ext, a.Config.Core, a.Started, a.Log).Register(mux)
	}
	if a.Config.AGS.Enabled {
		ags.New(a.Engine, ext, a.Config.AGS, a.Log).Register(mux)
	}
	openapi.Register(mux)
}
