package web

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/tokengate/tokengate/internal/engine"
)

var errForbidden = errors.New("this page is for administrators")

// signInView is the sign-in page's data.
type signInView struct {
	Username string
	ReturnTo string
	Tenant   string
	Issuers  []issuerButton
}

type issuerButton struct {
	ID, Name string
}

func (h *Handler) signInPage(w http.ResponseWriter, r *http.Request) {
	ret := safeReturn(r.URL.Query().Get("return_to"))
	if _, err := h.principal(r); err == nil && r.URL.Query().Get("prompt") != "login" {
		if ret == "" {
			ret = "/ui/profile"
		}
		http.Redirect(w, r, ret, http.StatusSeeOther)
		return
	}
	v := signInView{ReturnTo: ret, Tenant: cleanTenant(r.URL.Query().Get("tenant"))}
	if hint := r.URL.Query().Get("login_hint"); len(hint) <= 128 && checkHint(hint) {
		// OpenID Connect Core §3.1.2.1: the relying party's hint of who
		// signs in fills the user name.
		v.Username = hint
	}
	h.renderSignIn(w, r, http.StatusOK, v, noticeFor(r), "")
}

func (h *Handler) renderSignIn(w http.ResponseWriter, r *http.Request, status int, v signInView, notice, msg string) {
	csp := contentSecurityPolicy
	if h.opts.Login != nil {
		var origins []string
		for _, is := range h.opts.Login.LoginIssuers(v.Tenant) {
			v.Issuers = append(v.Issuers, issuerButton{ID: is.ID, Name: is.Name})
			origins = append(origins, is.Origin)
		}
		if len(origins) > 0 {
			// form-action applies to the redirect the "Sign in with …"
			// POST answers with, so the issuers' origins are allowed here.
			csp = strings.Replace(csp, "form-action 'self'", "form-action 'self' "+strings.Join(origins, " "), 1)
		}
	}
	csp = h.returnCSP(r, csp, v.ReturnTo)
	h.render(w, r, status, "signin", view{Title: "Sign in", Notice: notice, Error: msg, Data: v, CSP: csp})
}

// cleanTenant keeps a tenant name only when it looks like one; the engine
// decides whether it exists.
func cleanTenant(t string) string {
	if len(t) > 128 || strings.ContainsFunc(t, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._@+-", r))
	}) {
		return ""
	}
	return t
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	v := signInView{Username: strings.TrimSpace(r.PostForm.Get("username")), ReturnTo: safeReturn(r.PostForm.Get("return_to")),
		Tenant: cleanTenant(r.PostForm.Get("tenant"))}
	if v.Username == "" || r.PostForm.Get("password") == "" {
		h.renderSignIn(w, r, http.StatusBadRequest, v, "", "Enter your user name and your password.")
		return
	}
	if p, err := h.principal(r); err == nil && p.User.Name == v.Username && p.Tenant.Name == h.tenantName(v.Tenant) {
		// The same user signing in again (prompt=login, max_age): the
		// sign-in is confirmed rather than replaced, so it keeps its id
		// (the ID tokens' sid) and the sessions relying parties hold
		// through it, with a new authentication time.
		if _, err := h.eng.ConfirmPassword(r.Context(), *p, r.PostForm.Get("password")); err != nil {
			status, msg, retry := h.describe(r.Context(), err)
			if retry > 0 {
				w.Header().Set("Retry-After", itoa(retry))
			}
			h.renderSignIn(w, r, status, v, "", msg)
			return
		}
		ret := v.ReturnTo
		if ret == "" {
			ret = "/ui/profile"
		}
		http.Redirect(w, r, ret, http.StatusSeeOther)
		return
	}
	b, err := h.eng.SignInBrowser(r.Context(), v.Tenant, v.Username, r.PostForm.Get("password"))
	if err != nil {
		// An unknown user and a wrong password read the same.
		status, msg, retry := h.describe(r.Context(), err)
		if retry > 0 {
			w.Header().Set("Retry-After", itoa(retry))
		}
		h.renderSignIn(w, r, status, v, "", msg)
		return
	}
	h.startBrowser(w, r, b, v.ReturnTo)
}

// startBrowser sets the session cookie of a new sign-in and sends the
// browser on to where it was going.
func (h *Handler) startBrowser(w http.ResponseWriter, r *http.Request, b *engine.BrowserSignIn, ret string) {
	if c, err := r.Cookie(h.cookie); err == nil {
		// Signing in again (prompt=login, another user) ends the sign-in
		// this browser had: one browser, one live session.
		if err := h.eng.SignOutBrowser(r.Context(), c.Value); err != nil {
			h.log.WarnContext(r.Context(), "web: ending the previous sign-in", "err", err)
		}
	}
	h.setCookie(w, h.cookie, b.Token, 0)
	// A new pre-sign-in value for the next sign-in: the signed-out forms'
	// tokens of this browser stop working (no fixation across sign-ins).
	h.setCookie(w, h.precook, randomString(), 0)
	if ret == "" {
		ret = "/ui/profile"
	}
	http.Redirect(w, r, ret, http.StatusSeeOther)
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(h.cookie); err == nil {
		if err := h.eng.SignOutBrowser(r.Context(), c.Value); err != nil {
			h.fail(w, r, nil, err)
			return
		}
	}
	h.setCookie(w, h.cookie, "", -1)
	http.Redirect(w, r, "/ui/signin?done=signed-out", http.StatusSeeOther)
}

// signedIn wraps a page for signed-in users: without a live browser
// session a GET goes to the sign-in page (and back here after it), and
// anything else is refused.
func (h *Handler) signedIn(fn func(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := h.principal(r)
		if err != nil {
			if !errors.Is(err, engine.ErrBrowserSessionEnded) {
				h.fail(w, r, nil, err)
				return
			}
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/ui/signin?return_to="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			h.setCookie(w, h.cookie, "", -1)
			h.fail(w, r, nil, err)
			return
		}
		fn(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)), p)
	}
}

// adminOnly wraps a page for administrators.
func (h *Handler) adminOnly(fn func(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal)) http.HandlerFunc {
	return h.signedIn(func(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
		if !p.User.Admin {
			h.fail(w, r, p, errForbidden)
			return
		}
		fn(w, r, p)
	})
}

// isOperator reports whether p is an admin of the default tenant (see
// view.Operator).
func (h *Handler) isOperator(r *http.Request, p *engine.BrowserPrincipal) bool {
	if p == nil || !p.User.Admin {
		return false
	}
	def, err := h.eng.Tenant(r.Context(), "")
	return err == nil && def.ID == p.Tenant.ID
}

// operatorOnly serves fn to operators only (isOperator); other admins get
// the same refusal as non-admins.
func (h *Handler) operatorOnly(fn func(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal)) func(http.ResponseWriter, *http.Request, *engine.BrowserPrincipal) {
	return func(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
		if !h.isOperator(r, p) {
			h.fail(w, r, p, errForbidden)
			return
		}
		fn(w, r, p)
	}
}

// get and post mount a signed-in page; post adds the form checks.
func (h *Handler) get(mux *http.ServeMux, pattern string, fn func(http.ResponseWriter, *http.Request, *engine.BrowserPrincipal)) {
	mux.Handle("GET "+pattern, h.headers(h.signedIn(fn)))
}

func (h *Handler) post(mux *http.ServeMux, pattern string, fn func(http.ResponseWriter, *http.Request, *engine.BrowserPrincipal)) {
	mux.Handle("POST "+pattern, h.headers(h.form(h.signedIn(fn))))
}

func (h *Handler) adminGet(mux *http.ServeMux, pattern string, fn func(http.ResponseWriter, *http.Request, *engine.BrowserPrincipal)) {
	mux.Handle("GET "+pattern, h.headers(h.adminOnly(fn)))
}

func (h *Handler) adminPost(mux *http.ServeMux, pattern string, fn func(http.ResponseWriter, *http.Request, *engine.BrowserPrincipal)) {
	mux.Handle("POST "+pattern, h.headers(h.form(h.adminOnly(fn))))
}

// checkHint keeps a login hint that can be a user name.
func checkHint(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// tenantName is the name a sign-in's tenant field means ("" the default).
func (h *Handler) tenantName(t string) string {
	if t == "" {
		return h.eng.DefaultTenant()
	}
	return t
}
