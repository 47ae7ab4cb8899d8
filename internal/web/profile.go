package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

func (h *Handler) registerProfile(mux *http.ServeMux) {
	h.get(mux, "/ui/profile", h.profile)
	h.post(mux, "/ui/profile/tokens", h.createToken)
	h.post(mux, "/ui/profile/tokens/{id}/revoke", h.revokeToken)
	h.post(mux, "/ui/profile/access", h.requestAccess)
	h.post(mux, "/ui/profile/access/{id}/withdraw", h.withdrawAccess)
	h.post(mux, "/ui/profile/sessions/{id}/revoke", h.revokeSession)
	h.post(mux, "/ui/profile/browsers/{id}/end", h.endBrowser)
	h.post(mux, "/ui/profile/everywhere", h.signOutEverywhere)
	h.post(mux, "/ui/profile/consents/{client}/revoke", h.revokeConsent)
}

// profileView is the User Profile panel's data.
type profileView struct {
	Memberships []engine.MemberOf
	Tokens      []store.Session
	// Revealed is the token just created: shown in this response only.
	Revealed *revealed
	// AskPassword asks for the password before a token is created.
	AskPassword bool
	Label       string
	Pending     *store.AccessRequest
	Decided     []store.AccessRequest
	Sessions    []engine.SessionView
	Browsers    []store.BrowserSession
	Current     string // this browser's session id
	Everywhere  bool   // there is anything for "sign out everywhere" to end besides this browser
	// Consents are the applications the user allowed (third-party
	// clients of the authorization endpoint).
	Consents []consentRow
}

type consentRow struct {
	engine.ConsentView
	Words []string
}

type revealed struct {
	Token     string
	Label     string
	ExpiresAt time.Time
}

func (h *Handler) profileData(r *http.Request, p *engine.BrowserPrincipal) (profileView, error) {
	ctx := r.Context()
	v := profileView{Current: p.Session.ID}
	var err error
	if v.Memberships, err = h.eng.ActiveMemberships(ctx, p.User.ID); err != nil {
		return v, err
	}
	sessions, err := h.eng.UserSessions(ctx, p.User.ID)
	if err != nil {
		return v, err
	}
	for _, s := range sessions {
		if s.Label != "" {
			v.Tokens = append(v.Tokens, s.Session)
		} else {
			v.Sessions = append(v.Sessions, s)
		}
	}
	if v.Browsers, err = h.eng.BrowserSessions(ctx, p.User.ID); err != nil {
		return v, err
	}
	v.Everywhere = len(v.Sessions) > 0 || len(v.Browsers) > 1
	consents, err := h.eng.Consents(ctx, p.User.ID)
	if err != nil {
		return v, err
	}
	for _, c := range consents {
		row := consentRow{ConsentView: c}
		for _, s := range c.Scopes {
			row.Words = append(row.Words, scopeText(s, h.eng.SignOutKeepsSessions()))
		}
		v.Consents = append(v.Consents, row)
	}
	reqs, err := h.eng.AccessRequests(ctx, engine.AccessRequestQuery{Tenant: p.Tenant.Name, UserID: p.User.ID, Limit: 5})
	if err != nil {
		return v, err
	}
	for i, q := range reqs {
		if q.Status == store.AccessPending {
			v.Pending = &reqs[i]
		} else if q.Status != store.AccessWithdrawn {
			v.Decided = append(v.Decided, q)
		}
	}
	return v, nil
}

func (h *Handler) renderProfile(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal, status int, edit func(*profileView), msg string) {
	v, err := h.profileData(r, p)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	if edit != nil {
		edit(&v)
	}
	h.render(w, r, status, "profile", view{Title: "Your profile", Nav: "profile", Notice: noticeFor(r), Error: msg, Data: v, principal: p})
}

func (h *Handler) profile(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	h.renderProfile(w, r, p, http.StatusOK, nil, "")
}

// createToken creates an API token and shows it in this response, once: it
// is never put in a URL or a redirect, and the response is not stored
// (Cache-Control: no-store, set for every page). A sign-in whose password
// is not recent is asked for it first.
func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	label := strings.TrimSpace(r.PostForm.Get("label"))
	if pw := r.PostForm.Get("password"); pw != "" {
		q, err := h.eng.ConfirmPassword(r.Context(), *p, pw)
		if err != nil {
			status, msg, _ := h.describe(r.Context(), err)
			h.renderProfile(w, r, p, status, func(v *profileView) { v.AskPassword, v.Label = true, label }, msg)
			return
		}
		p = &q
	}
	g, err := h.eng.CreateAPITokenInBrowser(r.Context(), *p, label)
	switch {
	case errors.Is(err, engine.ErrReauthenticationRequired):
		h.renderProfile(w, r, p, http.StatusOK, func(v *profileView) { v.AskPassword, v.Label = true, label },
			"For your safety, confirm your password to create an API token.")
		return
	case err != nil:
		// The engine's rules (label, how many tokens) say what is wrong.
		status, msg, _ := h.describe(r.Context(), err)
		h.renderProfile(w, r, p, status, nil, msg)
		return
	}
	h.renderProfile(w, r, p, http.StatusCreated, func(v *profileView) {
		v.Revealed = &revealed{Token: g.RefreshToken, Label: g.Session.Label, ExpiresAt: g.Session.AbsoluteExpiresAt}
		if !slices.ContainsFunc(v.Tokens, func(s store.Session) bool { return s.ID == g.Session.ID }) {
			v.Tokens = append(v.Tokens, g.Session)
		}
	}, "")
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	label := "this API token"
	if ts, err := h.eng.APITokens(r.Context(), p.User.ID); err == nil {
		for _, s := range ts {
			if s.ID == r.PathValue("id") {
				label = "the API token “" + s.Label + "”"
			}
		}
	}
	if !h.confirmed(w, r, p, "Revoke "+label+"?", "Scripts that use it stop working at once. This can't be undone.", "Revoke token") {
		return
	}
	if err := h.eng.RevokeAPIToken(r.Context(), p.User.ID, r.PathValue("id")); err != nil {
		h.fail(w, r, p, err)
		return
	}
	done(w, r, "/ui/profile", "token-revoked")
}

func (h *Handler) requestAccess(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	if _, err := h.eng.RequestAPIAccess(r.Context(), p.User.ID, r.PostForm.Get("reason")); err != nil {
		status, msg, _ := h.describe(r.Context(), err)
		h.renderProfile(w, r, p, status, nil, msg)
		return
	}
	done(w, r, "/ui/profile", "requested")
}

func (h *Handler) withdrawAccess(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	if !h.confirmed(w, r, p, "Withdraw your request for API access?", "You can ask again later.", "Withdraw request") {
		return
	}
	if _, err := h.eng.WithdrawAccessRequest(r.Context(), p.User.ID, r.PathValue("id")); err != nil {
		h.fail(w, r, p, err)
		return
	}
	done(w, r, "/ui/profile", "withdrawn")
}

func (h *Handler) revokeSession(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	if !h.confirmed(w, r, p, "End this session?", "The application that holds it will have to sign in again.", "End session") {
		return
	}
	if err := h.eng.RevokeSessionOf(r.Context(), p.User.ID, r.PathValue("id")); err != nil {
		h.fail(w, r, p, err)
		return
	}
	done(w, r, "/ui/profile", "session-revoked")
}

// revokeConsent withdraws the user's consent to an application; the
// sessions it holds through that consent end with it.
func (h *Handler) revokeConsent(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	if !h.confirmed(w, r, p, "Withdraw your consent?", "The application loses the access you allowed it and will have to ask you again.", "Withdraw") {
		return
	}
	if _, err := h.eng.RevokeConsent(r.Context(), p.User.ID, r.PathValue("client")); err != nil {
		h.fail(w, r, p, err)
		return
	}
	done(w, r, "/ui/profile", "consent-revoked")
}

func (h *Handler) endBrowser(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	id := r.PathValue("id")
	if !h.confirmed(w, r, p, "Sign out that browser?", "Whoever uses it will have to sign in again.", "Sign it out") {
		return
	}
	if err := h.eng.EndBrowserSession(r.Context(), p.User.ID, id); err != nil {
		h.fail(w, r, p, err)
		return
	}
	if id == p.Session.ID {
		h.setCookie(w, h.cookie, "", -1)
		done(w, r, "/ui/signin", "signed-out")
		return
	}
	done(w, r, "/ui/profile", "browser-ended")
}

func (h *Handler) signOutEverywhere(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	if !h.confirmed(w, r, p, "Sign out everywhere?", "This ends every session and signs out every browser, this one too. Your API tokens keep working.", "Sign out everywhere") {
		return
	}
	if _, err := h.eng.SignOutEverywhere(r.Context(), p.User.ID); err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.setCookie(w, h.cookie, "", -1)
	done(w, r, "/ui/signin", "signed-out-all")
}
