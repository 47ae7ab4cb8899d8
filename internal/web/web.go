// Package web is tokengate's web UI: server-rendered pages (html/template)
// for signing in, the User Profile panel (memberships and their MU ids, API
// tokens shown once, API access on request, live sessions) and the
// administration pages. Templates, CSS and the one script are embedded in
// the binary; nothing is fetched from elsewhere.
//
// The UI is a surface over the engine like any dialect: a browser session
// is the engine's (server-side, in the store, so any node serves it), and
// every page reads and acts through engine methods.
package web

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/tokengate/tokengate/internal/engine"
)

// Prefix is the path every page lives under. It collides with no dialect
// and no proxy route (config refuses a route under it).
const Prefix = "/ui/"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configures the UI.
type Options struct {
	// PublicURL is the gateway's public address (the issuer). Over https
	// the session cookie is Secure and __Host- prefixed, and POSTs must
	// come from its origin.
	PublicURL string
	// Key signs CSRF tokens and seals the external sign-in's state; derive
	// it from the master key so that every node shares it (32 bytes or
	// more).
	Key []byte
	// Login, when set, offers "Sign in with …" for the issuers it lists.
	Login ExternalLogin
	// HTTPClient calls external issuers' token endpoints (default: a
	// client with a 10 s timeout).
	HTTPClient *http.Client
	Log        *slog.Logger
}

// Handler serves the UI.
type Handler struct {
	eng     *engine.Engine
	opts    Options
	log     *slog.Logger
	pages   map[string]*template.Template
	secure  bool   // public URL is https
	origin  string // scheme://host of the public URL
	cookie  string // session cookie name
	precook string // pre-sign-in cookie name (CSRF binding, external login state)
	// seencook is the cookie that binds an authorization request's seen
	// time to the browser (authorize.go, seenParam).
	seencook string
}

// New returns the UI handler.
func New(eng *engine.Engine, opts Options) (*Handler, error) {
	if len(opts.Key) < 32 {
		return nil, errors.New("web: key must be at least 32 bytes")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = defaultHTTPClient()
	}
	u, err := url.Parse(opts.PublicURL)
	if err != nil || u.Host == "" {
		return nil, errors.New("web: public URL must be absolute")
	}
	h := &Handler{eng: eng, opts: opts, log: opts.Log, secure: u.Scheme == "https", origin: u.Scheme + "://" + u.Host}
	h.cookie, h.precook, h.seencook = "tokengate_session", "tokengate_pre", "tokengate_seen"
	if h.secure {
		// RFC 6265bis §4.1.3.2: a __Host- cookie is Secure, has Path=/
		// and no Domain, so no other host or path can set or shadow it.
		h.cookie, h.precook, h.seencook = "__Host-tokengate_session", "__Host-tokengate_pre", "__Host-tokengate_seen"
	}
	if h.pages, err = parsePages(); err != nil {
		return nil, err
	}
	return h, nil
}

// Register mounts the UI on mux under Prefix.
func (h *Handler) Register(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /ui/static/", h.headers(cacheStatic(http.StripPrefix("/ui/static/", http.FileServerFS(static)))))
	mux.Handle("GET /ui/{$}", h.headers(http.HandlerFunc(h.home)))
	mux.Handle("/ui/", h.headers(http.HandlerFunc(h.notFound)))

	mux.Handle("GET /ui/signin", h.headers(http.HandlerFunc(h.signInPage)))
	mux.Handle("POST /ui/signin", h.headers(h.form(h.signIn)))
	mux.Handle("POST /ui/signout", h.headers(h.form(h.signOut)))
	mux.Handle("POST /ui/signin/oidc/{id}", h.headers(h.form(h.startExternal)))
	mux.Handle("GET /ui/signin/oidc/callback", h.headers(http.HandlerFunc(h.finishExternal)))

	h.registerAuthorize(mux)
	h.registerLogout(mux)
	h.registerProfile(mux)
	h.registerAdmin(mux)
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	if _, err := h.principal(r); err == nil {
		http.Redirect(w, r, "/ui/profile", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/ui/signin", http.StatusSeeOther)
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	p, _ := h.principal(r)
	h.render(w, r, http.StatusNotFound, "error", view{Title: "Page not found", principal: p,
		Data: errorView{Message: "There is no page at this address.", Back: "/ui/"}})
}

// AcceptsHTML reports whether a request prefers an HTML page, as a
// browser's navigation does: the app redirects such a GET / to the UI and
// answers any other client with JSON.
func AcceptsHTML(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(mt), "text/html") {
			return true
		}
	}
	return false
}
