package web

import (
	"net/http"
	"strings"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

func (h *Handler) registerAdmin(mux *http.ServeMux) {
	mux.Handle("GET /ui/admin/{$}", h.headers(h.adminOnly(func(w http.ResponseWriter, r *http.Request, _ *engine.BrowserPrincipal) {
		http.Redirect(w, r, "/ui/admin/users", http.StatusSeeOther)
	})))
	h.adminGet(mux, "/ui/admin/users", h.users)
	h.adminPost(mux, "/ui/admin/users", h.createUser)
	h.adminGet(mux, "/ui/admin/users/{name}", h.userPage)
	h.adminPost(mux, "/ui/admin/users/{name}/disable", h.setDisabled(true))
	h.adminPost(mux, "/ui/admin/users/{name}/enable", h.setDisabled(false))
	h.adminPost(mux, "/ui/admin/users/{name}/password", h.resetPassword)
	h.adminPost(mux, "/ui/admin/users/{name}/refresh", h.setRefresh)
	h.adminPost(mux, "/ui/admin/users/{name}/memberships", h.addMembership)
	h.adminPost(mux, "/ui/admin/memberships/{id}/remove", h.removeMembership)
	h.adminPost(mux, "/ui/admin/memberships/{id}/channels", h.setChannels)
	h.adminGet(mux, "/ui/admin/requests", h.requests)
	h.adminPost(mux, "/ui/admin/requests/{id}/approve", h.decide(true))
	h.adminPost(mux, "/ui/admin/requests/{id}/deny", h.decide(false))
	h.registerOrgs(mux)
	h.registerOps(mux)
}

type usersView struct {
	Users []store.User
}

func (h *Handler) users(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	h.renderUsers(w, r, p, http.StatusOK, "")
}

func (h *Handler) renderUsers(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal, status int, msg string) {
	us, err := h.eng.Users(r.Context(), p.Tenant.Name)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.render(w, r, status, "admin_users", view{Title: "Users", Nav: "users", Notice: noticeFor(r), Error: msg, principal: p, Data: usersView{Users: us}})
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	f := r.PostForm
	u, err := h.eng.CreateUser(r.Context(), engine.NewUser{Tenant: p.Tenant.Name, Name: strings.TrimSpace(f.Get("name")),
		DisplayName: strings.TrimSpace(f.Get("display_name")), Email: strings.TrimSpace(f.Get("email")), Password: f.Get("password"),
		RefreshEnabled: f.Get("refresh_enabled") == "on", Admin: f.Get("admin") == "on"})
	if err != nil {
		status, msg, _ := h.describe(r.Context(), err)
		h.renderUsers(w, r, p, status, msg)
		return
	}
	done(w, r, "/ui/admin/users/"+urlPathEscape(u.Name), "user-created")
}

type userView struct {
	Subject     store.User
	Memberships []engine.Member
	Orgs        []store.Organisation
	Sessions    int
}

func (h *Handler) userPage(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	h.renderUser(w, r, p, http.StatusOK, "")
}

func (h *Handler) renderUser(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal, status int, msg string) {
	ctx := r.Context()
	u, err := h.eng.User(ctx, p.Tenant.Name, r.PathValue("name"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	v := userView{Subject: u}
	if v.Memberships, err = h.eng.Members(ctx, engine.MemberQuery{Tenant: p.Tenant.Name, User: u.Name}); err != nil {
		h.fail(w, r, p, err)
		return
	}
	if v.Orgs, err = h.eng.Organisations(ctx, p.Tenant.Name); err != nil {
		h.fail(w, r, p, err)
		return
	}
	ss, err := h.eng.Sessions(ctx, engine.SessionQuery{Tenant: p.Tenant.Name, User: u.Name})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	v.Sessions = len(ss)
	h.render(w, r, status, "admin_user", view{Title: "User " + u.Name, Nav: "users", Notice: noticeFor(r), Error: msg, principal: p, Data: v})
}

// subject is the user an admin form acts on, in the admin's tenant.
func (h *Handler) subject(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) (store.User, bool) {
	u, err := h.eng.User(r.Context(), p.Tenant.Name, r.PathValue("name"))
	if err != nil {
		h.fail(w, r, p, err)
		return u, false
	}
	return u, true
}

func (h *Handler) setDisabled(disabled bool) func(http.ResponseWriter, *http.Request, *engine.BrowserPrincipal) {
	return func(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
		u, ok := h.subject(w, r, p)
		if !ok {
			return
		}
		if disabled {
			if u.ID == p.User.ID {
				h.renderUser(w, r, p, http.StatusBadRequest, "You can't disable your own account.")
				return
			}
			if !h.confirmed(w, r, p, "Disable "+u.Name+"?", "They can no longer sign in, and every session and browser of theirs ends now.", "Disable user") {
				return
			}
		}
		if _, err := h.eng.UpdateUser(r.Context(), u.ID, engine.UserUpdate{Disabled: &disabled}); err != nil {
			h.fail(w, r, p, err)
			return
		}
		done(w, r, "/ui/admin/users/"+urlPathEscape(u.Name), "user-updated")
	}
}

func (h *Handler) resetPassword(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	u, ok := h.subject(w, r, p)
	if !ok {
		return
	}
	pw := r.PostForm.Get("password")
	if r.PostForm.Get("confirm") != "yes" {
		// The password is not carried through the confirmation page: the
		// form asks for the confirmation with it.
		h.renderUser(w, r, p, http.StatusBadRequest, "Tick the box to confirm: changing the password signs the user out everywhere.")
		return
	}
	// The engine's password rule (its minimum length) decides.
	if _, err := h.eng.UpdateUser(r.Context(), u.ID, engine.UserUpdate{Password: &pw}); err != nil {
		status, msg, _ := h.describe(r.Context(), err)
		h.renderUser(w, r, p, status, msg)
		return
	}
	done(w, r, "/ui/admin/users/"+urlPathEscape(u.Name), "password-reset")
}

func (h *Handler) setRefresh(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	u, ok := h.subject(w, r, p)
	if !ok {
		return
	}
	on := r.PostForm.Get("refresh") == "on"
	if !on && !h.confirmed(w, r, p, "Withdraw API access from "+u.Name+"?", "Their sessions and API tokens end now, and they get no refresh tokens until it is granted again.", "Withdraw API access") {
		return
	}
	if _, err := h.eng.UpdateUser(r.Context(), u.ID, engine.UserUpdate{RefreshEnabled: &on}); err != nil {
		h.fail(w, r, p, err)
		return
	}
	done(w, r, "/ui/admin/users/"+urlPathEscape(u.Name), "user-updated")
}

func (h *Handler) addMembership(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	u, ok := h.subject(w, r, p)
	if !ok {
		return
	}
	_, err := h.eng.AddMembership(r.Context(), engine.NewMembership{Tenant: p.Tenant.Name, User: u.Name,
		Organisation: r.PostForm.Get("organisation"), Channels: splitList(r.PostForm.Get("channels"))})
	if err != nil {
		status, msg, _ := h.describe(r.Context(), err)
		h.renderUser(w, r, p, status, msg)
		return
	}
	done(w, r, "/ui/admin/users/"+urlPathEscape(u.Name), "member-added")
}

// member is the membership an admin form acts on, in the admin's tenant.
func (h *Handler) member(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) (engine.Member, bool) {
	m, err := h.eng.TenantMembership(r.Context(), p.Tenant.ID, r.PathValue("id"))
	var mm engine.Member
	if err == nil {
		mm, err = h.eng.Member(r.Context(), m)
	}
	if err != nil {
		h.fail(w, r, p, err)
		return mm, false
	}
	return mm, true
}

func (h *Handler) removeMembership(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	m, ok := h.member(w, r, p)
	if !ok {
		return
	}
	if !h.confirmed(w, r, p, "Remove "+m.User.Name+" from "+m.Organisation.Name+"?",
		"The MU id "+m.Membership.ID+" stops working at the proxy and is never reused.", "Remove membership") {
		return
	}
	if _, err := h.eng.RemoveMembership(r.Context(), m.Membership.ID); err != nil {
		h.fail(w, r, p, err)
		return
	}
	done(w, r, returnOr(r, "/ui/admin/users/"+urlPathEscape(m.User.Name)), "member-removed")
}

func (h *Handler) setChannels(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	m, ok := h.member(w, r, p)
	if !ok {
		return
	}
	if _, err := h.eng.SetChannels(r.Context(), m.Membership.ID, splitList(r.PostForm.Get("channels"))); err != nil {
		h.fail(w, r, p, err)
		return
	}
	done(w, r, returnOr(r, "/ui/admin/users/"+urlPathEscape(m.User.Name)), "channels-set")
}

type requestsView struct {
	Pending []requestRow
	Decided []requestRow
}

type requestRow struct {
	Request store.AccessRequest
	User    string
	By      string
}

func (h *Handler) requests(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	ctx := r.Context()
	all, err := h.eng.AccessRequests(ctx, engine.AccessRequestQuery{Tenant: p.Tenant.Name, Limit: 200})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	names, err := h.userNames(r, p)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	var v requestsView
	for _, q := range all {
		row := requestRow{Request: q, User: names[q.UserID], By: names[q.DecidedBy]}
		switch {
		case q.Status == store.AccessPending:
			v.Pending = append(v.Pending, row)
		case len(v.Decided) < 20:
			v.Decided = append(v.Decided, row)
		}
	}
	h.render(w, r, http.StatusOK, "admin_requests", view{Title: "API access requests", Nav: "requests", Notice: noticeFor(r), principal: p, Data: v})
}

func (h *Handler) decide(approve bool) func(http.ResponseWriter, *http.Request, *engine.BrowserPrincipal) {
	return func(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
		if _, err := h.eng.DecideAccessRequest(r.Context(), p.User.ID, r.PathValue("id"), approve, r.PostForm.Get("note")); err != nil {
			h.fail(w, r, p, err)
			return
		}
		notice := "denied"
		if approve {
			notice = "approved"
		}
		done(w, r, "/ui/admin/requests", notice)
	}
}

// userNames maps the ids of the admin's tenant's users to their names.
func (h *Handler) userNames(r *http.Request, p *engine.BrowserPrincipal) (map[string]string, error) {
	us, err := h.eng.Users(r.Context(), p.Tenant.Name)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(us))
	for _, u := range us {
		m[u.ID] = u.Name
	}
	return m, nil
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// returnOr is the form's return_to when it is a page of this UI, else def.
func returnOr(r *http.Request, def string) string {
	if s := safeReturn(r.PostForm.Get("return_to")); s != "" {
		return s
	}
	return def
}
