package web

import (
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/token"
)

func (h *Handler) registerOps(mux *http.ServeMux) {
	h.adminGet(mux, "/ui/admin/clients", h.clients)
	h.adminPost(mux, "/ui/admin/clients", h.createClient)
	h.adminPost(mux, "/ui/admin/clients/{id}/disable", h.clientUpdate("disable"))
	h.adminPost(mux, "/ui/admin/clients/{id}/enable", h.clientUpdate("enable"))
	h.adminPost(mux, "/ui/admin/clients/{id}/secret", h.clientUpdate("secret"))
	h.adminGet(mux, "/ui/admin/clients/{id}", h.clientPage)
	h.adminPost(mux, "/ui/admin/clients/{id}", h.saveClient)
	h.adminGet(mux, "/ui/admin/sessions", h.sessions)
	h.adminPost(mux, "/ui/admin/sessions/{id}/revoke", h.adminRevokeSession)
	h.adminPost(mux, "/ui/admin/users/{name}/sessions/revoke", h.revokeUserSessions)
	h.adminGet(mux, "/ui/admin/keys", h.operatorOnly(h.keys))
	h.adminPost(mux, "/ui/admin/keys/rotate", h.operatorOnly(h.rotateKey))
	h.adminPost(mux, "/ui/admin/keys/{kid}/revoke", h.operatorOnly(h.revokeKey))
	h.adminGet(mux, "/ui/admin/tenants", h.tenants)
	h.adminPost(mux, "/ui/admin/tenants", h.createTenant)
	h.adminPost(mux, "/ui/admin/tenants/{name}/limit", h.setLimit)
	h.adminGet(mux, "/ui/admin/audit", h.auditLog)
}

// grantTypes are the grant types a client may be given here.
var grantTypes = []string{engine.GrantAuthorizationCode, "password", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"}

type clientsView struct {
	Clients    []store.Client
	GrantTypes []string
}

// secretView shows a client secret once.
type secretView struct {
	ClientID string
	Secret   string
}

func (h *Handler) clients(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	h.renderClients(w, r, p, http.StatusOK, "")
}

func (h *Handler) renderClients(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal, status int, msg string) {
	cs, err := h.eng.Clients(r.Context(), p.Tenant.Name)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.render(w, r, status, "admin_clients", view{Title: "Clients", Nav: "clients", Notice: noticeFor(r), Error: msg, principal: p,
		Data: clientsView{Clients: cs, GrantTypes: grantTypes}})
}

func (h *Handler) createClient(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	var grants []string
	for _, g := range r.PostForm["grant"] {
		if slices.Contains(grantTypes, g) {
			grants = append(grants, g)
		}
	}
	c, secret, err := h.eng.CreateClient(r.Context(), engine.NewClient{Tenant: p.Tenant.Name, ID: strings.TrimSpace(r.PostForm.Get("id")),
		Name: strings.TrimSpace(r.PostForm.Get("name")), Public: r.PostForm.Get("public") == "on", GrantTypes: grants,
		RedirectURIs: lines(r.PostForm.Get("redirect_uris")), PostLogoutRedirectURIs: lines(r.PostForm.Get("post_logout_redirect_uris")),
		FirstParty: r.PostForm.Get("first_party") == "on"})
	if err != nil {
		status, msg, _ := h.describe(r.Context(), err)
		h.renderClients(w, r, p, status, msg)
		return
	}
	if secret == "" {
		done(w, r, "/ui/admin/clients", "client-updated")
		return
	}
	h.render(w, r, http.StatusCreated, "admin_secret", view{Title: "Client secret", Nav: "clients", principal: p, Data: secretView{ClientID: c.ID, Secret: secret}})
}

// lines splits a text area into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// clientView is the data of a client's page: its sign-in registration.
type clientView struct {
	Client     store.Client
	Redirects  string // one per line, as the form takes them
	PostLogout string
	Scopes     string
}

func (h *Handler) clientPage(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	c, ok := h.client(w, r, p)
	if !ok {
		return
	}
	h.renderClient(w, r, p, http.StatusOK, c, "")
}

func (h *Handler) renderClient(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal, status int, c store.Client, msg string) {
	v := clientView{Client: c, Redirects: strings.Join(c.RedirectURIs, "\n"), PostLogout: strings.Join(c.PostLogoutRedirectURIs, "\n"),
		Scopes: strings.Join(engine.ClientScopes(c), " ")}
	h.render(w, r, status, "admin_client", view{Title: "Client " + c.ID, Nav: "clients", Notice: noticeFor(r), Error: msg, principal: p, Data: v})
}

// saveClient changes a client's sign-in registration: redirect URIs,
// post-logout redirect URIs, scopes, first-party.
func (h *Handler) saveClient(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	c, ok := h.client(w, r, p)
	if !ok {
		return
	}
	first := r.PostForm.Get("first_party") == "on"
	up := engine.ClientUpdate{Tenant: p.Tenant.Name, FirstParty: &first,
		RedirectURIs: orNone(lines(r.PostForm.Get("redirect_uris"))), PostLogoutRedirectURIs: orNone(lines(r.PostForm.Get("post_logout_redirect_uris"))),
		Scopes: orNone(strings.Fields(r.PostForm.Get("scopes")))}
	if _, _, err := h.eng.UpdateClient(r.Context(), c.ID, up); err != nil {
		status, msg, _ := h.describe(r.Context(), err)
		c.RedirectURIs, c.PostLogoutRedirectURIs, c.Scopes, c.FirstParty = up.RedirectURIs, up.PostLogoutRedirectURIs, up.Scopes, first
		h.renderClient(w, r, p, status, c, msg)
		return
	}
	done(w, r, "/ui/admin/clients/"+c.ID, "client-updated")
}

// orNone makes an empty list present (it clears), never nil (unchanged).
func orNone(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// client is the client an admin form acts on, in the admin's tenant.
func (h *Handler) client(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) (store.Client, bool) {
	c, err := h.eng.TenantClient(r.Context(), p.Tenant.Name, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, p, err)
		return c, false
	}
	return c, true
}

func (h *Handler) clientUpdate(action string) func(http.ResponseWriter, *http.Request, *engine.BrowserPrincipal) {
	return func(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
		c, ok := h.client(w, r, p)
		if !ok {
			return
		}
		var up engine.ClientUpdate
		switch action {
		case "disable":
			if !h.confirmed(w, r, p, "Disable the client "+c.ID+"?", "It can no longer get tokens or introspect them. Sessions it already holds keep refreshing until revoked.", "Disable client") {
				return
			}
			t := true
			up.Disabled = &t
		case "enable":
			f := false
			up.Disabled = &f
		case "secret":
			if !h.confirmed(w, r, p, "Give the client "+c.ID+" a new secret?", "The old secret stops working at once.", "Rotate secret") {
				return
			}
			up.NewSecret = true
		}
		_, secret, err := h.eng.UpdateClient(r.Context(), c.ID, up)
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		if secret != "" {
			h.render(w, r, http.StatusOK, "admin_secret", view{Title: "Client secret", Nav: "clients", principal: p, Data: secretView{ClientID: c.ID, Secret: secret}})
			return
		}
		done(w, r, "/ui/admin/clients", "client-updated")
	}
}

type sessionsView struct {
	User     string
	Sessions []sessionRow
}

type sessionRow struct {
	Session store.Session
	User    string
}

func (h *Handler) sessions(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	user := strings.TrimSpace(r.URL.Query().Get("user"))
	ss, err := h.eng.Sessions(r.Context(), engine.SessionQuery{Tenant: p.Tenant.Name, User: user})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	names, err := h.userNames(r, p)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	v := sessionsView{User: user}
	for _, s := range ss {
		v.Sessions = append(v.Sessions, sessionRow{Session: s, User: names[s.UserID]})
	}
	h.render(w, r, http.StatusOK, "admin_sessions", view{Title: "Sessions", Nav: "sessions", Notice: noticeFor(r), principal: p, Data: v})
}

func (h *Handler) adminRevokeSession(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	id := r.PathValue("id")
	s, err := h.eng.SessionLive(r.Context(), id)
	switch {
	case err == nil && s.TenantID != p.Tenant.ID, errors.Is(err, engine.ErrInvalidToken):
		h.fail(w, r, p, engine.ErrUnknownSession)
		return
	case errors.Is(err, engine.ErrTokenRevoked), errors.Is(err, engine.ErrTokenExpired):
		// Ended meanwhile: there is nothing left to revoke.
		done(w, r, returnOr(r, "/ui/admin/sessions"), "session-revoked")
		return
	case err != nil:
		h.fail(w, r, p, err)
		return
	}
	if !h.confirmed(w, r, p, "End this session?", "The application that holds it must sign in again.", "End session") {
		return
	}
	if err := h.eng.RevokeSession(r.Context(), id, "revoked_by_admin"); err != nil {
		h.fail(w, r, p, err)
		return
	}
	done(w, r, returnOr(r, "/ui/admin/sessions"), "session-revoked")
}

func (h *Handler) revokeUserSessions(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	u, ok := h.subject(w, r, p)
	if !ok {
		return
	}
	if !h.confirmed(w, r, p, "End every session of "+u.Name+"?", "API tokens included. Their browsers stay signed in.", "End all sessions") {
		return
	}
	if _, err := h.eng.RevokeUserSessions(r.Context(), u.ID, "revoked_by_admin"); err != nil {
		h.fail(w, r, p, err)
		return
	}
	done(w, r, "/ui/admin/users/"+urlPathEscape(u.Name), "sessions-revoked")
}

func (h *Handler) keys(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	ks := h.eng.Keys()
	slices.Reverse(ks) // newest first
	h.render(w, r, http.StatusOK, "admin_keys", view{Title: "Signing keys", Nav: "keys", Notice: noticeFor(r), principal: p, Data: ks})
}

func (h *Handler) rotateKey(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	if !h.confirmed(w, r, p, "Rotate the signing key?", "A new key is published now and signs after the publish lead; the current key keeps verifying the tokens it signed until they expire.", "Rotate key") {
		return
	}
	if _, err := h.eng.RotateKey(r.Context(), p.User.ID, -1); err != nil {
		h.fail(w, r, p, err)
		return
	}
	done(w, r, "/ui/admin/keys", "key-rotated")
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	kid := r.PathValue("kid")
	if !slices.ContainsFunc(h.eng.Keys(), func(k token.KeyInfo) bool { return k.ID == kid }) {
		h.fail(w, r, p, engine.ErrUnknownKey)
		return
	}
	if !h.confirmed(w, r, p, "Revoke key "+kid+"?", "Do this when the key may be compromised: it leaves the JWKS and every token it signed is refused at once on this node, and on every node within the key reload interval. Users sign in or refresh again; if it signs now, the next key (or a new one) takes over.", "Revoke key") {
		return
	}
	if _, err := h.eng.RevokeKey(r.Context(), p.User.ID, kid); err != nil {
		h.fail(w, r, p, err)
		return
	}
	done(w, r, "/ui/admin/keys", "key-revoked")
}

type tenantsView struct {
	Tenants []store.Tenant
	All     bool                // the admin may see and create every tenant
	Default engine.SessionLimit // the new tenant form's limit: the configuration's
}

// tenantScope says which tenants an admin manages: every tenant for an
// admin of the default tenant (the operator's), their own for any other.
func (h *Handler) tenantScope(r *http.Request, p *engine.BrowserPrincipal) ([]store.Tenant, bool, error) {
	def, err := h.eng.Tenant(r.Context(), "")
	if err != nil {
		return nil, false, err
	}
	if def.ID != p.Tenant.ID {
		return []store.Tenant{p.Tenant}, false, nil
	}
	ts, err := h.eng.Tenants(r.Context())
	return ts, true, err
}

func (h *Handler) tenants(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	h.renderTenants(w, r, p, http.StatusOK, "")
}

func (h *Handler) renderTenants(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal, status int, msg string) {
	ts, all, err := h.tenantScope(r, p)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.render(w, r, status, "admin_tenants", view{Title: "Tenants", Nav: "tenants", Notice: noticeFor(r), Error: msg, principal: p, Data: tenantsView{Tenants: ts, All: all, Default: h.eng.DefaultSessionLimit()}})
}

func (h *Handler) createTenant(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	if _, all, err := h.tenantScope(r, p); err != nil || !all {
		h.fail(w, r, p, errForbidden)
		return
	}
	max, _ := strconv.Atoi(r.PostForm.Get("max_sessions"))
	_, err := h.eng.CreateTenant(r.Context(), engine.NewTenant{Name: strings.TrimSpace(r.PostForm.Get("name")),
		DisplayName: strings.TrimSpace(r.PostForm.Get("display_name")), MaxSessions: max, SessionLimitPolicy: store.LimitPolicy(r.PostForm.Get("policy"))})
	if err != nil {
		status, msg, _ := h.describe(r.Context(), err)
		h.renderTenants(w, r, p, status, msg)
		return
	}
	done(w, r, "/ui/admin/tenants", "tenant-created")
}

func (h *Handler) setLimit(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	ts, _, err := h.tenantScope(r, p)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	name := r.PathValue("name")
	if !slices.ContainsFunc(ts, func(t store.Tenant) bool { return t.Name == name }) {
		h.fail(w, r, p, engine.ErrUnknownTenant)
		return
	}
	max, err := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("max_sessions")))
	if err != nil {
		h.renderTenants(w, r, p, http.StatusBadRequest, "The maximum number of sessions is a whole number (0 for no limit).")
		return
	}
	if _, err := h.eng.SetSessionLimit(r.Context(), name, max, store.LimitPolicy(r.PostForm.Get("policy"))); err != nil {
		status, msg, _ := h.describe(r.Context(), err)
		h.renderTenants(w, r, p, status, msg)
		return
	}
	done(w, r, "/ui/admin/tenants", "tenant-updated")
}

type auditView struct {
	User, Type, Since, Until string
	Events                   []auditRow
	Older                    template.URL // the next page, "" on the last
	Types                    []string
}

type auditRow struct {
	Event store.AuditEvent
	User  string
}

// auditTypes are the event types offered in the filter.
var auditTypes = []string{"signon", "signon.failed", "browser.signin", "browser.signout", "browser.reauth", "refresh.reuse",
	"session.revoke", "session.revoke_all", "user.create", "user.update", "user.link_external", "access.request",
	"access.approved", "access.denied", "access.withdrawn", "client.create", "client.update", "key.rotate",
	"organisation.create", "organisation.delete", "membership.add", "membership.remove", "membership.channels",
	"tenant.create", "tenant.update"}

const auditPage = 50

// formTime is the datetime-local form of a time (UTC).
const formTime = "2006-01-02T15:04"

func (h *Handler) auditLog(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	q := r.URL.Query()
	v := auditView{User: strings.TrimSpace(q.Get("user")), Type: strings.TrimSpace(q.Get("type")),
		Since: q.Get("since"), Until: q.Get("until"), Types: auditTypes}
	aq := engine.AuditQuery{Tenant: p.Tenant.Name, User: v.User, Type: v.Type, Limit: auditPage}
	var bad []string
	if v.Since != "" {
		t, err := time.Parse(formTime, v.Since)
		if err != nil {
			bad = append(bad, "“From” is not a date and time.")
		}
		aq.Since = t
	}
	if v.Until != "" {
		t, err := time.Parse(formTime, v.Until)
		if err != nil {
			bad = append(bad, "“Until” is not a date and time.")
		}
		aq.Until = t
	}
	if b := q.Get("before"); b != "" {
		ms, id, ok := strings.Cut(b, ".")
		t, err1 := strconv.ParseInt(ms, 10, 64)
		n, err2 := strconv.ParseInt(id, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			bad = append(bad, "The page link is not valid; start from the newest events.")
		}
		aq.Before = store.AuditCursor{Time: time.UnixMilli(t).UTC(), ID: n}
	}
	if len(bad) > 0 {
		h.render(w, r, http.StatusBadRequest, "admin_audit", view{Title: "Audit log", Nav: "audit", Error: strings.Join(bad, " "), principal: p, Data: v})
		return
	}
	evs, err := h.eng.AuditLog(r.Context(), aq)
	if err != nil {
		status, msg, _ := h.describe(r.Context(), err)
		h.render(w, r, status, "admin_audit", view{Title: "Audit log", Nav: "audit", Error: msg, principal: p, Data: v})
		return
	}
	names, err := h.userNames(r, p)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	for _, e := range evs {
		v.Events = append(v.Events, auditRow{Event: e, User: names[e.UserID]})
	}
	if len(evs) == auditPage {
		last := evs[len(evs)-1]
		next := r.URL.Query()
		next.Set("before", strconv.FormatInt(last.Time.UnixMilli(), 10)+"."+strconv.FormatInt(last.ID, 10))
		v.Older = template.URL("/ui/admin/audit?" + next.Encode()) // built from url.Values: no script URL can come out
	}
	h.render(w, r, http.StatusOK, "admin_audit", view{Title: "Audit log", Nav: "audit", principal: p, Data: v})
}
