package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
)

// The OAuth 2.0 authorization endpoint (RFC 6749 §4.1, OpenID Connect
// Core §3.1.2) in the browser: the UI's own sign-in page signs the user
// in, the consent page asks a third-party client's user, and the answer
// goes back to the client's registered redirect URI. The engine decides
// every step (engine.CheckAuthorization, Authorize, Consent); this file
// reads the parameters and writes redirects and pages.

// AuthorizePath is the authorization endpoint.
const AuthorizePath = "/oauth2/authorize"

// authorizeParams are the parameters of an authorization request that the
// sign-in and consent pages carry along (and nothing else a client sent).
var authorizeParams = []string{"client_id", "redirect_uri", "response_type", "response_mode", "scope", "state",
	"nonce", "code_challenge", "code_challenge_method", "prompt", "max_age", "login_hint"}

// seenParam carries, through the sign-in page, when the request was
// first seen, MACed with what it belongs to: a sign-in after it satisfies
// prompt=login and max_age (engine.Authorize's signedInAfter). The MAC
// binds it to the browser too (the value of its seen cookie, which a
// sign-in does not renew), and it is taken for seenMaxAge only: otherwise
// whoever sits at a signed-in browser could pass prompt=login with a value
// taken in another browser, or in this one before its user last signed
// in, whenever a relying party's requests are all alike (no state, nonce
// or PKCE).
const seenParam = "tg_seen"

// seenMaxAge is how long a seen time is taken: as long as a sign-in
// through an external issuer may take (flowTTL). A sign-in page left open
// longer asks once more.
const seenMaxAge = flowTTL

func (h *Handler) registerAuthorize(mux *http.ServeMux) {
	mux.Handle("GET "+AuthorizePath, h.headers(http.HandlerFunc(h.authorize)))
	mux.Handle("POST "+AuthorizePath, h.headers(http.HandlerFunc(h.authorize)))
	mux.Handle(AuthorizePath, h.headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, POST")
		h.render(w, r, http.StatusMethodNotAllowed, "error", view{Title: "Not allowed",
			Data: errorView{Message: "The authorization endpoint takes GET and POST only.", Back: "/ui/"}})
	})))
	h.post(mux, "/ui/consent", h.consent)
}

// authorizeValues reads the request's parameters: the query of a GET, the
// form of a POST (OpenID Connect Core §3.1.2.1). A parameter sent twice is
// refused (RFC 6749 §3.1).
func authorizeValues(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	vals := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, httpx.MaxBodyBytes)
		if err := r.ParseForm(); err != nil {
			return nil, errBadForm
		}
		vals = r.PostForm
	}
	for _, k := range append(authorizeParams, seenParam) {
		if len(vals[k]) > 1 {
			return vals, engine.InvalidRequest("parameter %s is repeated", k)
		}
	}
	return vals, nil
}

func authorizeRequest(v url.Values) engine.AuthorizeRequest {
	return engine.AuthorizeRequest{
		ClientID: v.Get("client_id"), RedirectURI: v.Get("redirect_uri"), ResponseType: v.Get("response_type"),
		ResponseMode: v.Get("response_mode"), Scope: v.Get("scope"), State: v.Get("state"), Nonce: v.Get("nonce"),
		CodeChallenge: v.Get("code_challenge"), CodeChallengeMethod: v.Get("code_challenge_method"),
		Prompt: v.Get("prompt"), MaxAge: v.Get("max_age"), LoginHint: v.Get("login_hint"),
	}
}

func (h *Handler) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	vals, err := authorizeValues(w, r)
	if err != nil && vals == nil {
		h.fail(w, r, nil, err)
		return
	}
	if r.Method == http.MethodPost && !h.hasCookie(r) {
		// A relying party's cross-site POST carries no SameSite=Lax
		// cookie; the same request as a top-level GET does.
		http.Redirect(w, r, AuthorizePath+"?"+keep(vals, authorizeParams).Encode(), http.StatusSeeOther)
		return
	}
	if vals.Get("request") != "" || vals.Get("request_uri") != "" {
		// OpenID Connect Core §6: request objects are not supported. Still
		// only to a registered redirect URI.
		err = engine.InvalidRequest("request objects are not supported")
	}
	a, cerr := h.eng.CheckAuthorization(ctx, authorizeRequest(vals))
	if a == nil {
		h.authorizePage(w, r, cerr)
		return
	}
	if err == nil {
		err = cerr
	}
	if err != nil {
		h.authorizeError(w, r, a, err)
		return
	}
	p, err := h.principal(r)
	if errors.Is(err, engine.ErrBrowserSessionEnded) {
		p, err = nil, nil
	}
	if err != nil {
		h.authorizeError(w, r, a, err)
		return
	}
	seen := h.seenAt(r, vals)
	step, code, err := h.eng.Authorize(ctx, a, p, seen)
	switch {
	case err != nil:
		h.authorizeError(w, r, a, err)
	case step == engine.StepSignIn:
		if seen.IsZero() {
			seen = h.eng.Now()
		}
		ret := AuthorizePath + "?" + h.withSeen(keep(vals, authorizeParams), seen, h.seenBinding(w, r)).Encode()
		q := url.Values{"return_to": {ret}}
		if p != nil {
			// Signed in, but not recently enough: the sign-in page asks
			// again instead of passing through.
			q.Set("prompt", "login")
		}
		if a.LoginHint != "" {
			q.Set("login_hint", a.LoginHint)
		}
		if t := a.Tenant.Name; t != h.eng.DefaultTenant() {
			q.Set("tenant", t)
		}
		http.Redirect(w, r, "/ui/signin?"+q.Encode(), http.StatusSeeOther)
	case step == engine.StepConsent:
		// The time seen goes along: the answer is held to the same rule.
		h.consentPage(w, r, p, a, keep(vals, append(authorizeParams, seenParam)))
	default:
		h.authorizeAnswer(w, r, a, url.Values{"code": {code}})
	}
}

// returnCSP is the sign-in page's CSP for its return_to: when it is an
// authorization request of a registered redirect URI, the sign-in's
// redirects end there.
func (h *Handler) returnCSP(r *http.Request, csp, ret string) string {
	rest, ok := strings.CutPrefix(ret, AuthorizePath+"?")
	if !ok {
		return csp
	}
	v, err := url.ParseQuery(rest)
	if err != nil {
		return csp
	}
	a, _ := h.eng.CheckAuthorization(r.Context(), authorizeRequest(v))
	if a == nil {
		return csp
	}
	return formActionTo(csp, a.RedirectURI)
}

// hasCookie reports whether the request carries a session cookie.
func (h *Handler) hasCookie(r *http.Request) bool {
	_, err := r.Cookie(h.cookie)
	return err == nil
}

// keep returns the values of names in v, the empty ones left out.
func keep(v url.Values, names []string) url.Values {
	out := url.Values{}
	for _, k := range names {
		if s := v.Get(k); s != "" {
			out.Set(k, s)
		}
	}
	return out
}

// withSeen adds seenParam to an authorization request's values, bound to
// the browser's seen cookie value binding.
func (h *Handler) withSeen(v url.Values, at time.Time, binding string) url.Values {
	ms := strconv.FormatInt(at.UnixMilli(), 10)
	v.Set(seenParam, ms+"."+h.seenMAC(v, ms, binding))
	return v
}

// seenBinding returns the browser's seen cookie value, setting a new
// cookie when it has none.
func (h *Handler) seenBinding(w http.ResponseWriter, r *http.Request) string {
	return h.ensureRandomCookie(w, r, h.seencook)
}

// seenMAC binds a seen time to the request it was taken for and to the
// browser, so that it can't be moved onto another request or browser.
func (h *Handler) seenMAC(v url.Values, ms, binding string) string {
	m := hmac.New(sha256.New, h.subKey("authorize seen"))
	m.Write([]byte("browser=" + binding + "\n"))
	for _, k := range []string{"client_id", "redirect_uri", "scope", "state", "nonce", "prompt", "max_age", "code_challenge"} {
		m.Write([]byte(k + "=" + v.Get(k) + "\n"))
	}
	m.Write([]byte(ms))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// seenAt returns the time seenParam carries, zero when it is absent, not
// this request's or this browser's, or older than seenMaxAge.
func (h *Handler) seenAt(r *http.Request, v url.Values) time.Time {
	ms, mac, ok := strings.Cut(v.Get(seenParam), ".")
	if !ok {
		return time.Time{}
	}
	browser := randomCookie(r, h.seencook)
	if browser == "" {
		return time.Time{}
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil || !hmac.Equal([]byte(mac), []byte(h.seenMAC(v, ms, browser))) {
		return time.Time{}
	}
	at := time.UnixMilli(n)
	if h.eng.Now().Sub(at) > seenMaxAge {
		return time.Time{}
	}
	return at
}

// authorizePage explains an error that must not go to the redirect URI
// (RFC 6749 §4.1.2.1: unknown client, redirect URI not registered).
func (h *Handler) authorizePage(w http.ResponseWriter, r *http.Request, err error) {
	p, _ := h.principal(r)
	status, msg, _ := h.describe(r.Context(), err)
	h.log.InfoContext(r.Context(), "web: authorization request refused", "reason", engine.DebugText(err))
	h.render(w, r, status, "error", view{Title: "This sign-in link is not valid", principal: p,
		Data: errorView{Message: msg + " The application that sent you here is not set up to sign in with this gateway; tell its owner.", Back: "/ui/"}})
}

// authorizeError sends an error to the client's redirect URI (RFC 6749
// §4.1.2.1, OpenID Connect Core §3.1.2.6).
func (h *Handler) authorizeError(w http.ResponseWriter, r *http.Request, a *engine.Authorization, err error) {
	code, desc := authorizeErrorCode(err)
	if code == "server_error" {
		h.log.ErrorContext(r.Context(), "web: authorization request failed", "err", err)
	} else {
		h.log.InfoContext(r.Context(), "web: authorization request refused", "error", code, "reason", engine.DebugText(err))
	}
	h.authorizeAnswer(w, r, a, url.Values{"error": {code}, "error_description": {desc}})
}

// authorizeErrorCode is the authorization endpoint's one error mapping:
// the RFC 6749 §4.1.2.1 and OpenID Connect Core §3.1.2.6 code of an
// error, and its client-safe description.
func authorizeErrorCode(err error) (string, string) {
	public := engine.PublicText(err)
	switch {
	case errors.Is(err, engine.ErrUnsupportedResponseType):
		return "unsupported_response_type", public
	case errors.Is(err, engine.ErrInvalidScope):
		return "invalid_scope", public
	case errors.Is(err, engine.ErrLoginRequired):
		return "login_required", public
	case errors.Is(err, engine.ErrConsentRequired):
		return "consent_required", public
	case errors.Is(err, engine.ErrAccessDenied):
		return "access_denied", public
	case errors.Is(err, engine.ErrUnauthorizedClient):
		return "unauthorized_client", public
	case errors.Is(err, engine.ErrInvalidRequest):
		return "invalid_request", public
	case errors.Is(err, engine.ErrBusy), errors.Is(err, engine.ErrThrottled), errors.Is(err, engine.ErrUnavailable):
		return "temporarily_unavailable", public
	case public != "":
		// The user may not sign in (disabled account, tenant): the client
		// learns no more than that access was denied.
		return "access_denied", "the user may not use this application"
	}
	return "server_error", "internal error"
}

// authorizeAnswer sends the authorization response to the redirect URI,
// with state and iss (RFC 9207), in the request's response mode.
func (h *Handler) authorizeAnswer(w http.ResponseWriter, r *http.Request, a *engine.Authorization, params url.Values) {
	if a.State != "" {
		params.Set("state", a.State)
	}
	params.Set("iss", h.eng.Issuer())
	if a.ResponseMode == engine.ResponseModeFormPost {
		h.formPost(w, r, a.RedirectURI, params)
		return
	}
	u, err := url.Parse(a.RedirectURI)
	if err != nil { // registered URIs parse; this can't happen
		h.fail(w, r, nil, err)
		return
	}
	// RFC 6749 §3.1.2: the registered URI's own query is kept.
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// formPostView is the data of the form_post response page.
type formPostView struct {
	Action string
	Fields []formField
}

type formField struct{ Name, Value string }

// formPost answers in the form_post response mode (OAuth 2.0 Form Post
// Response Mode §2): a page whose form posts the parameters to the
// redirect URI, submitted by the UI's script (or by its button without
// one). Its CSP lets the form post to the redirect URI's origin only.
func (h *Handler) formPost(w http.ResponseWriter, r *http.Request, action string, params url.Values) {
	v := formPostView{Action: action}
	for _, k := range []string{"code", "state", "iss", "error", "error_description"} {
		if s := params.Get(k); s != "" {
			v.Fields = append(v.Fields, formField{k, s})
		}
	}
	csp := strings.Replace(contentSecurityPolicy, "form-action 'self'", "form-action "+originOf(action), 1)
	h.render(w, r, http.StatusOK, "formpost", view{Title: "Returning to the application", Data: v, CSP: csp})
}

// originOf is the CSP source of a registered redirect URI: its origin, or
// a native app's scheme.
func originOf(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "'none'"
	}
	if u.Host == "" {
		return u.Scheme + ":"
	}
	return u.Scheme + "://" + u.Host
}

// formActionTo is the UI's CSP with the origin of a registered redirect
// URI added to form-action: a browser applies form-action to the
// redirects that answer a form's POST too (CSP 3 §6.4.2), and the sign-in,
// consent and sign-out confirmation forms end at the client's URI.
func formActionTo(csp, uri string) string {
	return strings.Replace(csp, "form-action 'self'", "form-action 'self' "+originOf(uri), 1)
}

// consentView is the consent page's data.
type consentView struct {
	Client string
	Scopes []scopeWords
	Params []formField
}

type scopeWords struct {
	Name, Words string
}

// scopeText says in plain words what a scope lets an application do;
// keeps says whether its sessions outlive the sign-in (offline access).
func scopeText(s string, keeps bool) string {
	switch s {
	case engine.ScopeOpenID:
		return "Know who you are: your account's identifier at this gateway."
	case engine.ScopeProfile:
		return "See your user name and your display name."
	case engine.ScopeEmail:
		return "See your e-mail address."
	case engine.ScopeOfflineAccess:
		if keeps {
			return "Stay connected while you are away: keep access after you sign out, until you withdraw it on your profile."
		}
		return "Stay connected while you are away: keep access without asking you again, until you sign out or withdraw it on your profile."
	}
	return "Access named “" + s + "”."
}

func (h *Handler) consentPage(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal, a *engine.Authorization, vals url.Values) {
	v := consentView{Client: a.Client.Name}
	if v.Client == "" {
		v.Client = a.Client.ID
	}
	for _, s := range a.Scopes {
		v.Scopes = append(v.Scopes, scopeWords{Name: s, Words: scopeText(s, h.eng.SignOutKeepsSessions())})
	}
	for _, k := range append(authorizeParams, seenParam) {
		if s := vals.Get(k); s != "" {
			v.Params = append(v.Params, formField{k, s})
		}
	}
	h.render(w, r, http.StatusOK, "consent", view{Title: "Allow " + v.Client + "?", principal: p, Data: v,
		CSP: formActionTo(contentSecurityPolicy, a.RedirectURI)})
}

// consent takes the consent page's answer (a same-origin POST with the
// CSRF token of the browser's sign-in): the request is checked again from
// its parameters, then the engine records the answer and issues the code.
func (h *Handler) consent(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal) {
	a, err := h.eng.CheckAuthorization(r.Context(), authorizeRequest(r.PostForm))
	if a == nil {
		h.authorizePage(w, r, err)
		return
	}
	if err != nil {
		h.authorizeError(w, r, a, err)
		return
	}
	code, err := h.eng.Consent(r.Context(), a, *p, h.seenAt(r, r.PostForm), r.PostForm.Get("decision") == "allow")
	if errors.Is(err, engine.ErrReauthenticate) {
		// The authorization endpoint asks for the sign-in the request
		// needs, and comes back here after it.
		h.log.InfoContext(r.Context(), "web: consent answer needs a new sign-in", "reason", engine.DebugText(err))
		http.Redirect(w, r, AuthorizePath+"?"+keep(r.PostForm, append(authorizeParams, seenParam)).Encode(), http.StatusSeeOther)
		return
	}
	if err != nil {
		h.authorizeError(w, r, a, err)
		return
	}
	h.authorizeAnswer(w, r, a, url.Values{"code": {code}})
}
