package adminapi

import (
	"net/http"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/internal/store"
)

type orgJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
}

func orgOut(o store.Organisation) orgJSON {
	return orgJSON{ID: o.ID, Name: o.Name, DisplayName: o.DisplayName}
}

func (h *Handler) listOrgs(w http.ResponseWriter, r *http.Request, c caller) error {
	orgs, err := h.eng.Organisations(r.Context(), c.Tenant.Name)
	if err != nil {
		return err
	}
	return writeList(w, orgs, orgOut)
}

func (h *Handler) createOrg(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		Name        string `json:"name"`
		DisplayName string `json:"displayName"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	o, err := h.eng.CreateOrganisation(r.Context(), c.Tenant.Name, in.Name, in.DisplayName)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, orgOut(o))
	return nil
}

func (h *Handler) getOrg(w http.ResponseWriter, r *http.Request, c caller) error {
	o, err := h.eng.Organisation(r.Context(), c.Tenant.Name, r.PathValue("name"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, orgOut(o))
	return nil
}

func (h *Handler) deleteOrg(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := h.eng.DeleteOrganisation(r.Context(), c.Tenant.Name, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type membershipJSON struct {
	ID           string   `json:"id"`
	User         string   `json:"user"`
	Organisation string   `json:"organisation"`
	Channels     []string `json:"channels"`
	CreatedAt    any      `json:"createdAt"`
	RemovedAt    any      `json:"removedAt"`
}

// writeMembership answers status with m as the API shows it (its user's
// and organisation's names), or returns err, the error of the call that
// produced m.
func (h *Handler) writeMembership(w http.ResponseWriter, r *http.Request, status int, m store.Membership, err error) error {
	if err != nil {
		return err
	}
	mm, err := h.eng.Member(r.Context(), m)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, status, memberOut(mm))
	return nil
}

func memberOut(mm engine.Member) membershipJSON {
	m := mm.Membership
	ch := m.Channels
	if ch == nil {
		ch = []string{}
	}
	return membershipJSON{ID: m.ID, User: mm.User.Name, Organisation: mm.Organisation.Name, Channels: ch, CreatedAt: ts(m.CreatedAt), RemovedAt: ts(m.RemovedAt)}
}

// ownMembership returns a membership of the caller's tenant.
func (h *Handler) ownMembership(r *http.Request, c caller) (store.Membership, error) {
	return h.eng.TenantMembership(r.Context(), c.Tenant.ID, r.PathValue("id"))
}

func (h *Handler) listMemberships(w http.ResponseWriter, r *http.Request, c caller) error {
	q := r.URL.Query()
	ms, err := h.eng.Members(r.Context(), engine.MemberQuery{Tenant: c.Tenant.Name, User: q.Get("user"),
		Organisation: q.Get("organisation"), IncludeRemoved: q.Get("removed") == "true"})
	if err != nil {
		return err
	}
	return writeList(w, ms, memberOut)
}

func (h *Handler) addMembership(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		User         string   `json:"user"`
		Organisation string   `json:"organisation"`
		Channels     []string `json:"channels"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	m, err := h.eng.AddMembership(r.Context(), engine.NewMembership{Tenant: c.Tenant.Name, User: in.User, Organisation: in.Organisation, Channels: in.Channels})
	return h.writeMembership(w, r, http.StatusCreated, m, err)
}

func (h *Handler) getMembership(w http.ResponseWriter, r *http.Request, c caller) error {
	m, err := h.ownMembership(r, c)
	return h.writeMembership(w, r, http.StatusOK, m, err)
}

func (h *Handler) removeMembership(w http.ResponseWriter, r *http.Request, c caller) error {
	if _, err := h.ownMembership(r, c); err != nil {
		return err
	}
	m, err := h.eng.RemoveMembership(r.Context(), r.PathValue("id"))
	return h.writeMembership(w, r, http.StatusOK, m, err)
}

func (h *Handler) setChannels(w http.ResponseWriter, r *http.Request, c caller) error {
	if _, err := h.ownMembership(r, c); err != nil {
		return err
	}
	var in struct {
		Channels []string `json:"channels"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	m, err := h.eng.SetChannels(r.Context(), r.PathValue("id"), in.Channels)
	return h.writeMembership(w, r, http.StatusOK, m, err)
}

// linkIdentity links an identity of one of the tenant's external issuers
// (named by service id or iss URL) to a user of the tenant.
func (h *Handler) linkIdentity(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		Issuer  string `json:"issuer"`
		Subject string `json:"subject"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	iss, ok := "", false
	if h.issuers != nil {
		iss, ok = h.issuers.IssuerURL(c.Tenant.Name, in.Issuer)
	}
	if !ok {
		return engine.InvalidRequest("issuer: name one of the tenant's issuers by its id or URL")
	}
	x, err := h.eng.LinkExternalIdentity(r.Context(), c.Tenant.Name, r.PathValue("name"), iss, in.Subject)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{
		"user": r.PathValue("name"), "issuer": x.Issuer, "subject": x.Subject, "createdAt": ts(x.CreatedAt),
	})
	return nil
}
