package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

func (h *Handler) registerOrgs(mux *http.ServeMux) {
	h.adminGet(mux, "/ui/admin/orgs", h.orgs)
	h.adminPost(mux, "/ui/admin/orgs", h.createOrg)
	h.adminGet(mux, "/ui/admin/orgs/{name}", h.orgPage)
	h.adminPost(mux, "/ui/admin/orgs/{name}/delete", h.deleteOrg)
	h.adminPost(mux, "/ui/admin/orgs/{name}/members", h.addOrgMember)
}

type orgRow struct {
	Org     store.Organisation
	Members int
}

func (h *Handler) orgs(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	h.renderOrgs(w, r, p, http.StatusOK, "")
}

func (h *Handler) renderOrgs(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal, status int, msg string) {
	ctx := r.Context()
	os, err := h.eng.Organisations(ctx, p.Tenant.Name)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	ms, err := h.eng.Members(ctx, engine.MemberQuery{Tenant: p.Tenant.Name})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	count := map[string]int{}
	for _, m := range ms {
		count[m.Organisation.ID]++
	}
	rows := make([]orgRow, len(os))
	for i, o := range os {
		rows[i] = orgRow{Org: o, Members: count[o.ID]}
	}
	h.render(w, r, status, "admin_orgs", view{Title: "Organisations", Nav: "orgs", Notice: noticeFor(r), Error: msg, principal: p, Data: rows})
}

func (h *Handler) createOrg(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	o, err := h.eng.CreateOrganisation(r.Context(), p.Tenant.Name, strings.TrimSpace(r.PostForm.Get("name")), strings.TrimSpace(r.PostForm.Get("display_name")))
	if err != nil {
		status, msg, _ := h.describe(r.Context(), err)
		h.renderOrgs(w, r, p, status, msg)
		return
	}
	done(w, r, "/ui/admin/orgs/"+urlPathEscape(o.Name), "org-created")
}

type orgView struct {
	Org     store.Organisation
	Members []engine.Member
	Users   []store.User
}

func (h *Handler) orgPage(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	h.renderOrg(w, r, p, http.StatusOK, "")
}

func (h *Handler) renderOrg(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal, status int, msg string) {
	ctx := r.Context()
	o, err := h.eng.Organisation(ctx, p.Tenant.Name, r.PathValue("name"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	v := orgView{Org: o}
	if v.Members, err = h.eng.Members(ctx, engine.MemberQuery{Tenant: p.Tenant.Name, Organisation: o.Name}); err != nil {
		h.fail(w, r, p, err)
		return
	}
	if v.Users, err = h.eng.Users(ctx, p.Tenant.Name); err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.render(w, r, status, "admin_org", view{Title: "Organisation " + o.Name, Nav: "orgs", Notice: noticeFor(r), Error: msg, principal: p, Data: v})
}

func (h *Handler) deleteOrg(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	name := r.PathValue("name")
	o, err := h.eng.Organisation(r.Context(), p.Tenant.Name, name)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	if !h.confirmed(w, r, p, "Delete the organisation "+o.Name+"?", "Only an organisation without members can be deleted. This can't be undone.", "Delete organisation") {
		return
	}
	if err := h.eng.DeleteOrganisation(r.Context(), p.Tenant.Name, o.Name); err != nil {
		h.fail(w, r, p, err)
		return
	}
	done(w, r, "/ui/admin/orgs", "org-deleted")
}

func (h *Handler) addOrgMember(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	name := r.PathValue("name")
	_, err := h.eng.AddMembership(r.Context(), engine.NewMembership{Tenant: p.Tenant.Name, User: r.PostForm.Get("user"),
		Organisation: name, Channels: splitList(r.PostForm.Get("channels"))})
	if err != nil {
		status, msg, _ := h.describe(r.Context(), err)
		h.renderOrg(w, r, p, status, msg)
		return
	}
	done(w, r, "/ui/admin/orgs/"+urlPathEscape(name), "member-added")
}

func urlPathEscape(s string) string { return url.PathEscape(s) }
