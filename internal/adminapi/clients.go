package adminapi

import (
	"net/http"
	"time"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/internal/store"
)

// The OAuth 2.0 clients of the caller's tenant: list, get, disable,
// enable, rotate the secret, remove (engine/clientlife.go).

type clientJSON struct {
	ClientID                string   `json:"clientId"`
	Name                    string   `json:"name,omitempty"`
	Public                  bool     `json:"public"`
	GrantTypes              []string `json:"grantTypes"`
	Disabled                bool     `json:"disabled"`
	CreatedAt               any      `json:"createdAt"`
	PreviousSecretExpiresAt any      `json:"previousSecretExpiresAt"`
	RedirectURIs            []string `json:"redirectUris"`
	PostLogoutRedirectURIs  []string `json:"postLogoutRedirectUris"`
	Scopes                  []string `json:"scopes"`
	FirstParty              bool     `json:"firstParty"`
}

func clientOut(c store.Client) clientJSON {
	grants := c.GrantTypes
	if grants == nil {
		grants = []string{}
	}
	return clientJSON{ClientID: c.ID, Name: c.Name, Public: len(c.SecretHash) == 0, GrantTypes: grants, Disabled: c.Disabled,
		CreatedAt: ts(c.CreatedAt), PreviousSecretExpiresAt: ts(c.PreviousSecretExpiresAt),
		RedirectURIs: orEmpty(c.RedirectURIs), PostLogoutRedirectURIs: orEmpty(c.PostLogoutRedirectURIs),
		Scopes: engine.ClientScopes(c), FirstParty: c.FirstParty}
}

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// createClient registers a client of the caller's tenant; a confidential
// client's secret is in the answer, once.
func (h *Handler) createClient(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		ClientID               string   `json:"clientId"`
		Name                   string   `json:"name"`
		Public                 bool     `json:"public"`
		GrantTypes             []string `json:"grantTypes"`
		RedirectURIs           []string `json:"redirectUris"`
		PostLogoutRedirectURIs []string `json:"postLogoutRedirectUris"`
		Scopes                 []string `json:"scopes"`
		FirstParty             bool     `json:"firstParty"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	cl, secret, err := h.eng.CreateClient(r.Context(), engine.NewClient{Tenant: c.Tenant.Name, ID: in.ClientID, Name: in.Name,
		Public: in.Public, GrantTypes: in.GrantTypes, RedirectURIs: in.RedirectURIs, PostLogoutRedirectURIs: in.PostLogoutRedirectURIs,
		Scopes: in.Scopes, FirstParty: in.FirstParty})
	if err != nil {
		return err
	}
	out := struct {
		clientJSON
		ClientSecret string `json:"clientSecret,omitempty"`
	}{clientOut(cl), secret}
	httpx.WriteJSON(w, http.StatusCreated, out)
	return nil
}

// updateClient changes a client's browser-flow registration: each list
// present replaces the registered one.
func (h *Handler) updateClient(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		RedirectURIs           []string `json:"redirectUris"`
		PostLogoutRedirectURIs []string `json:"postLogoutRedirectUris"`
		Scopes                 []string `json:"scopes"`
		FirstParty             *bool    `json:"firstParty"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	cl, _, err := h.eng.UpdateClient(r.Context(), r.PathValue("id"), engine.ClientUpdate{Tenant: c.Tenant.Name,
		RedirectURIs: in.RedirectURIs, PostLogoutRedirectURIs: in.PostLogoutRedirectURIs, Scopes: in.Scopes, FirstParty: in.FirstParty})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, clientOut(cl))
	return nil
}

func (h *Handler) listClients(w http.ResponseWriter, r *http.Request, c caller) error {
	cs, err := h.eng.Clients(r.Context(), c.Tenant.Name)
	if err != nil {
		return err
	}
	out := make([]clientJSON, 0, len(cs))
	for _, cl := range cs {
		out = append(out, clientOut(cl))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getClient(w http.ResponseWriter, r *http.Request, c caller) error {
	cl, err := h.eng.TenantClient(r.Context(), c.Tenant.Name, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, clientOut(cl))
	return nil
}

func (h *Handler) disableClient(w http.ResponseWriter, r *http.Request, c caller) error {
	cl, err := h.eng.DisableClient(r.Context(), c.Tenant.Name, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, clientOut(cl))
	return nil
}

func (h *Handler) enableClient(w http.ResponseWriter, r *http.Request, c caller) error {
	cl, err := h.eng.EnableClient(r.Context(), c.Tenant.Name, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, clientOut(cl))
	return nil
}

// rotateSecret takes an optional JSON body {"overlap": "1h"}.
func (h *Handler) rotateSecret(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		Overlap string `json:"overlap"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, &in); err != nil {
			return err
		}
	}
	var overlap time.Duration
	if in.Overlap != "" {
		d, err := time.ParseDuration(in.Overlap)
		if err != nil {
			return &badBody{msg: "overlap: not a duration such as 1h or 30m"}
		}
		overlap = d
	}
	cs, err := h.eng.RotateClientSecret(r.Context(), c.Tenant.Name, r.PathValue("id"), overlap)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"clientId": cs.Client.ID, "clientSecret": cs.Secret, "previousSecretExpiresAt": ts(cs.PreviousExpiresAt),
	})
	return nil
}

func (h *Handler) removeClient(w http.ResponseWriter, r *http.Request, c caller) error {
	id := r.PathValue("id")
	n, err := h.eng.RemoveClient(r.Context(), c.Tenant.Name, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"clientId": id, "sessionsEnded": n})
	return nil
}
