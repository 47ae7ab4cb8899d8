// Package ags is tokengate's Authentication Gateway Service-compatible
// dialect: service discovery, POST /ags/signOn, /ags/refresh and
// /ags/signOff. Sessions use the "ags" service's rotating policy, with a
// sliding refresh lifetime and a fixed absolute one; the dialect parses
// AGS's request shape, calls the engine and writes AGS's shapes.
package ags

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
)

// Header names of the AGS API.
const (
	HeaderTenant  = "nv-tenant-id"
	HeaderService = "x-auth-service-id"
)

// PasswordService is the id of the username/password sign-on service.
const PasswordService = "password"

// External signs a user on with an external OIDC token; provided by
// package idp.
type External interface {
	SignOn(ctx context.Context, tenant, service, raw string, req engine.SignOnRequest) (*engine.Grant, error)
	Issuers(tenant string) []config.OIDCIssuer
}

// Handler serves the AGS endpoints.
type Handler struct {
	eng *engine.Engine
	ext External
	cfg config.AGS
	log *slog.Logger
}

// New returns the AGS handler. The AGS claims (Claims) are installed on the
// "ags" policy when the engine is built. ext may be nil (no OIDC services).
func New(eng *engine.Engine, ext External, cfg config.AGS, log *slog.Logger) *Handler {
	if cfg.PasswordDisplayName == "" {
		cfg.PasswordDisplayName = "Username and password"
	}
	return &Handler{eng: eng, ext: ext, cfg: cfg, log: log}
}

// Register mounts the endpoints on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /servicediscovery", h.discovery)
	mux.HandleFunc("GET /ags/servicediscovery", h.discovery)
	mux.HandleFunc("POST /ags/signOn", h.signOn)
	mux.HandleFunc("POST /ags/refresh", h.refresh)
	mux.HandleFunc("POST /ags/signOff", h.signOff)
	mux.HandleFunc("GET /ags/validate", h.validate)
}

// paramSpec is one parameter of an endpoint, as discovery lists it.
type paramSpec struct {
	Name       string `json:"name"`
	Mandatory  bool   `json:"mandatory"`
	IsPassword bool   `json:"isPassword"`
}

// service is a sign-on service of a tenant.
type service struct {
	id, name, logo  string
	oidc            bool
	signOn, refresh []paramSpec
}

var deviceParam = paramSpec{Name: "deviceId"}

func (h *Handler) passwordService() service {
	return service{id: PasswordService, name: h.cfg.PasswordDisplayName,
		signOn: []paramSpec{{Name: "username", Mandatory: true}, {Name: "password", Mandatory: true, IsPassword: true}, deviceParam},
		// AGS clients may repeat the username on refresh; it is accepted
		// and not needed, the refresh token names the session.
		refresh: []paramSpec{{Name: "username"}, deviceParam},
	}
}

// services lists a tenant's sign-on services: the password service and
// one per configured OIDC issuer.
func (h *Handler) services(tenant string) []service {
	out := []service{h.passwordService()}
	if h.ext != nil {
		for _, is := range h.ext.Issuers(tenant) {
			out = append(out, service{id: is.ID, name: is.DisplayName, logo: is.Logo, oidc: true,
				signOn:  []paramSpec{{Name: "id_token", Mandatory: true}, deviceParam},
				refresh: []paramSpec{deviceParam},
			})
		}
	}
	return out
}

func (h *Handler) service(tenant, id string) (service, bool) {
	for _, s := range h.services(tenant) {
		if s.id == id {
			return s, true
		}
	}
	return service{}, false
}

type discoveryResponse struct {
	AvailableServices []availableService `json:"availableServices"`
}

type availableService struct {
	AuthServiceName   string            `json:"authServiceName"`
	DisplayAttributes displayAttributes `json:"displayAttributes"`
	Endpoints         []endpoint        `json:"endpoints"`
}

type displayAttributes struct {
	Name string `json:"name"`
	Logo string `json:"logo"`
}

type endpoint struct {
	Name                string      `json:"name"`
	Path                string      `json:"path"`
	ParameterProperties []paramSpec `json:"parameterProperties"`
}

// discovery lists the sign-on services of the tenant named by
// nv-tenant-id (the default tenant when absent); 404 for an unknown or
// disabled tenant.
func (h *Handler) discovery(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := tenantHeader(r)
	t, err := h.eng.Tenant(ctx, name)
	if errors.Is(err, engine.ErrUnknownTenant) || (err == nil && t.Disabled) {
		h.writeError(ctx, w, &Error{Status: http.StatusNotFound, Message: "no sign-on services for this tenant"})
		return
	} else if err != nil {
		h.writeError(ctx, w, err)
		return
	}
	resp := discoveryResponse{AvailableServices: []availableService{}}
	for _, s := range h.services(t.Name) {
		resp.AvailableServices = append(resp.AvailableServices, availableService{
			AuthServiceName:   s.id,
			DisplayAttributes: displayAttributes{Name: s.name, Logo: s.logo},
			Endpoints: []endpoint{
				{Name: "SIGNON", Path: "/signOn", ParameterProperties: s.signOn},
				{Name: "REFRESH", Path: "/refresh", ParameterProperties: s.refresh},
				{Name: "SIGNOFF", Path: "/signOff", ParameterProperties: []paramSpec{}},
			},
		})
	}
	httpx.WriteJSON(w, http.StatusOK, resp)
}

func tenantHeader(r *http.Request) string {
	return strings.TrimSpace(r.Header.Get(HeaderTenant))
}
