package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

// view is what every page template receives.
type view struct {
	Title string
	Nav   string // the navigation entry to mark as current
	CSRF  string
	// Notice is a fixed message chosen by a redirect's ?done= (never text
	// from the request), Error a message for the page's form.
	Notice string
	Error  string
	Data   any
	// CSP, when set, replaces the page's Content-Security-Policy.
	CSP       string
	principal *engine.BrowserPrincipal
	operator  bool // set by render: see Operator
}

// User is the signed-in user, nil on the sign-in page.
func (v view) User() *engine.BrowserPrincipal { return v.principal }

// Operator reports whether the signed-in user runs the node: an admin of
// the default tenant, who alone sees and manages what is the node's rather
// than a tenant's (the signing keys).
func (v view) Operator() bool { return v.operator }

// errorView is the data of the error page.
type errorView struct {
	Message string
	Back    string
	Retry   int // seconds, for a throttled sign-in
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2 Jan 2006 15:04 UTC")
	},
	"iso": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	"join":    strings.Join,
	"service": serviceName,
	"method":  methodName,
	"browser": browserName,
	"orDash": func(s string) string {
		if s == "" {
			return "—"
		}
		return s
	},
}

// parsePages parses each page template with the layout, so every page is
// one template set that executes "layout".
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", n, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// render writes page name with status. The page is rendered to a buffer
// first, so a template error never sends half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	t, ok := h.pages[name]
	if !ok {
		h.log.ErrorContext(r.Context(), "web: no such template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	v.operator = h.isOperator(r, v.principal)
	if v.CSRF == "" {
		if v.principal != nil {
			v.CSRF = h.csrfToken(v.principal.Session.ID)
		} else {
			v.CSRF = h.csrfToken(h.preBinding(w, r))
		}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		h.log.ErrorContext(r.Context(), "web: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if v.CSP != "" {
		w.Header().Set("Content-Security-Policy", v.CSP)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// describe is the one place that turns an error into a status and words a
// user understands. It shows only engine.PublicText, never an error's own
// text; anything that is not the engine's is logged and shown as a plain
// failure. The engine's aliases come before the sentinels they match.
func (h *Handler) describe(ctx context.Context, err error) (int, string, int) {
	public := engine.PublicText(err)
	switch {
	case errors.Is(err, engine.ErrThrottled):
		// The engine says how long to wait (engine.RetryAfter, whole
		// seconds); the page and Retry-After say the same.
		secs := max(engine.RetryAfter(err), 1)
		return http.StatusTooManyRequests, fmt.Sprintf("Too many attempts. Try again in %d s.", secs), secs
	case errors.Is(err, engine.ErrAPITokenLimit):
		return http.StatusConflict, "You hold the most API tokens allowed. Revoke one you no longer use first.", 0
	case errors.Is(err, errCSRF), errors.Is(err, errCrossSite), errors.Is(err, errForbidden):
		return http.StatusForbidden, capitalise(err.Error()) + ".", 0
	case errors.Is(err, errBadForm):
		return http.StatusBadRequest, capitalise(err.Error()) + ".", 0
	case errors.Is(err, errExternalFailed), errors.Is(err, engine.ErrExternalNotAllowed):
		return http.StatusForbidden, "That sign-in was not accepted.", 0
	case errors.Is(err, engine.ErrExternalUnavailable):
		return http.StatusBadGateway, "The identity provider could not be reached. Try again later.", 0
	case errors.Is(err, engine.ErrBrowserSessionEnded):
		return http.StatusUnauthorized, "Your sign-in has ended. Please sign in again.", 0
	case errors.Is(err, engine.ErrReauthenticationRequired):
		return http.StatusUnauthorized, "Please confirm your password to continue.", 0
	case errors.Is(err, engine.ErrUnknownAccessRequest):
		return http.StatusNotFound, "That request no longer exists, or was never yours.", 0
	case errors.Is(err, engine.ErrInvalidCredentials):
		return http.StatusUnauthorized, "The user name or password is not right.", 0
	case errors.Is(err, engine.ErrUserDisabled), errors.Is(err, engine.ErrTenantDisabled):
		return http.StatusForbidden, "This account can't sign in. Ask an administrator.", 0
	case errors.Is(err, engine.ErrBusy):
		return http.StatusServiceUnavailable, "The server is busy. Try again in a moment.", 0
	case errors.Is(err, engine.ErrUnavailable):
		// Nothing was done: the store could not write. It is logged, as
		// a failure on our side is, and the page says when to retry.
		h.log.WarnContext(ctx, "web: store unavailable", "err", err)
		secs := max(engine.RetryAfter(err), 1)
		return http.StatusServiceUnavailable, fmt.Sprintf("The service is temporarily unavailable; nothing was changed. Try again in %d s.", secs), secs
	case errors.Is(err, engine.ErrRefreshNotEnabled):
		return http.StatusForbidden, "API access is not enabled for this login. You can request it on your profile.", 0
	case errors.Is(err, engine.ErrSessionLimit):
		return http.StatusConflict, "The session limit is reached. End a session first.", 0
	case errors.Is(err, engine.ErrInvalidRequest):
		return http.StatusBadRequest, sentence(strings.TrimPrefix(public, engine.ErrInvalidRequest.Error()+": ")), 0
	case errors.Is(err, engine.ErrAlreadyExists):
		if public == engine.ErrAlreadyExists.Error() {
			return http.StatusConflict, "That name is taken already: choose another one.", 0
		}
		return http.StatusConflict, sentence(public), 0
	case errors.Is(err, engine.ErrInUse):
		return http.StatusConflict, "It is still in use, so it can't be deleted.", 0
	case errors.Is(err, engine.ErrUnknownUser), errors.Is(err, engine.ErrUnknownSession),
		errors.Is(err, engine.ErrUnknownAPIToken), errors.Is(err, engine.ErrUnknownOrganisation),
		errors.Is(err, engine.ErrUnknownMembership), errors.Is(err, engine.ErrUnknownClient), errors.Is(err, engine.ErrUnknownKey),
		errors.Is(err, engine.ErrUnknownTenant):
		return http.StatusNotFound, "That no longer exists, or never did (" + public + ").", 0
	case public != "":
		// Token and client errors do not arise from a page; should one,
		// its public text is all that is shown.
		return http.StatusBadRequest, sentence(public), 0
	}
	h.log.ErrorContext(ctx, "web: request failed", "err", err)
	return http.StatusInternalServerError, "Something went wrong on our side. Please try again.", 0
}

// sentence capitalises s and ends it with a full stop.
func sentence(s string) string {
	s = capitalise(s)
	if s != "" && !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// fail writes the error page for err.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, p *engine.BrowserPrincipal, err error) {
	status, msg, retry := h.describe(r.Context(), err)
	if retry > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(retry))
	}
	h.render(w, r, status, "error", view{Title: "Something went wrong", principal: p,
		Data: errorView{Message: msg, Back: backFor(r.URL.Path), Retry: retry}})
}

// backFor is the page a failed form returns to: the list it was on.
func backFor(p string) string {
	for _, prefix := range []string{"/ui/admin/users", "/ui/admin/requests", "/ui/admin/orgs", "/ui/admin/clients",
		"/ui/admin/sessions", "/ui/admin/keys", "/ui/admin/tenants", "/ui/profile", "/ui/signin"} {
		if strings.HasPrefix(p, prefix) {
			return prefix
		}
	}
	return "/ui/"
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// serviceName says which service a session belongs to, in words.
func serviceName(s string) string {
	base, _, _ := strings.Cut(s, ":")
	switch base {
	case "oauth2":
		return "OAuth 2.0"
	case "core":
		return "Core API"
	case "ags":
		return "AGS"
	case "syncgw":
		return "Sync Gateway"
	case "apitoken":
		return "API token"
	}
	return s
}

// methodName says how a browser signed in.
func methodName(m string) string {
	if m == string(store.AuthPassword) {
		return "password"
	}
	if id, ok := strings.CutPrefix(m, engine.AuthOIDCPrefix); ok {
		return id
	}
	return m
}

// browserName names a browser by its user agent, roughly.
func browserName(ua string) string {
	for _, b := range []string{"Edg/", "Firefox/", "HeadlessChrome/", "Chrome/", "Safari/", "curl/"} {
		if strings.Contains(ua, b) {
			name := strings.TrimSuffix(b, "/")
			if name == "Edg" {
				name = "Edge"
			}
			return name
		}
	}
	if ua == "" {
		return "—"
	}
	return "other"
}
