package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
)

// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the
// relying party sends the browser here with id_token_hint, and back to a
// registered post_logout_redirect_uri with its state. The engine checks
// the request (engine.CheckLogout) and ends the sign-in, with the
// sessions its codes started unless the node keeps them.

// LogoutPath is the end_session_endpoint.
const LogoutPath = "/oauth2/logout"

var logoutParams = []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state"}

func (h *Handler) registerLogout(mux *http.ServeMux) {
	mux.Handle("GET "+LogoutPath, h.headers(http.HandlerFunc(h.logout)))
	mux.Handle("POST "+LogoutPath, h.headers(http.HandlerFunc(h.logout)))
	h.post(mux, "/ui/logout", h.confirmLogout)
}

func logoutRequest(v url.Values) engine.LogoutRequest {
	return engine.LogoutRequest{IDTokenHint: v.Get("id_token_hint"), ClientID: v.Get("client_id"),
		PostLogoutRedirectURI: v.Get("post_logout_redirect_uri"), State: v.Get("state")}
}

// logoutView is the logout confirmation page's data.
type logoutView struct {
	Client string
	Params []formField
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	vals := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, httpx.MaxBodyBytes)
		if err := r.ParseForm(); err != nil {
			h.fail(w, r, nil, errBadForm)
			return
		}
		vals = r.PostForm
		if !h.hasCookie(r) {
			// As at the authorization endpoint: a cross-site POST carries
			// no SameSite=Lax cookie, the same request as a GET does.
			http.Redirect(w, r, LogoutPath+"?"+keep(vals, logoutParams).Encode(), http.StatusSeeOther)
			return
		}
	}
	for _, k := range logoutParams {
		if len(vals[k]) > 1 {
			h.logoutPage(w, r, engine.InvalidRequest("parameter %s is repeated", k))
			return
		}
	}
	p, err := h.principal(r)
	if errors.Is(err, engine.ErrBrowserSessionEnded) {
		p, err = nil, nil
	}
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	lo, err := h.eng.CheckLogout(r.Context(), logoutRequest(vals), p)
	if err != nil {
		h.logoutPage(w, r, err)
		return
	}
	if lo.Confirm {
		v := logoutView{Client: "an application"}
		if lo.Client != nil {
			v.Client = lo.Client.Name
			if v.Client == "" {
				v.Client = lo.Client.ID
			}
		}
		for _, k := range logoutParams {
			if s := vals.Get(k); s != "" {
				v.Params = append(v.Params, formField{k, s})
			}
		}
		csp := contentSecurityPolicy
		if lo.RedirectURI != "" {
			csp = formActionTo(csp, lo.RedirectURI)
		}
		h.render(w, r, http.StatusOK, "logout", view{Title: "Sign out?", principal: p, Data: v, CSP: csp})
		return
	}
	h.finishLogout(w, r, p, lo)
}

// confirmLogout takes the confirmation page's answer.
func (h *Handler) confirmLogout(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	if r.PostForm.Get("decision") != "signout" {
		http.Redirect(w, r, "/ui/profile", http.StatusSeeOther)
		return
	}
	lo, err := h.eng.CheckLogout(r.Context(), logoutRequest(r.PostForm), p)
	if err != nil {
		h.logoutPage(w, r, err)
		return
	}
	h.finishLogout(w, r, p, lo)
}

// finishLogout ends p's sign-in (when there is one) and sends the browser
// to the registered post-logout redirect URI with state, or to the
// sign-in page.
func (h *Handler) finishLogout(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal, lo *engine.Logout) {
	if p != nil {
		if err := h.eng.SignOutBrowserSession(r.Context(), *p); err != nil {
			h.fail(w, r, p, err)
			return
		}
		h.setCookie(w, h.cookie, "", -1)
	}
	if lo.RedirectURI == "" {
		http.Redirect(w, r, "/ui/signin?done=signed-out", http.StatusSeeOther)
		return
	}
	u, err := url.Parse(lo.RedirectURI)
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	if lo.State != "" {
		q := u.Query()
		q.Set("state", lo.State)
		u.RawQuery = q.Encode()
	}
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// logoutPage explains a refused logout request; nothing is redirected.
func (h *Handler) logoutPage(w http.ResponseWriter, r *http.Request, err error) {
	p, _ := h.principal(r)
	status, msg, _ := h.describe(r.Context(), err)
	h.render(w, r, status, "error", view{Title: "This sign-out link is not valid", principal: p,
		Data: errorView{Message: msg, Back: "/ui/"}})
}
