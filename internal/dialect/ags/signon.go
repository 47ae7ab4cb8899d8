package ags

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/internal/store"
)

type paramsBody struct {
	Parameters []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"parameters"`
}

// readParams reads {"parameters":[{"name","value"}]} and checks it
// against spec: no unknown or repeated names, every mandatory one present
// and non-empty. An empty body is no parameters.
func readParams(r *http.Request, spec []paramSpec) (map[string]string, error) {
	raw, err := httpx.ReadBody(r)
	if err != nil {
		return nil, errBadRequest("the request body could not be read")
	}
	out := map[string]string{}
	if len(bytes.TrimSpace(raw)) > 0 {
		if !httpx.JSONBody(r, raw) {
			return nil, errBadRequest("the request body must be JSON")
		}
		var body paramsBody
		if err := httpx.UnmarshalJSON(raw, &body, true); err != nil {
			return nil, errBadRequest(`the request body must be {"parameters":[{"name":"...","value":"..."}]}`)
		}
		for _, p := range body.Parameters {
			known := false
			for _, s := range spec {
				known = known || s.Name == p.Name
			}
			if !known {
				return nil, errBadRequest(unknownParam(spec)) // never echo a client's name
			}
			if _, dup := out[p.Name]; dup {
				return nil, errBadRequest(fmt.Sprintf("parameter %q is repeated", p.Name))
			}
			out[p.Name] = p.Value
		}
	}
	for _, s := range spec {
		if s.Mandatory && out[s.Name] == "" {
			return nil, errBadRequest(fmt.Sprintf("parameter %q is mandatory", s.Name))
		}
	}
	return out, nil
}

// serviceOf returns the sign-on service named by x-auth-service-id.
func (h *Handler) serviceOf(r *http.Request) (service, error) {
	id := strings.TrimSpace(r.Header.Get(HeaderService))
	if id == "" {
		return service{}, errBadRequest("header x-auth-service-id is mandatory")
	}
	s, ok := h.service(tenantHeader(r), id)
	if !ok {
		return service{}, errBadRequest("unknown x-auth-service-id")
	}
	return s, nil
}

// authorization returns the token of the Authorization header, sent as
// "Bearer <token>" or bare as AGS clients do.
func authorization(r *http.Request) (string, bool) {
	if tok, ok := httpx.BearerToken(r); ok {
		return tok, true
	}
	tok := strings.TrimSpace(r.Header.Get("Authorization"))
	return tok, tok != "" && !strings.Contains(tok, " ")
}

type tokenResponse struct {
	AccessToken           string `json:"access_token"`
	RefreshToken          string `json:"refresh_token,omitempty"`
	ClientID              string `json:"client_id"`
	AccountID             string `json:"accountId"`
	TokenType             string `json:"token_type"`
	ExpiresIn             int64  `json:"expires_in"`
	RefreshExpiresIn      int64  `json:"refresh_expires_in"`
	FixedRefreshExpiresIn int64  `json:"fixed_refresh_expires_in"`
}

func (h *Handler) writeGrant(w http.ResponseWriter, g *engine.Grant, svc string) {
	clientID := g.Session.DeviceID
	if clientID == "" {
		clientID = g.Session.ClientID
	}
	if clientID == "" {
		clientID = svc
	}
	resp := tokenResponse{AccessToken: g.AccessToken, RefreshToken: g.RefreshToken, ClientID: clientID, AccountID: g.User.ID,
		TokenType: "bearer", ExpiresIn: g.AccessExpiresIn()}
	if g.Session.Policy != store.PolicyNone {
		resp.RefreshExpiresIn, resp.FixedRefreshExpiresIn = g.RefreshExpiresIn(), g.AbsoluteExpiresIn()
	}
	httpx.NoStore(w)
	httpx.WriteJSON(w, http.StatusOK, resp)
}

func (h *Handler) signOn(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	g, svc, err := func() (*engine.Grant, string, error) {
		s, err := h.serviceOf(r)
		if err != nil {
			return nil, "", err
		}
		p, err := readParams(r, s.signOn)
		if err != nil {
			return nil, s.id, err
		}
		req := engine.SignOnRequest{Tenant: tenantHeader(r), Service: "ags:" + s.id, DeviceID: p["deviceId"]}
		if s.oidc {
			g, err := h.ext.SignOn(ctx, req.Tenant, s.id, p["id_token"], req)
			return g, s.id, err
		}
		req.Username, req.Password = p["username"], p["password"]
		g, err := h.eng.SignOnPassword(ctx, req)
		return g, s.id, err
	}()
	if err != nil {
		h.writeError(ctx, w, err)
		return
	}
	h.writeGrant(w, g, svc)
}

func (h *Handler) refresh(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	g, svc, err := func() (*engine.Grant, string, error) {
		s, err := h.serviceOf(r)
		if err != nil {
			return nil, "", err
		}
		rt, ok := authorization(r)
		if !ok {
			return nil, s.id, errBadRequest("header Authorization (the refresh token) is mandatory")
		}
		if _, err := readParams(r, s.refresh); err != nil {
			return nil, s.id, err
		}
		g, err := h.eng.Refresh(ctx, engine.RefreshRequest{Token: rt, Service: "ags:" + s.id, Tenant: tenantHeader(r)})
		return g, s.id, err
	}()
	if err != nil {
		h.writeError(ctx, w, err)
		return
	}
	h.writeGrant(w, g, svc)
}

// signOff ends the session of the access or refresh token in the
// Authorization header.
func (h *Handler) signOff(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tok, ok := authorization(r)
	if !ok {
		h.writeError(ctx, w, errBadRequest("header Authorization is mandatory"))
		return
	}
	in, err := h.eng.Inspect(ctx, tok)
	if err != nil {
		h.writeError(ctx, w, err)
		return
	}
	if !in.Active || in.Session.ID == "" {
		h.writeError(ctx, w, engine.ErrInvalidToken)
		return
	}
	if t := tenantHeader(r); t != "" && t != in.Claims.Tenant {
		h.writeError(ctx, w, engine.ErrTenantMismatch)
		return
	}
	if err := h.eng.RevokeSession(ctx, in.Session.ID, "signed_off"); err != nil {
		h.writeError(ctx, w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// validate answers the claims of a valid access token of a live session:
// a small authenticated endpoint for AGS clients and tests.
func (h *Handler) validate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tok, ok := authorization(r)
	if !ok {
		h.writeError(ctx, w, &Error{Status: http.StatusUnauthorized, Message: "header Authorization is mandatory"})
		return
	}
	c, err := h.eng.VerifyAccess(tok)
	if err == nil && c.SessionID != "" {
		_, err = h.eng.SessionLive(ctx, c.SessionID)
	}
	if err != nil {
		h.writeError(ctx, w, err)
		return
	}
	if t := tenantHeader(r); t != "" && t != c.Tenant {
		h.writeError(ctx, w, engine.ErrTenantMismatch)
		return
	}
	httpx.NoStore(w)
	httpx.WriteJSON(w, http.StatusOK, c)
}

// unknownParam says which parameters a service takes, for a request that
// sent another one.
func unknownParam(spec []paramSpec) string {
	names := make([]string, len(spec))
	for i, s := range spec {
		names[i] = s.Name
	}
	return "unknown parameter; this service takes " + strings.Join(names, ", ")
}
