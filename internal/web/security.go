package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
)

// contentSecurityPolicy allows the page's own script, style and images
// and nothing inline; no page may be framed, and forms post only here.
// The sign-in page adds the external issuers' origins to form-action (a
// browser applies it to the redirect a form's POST answers with).
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// headers sets the security headers of every UI response.
func (h *Handler) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/ui/static/") {
			// Pages show personal data: no shared cache keeps them.
			hd.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

var (
	errCSRF      = errors.New("this form has expired or did not come from this site; go back, reload the page and try again")
	errCrossSite = errors.New("this request came from another site and was refused")
	errBadForm   = errors.New("the form could not be read")
)

// form wraps a POST handler: it bounds and parses the form, then refuses a
// request from another site (Origin, Sec-Fetch-Site) and one without the
// CSRF token of this browser, before the handler runs.
func (h *Handler) form(fn func(w http.ResponseWriter, r *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, httpx.MaxBodyBytes)
		if err := r.ParseForm(); err != nil {
			h.fail(w, r, nil, errBadForm)
			return
		}
		if !h.sameOrigin(r) {
			h.log.InfoContext(r.Context(), "web: cross-site post refused", "path", r.URL.Path,
				"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
			h.fail(w, r, nil, errCrossSite)
			return
		}
		p, _ := h.principal(r)
		if !h.csrfOK(r, p) {
			h.log.InfoContext(r.Context(), "web: csrf token refused", "path", r.URL.Path)
			h.fail(w, r, nil, errCSRF)
			return
		}
		if p != nil {
			// The handler reads the principal from the context rather
			// than looking the session up again.
			r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
		}
		fn(w, r)
	})
}

// sameOrigin checks what the browser says of a POST's origin.
// Sec-Fetch-Site, when sent, decides: only same-origin passes (same-site is
// a sibling host or port, not this gateway). Without it, an Origin other
// than "null" must be this gateway's (its public URL's or the Host the
// request was sent to). Pages here send Referrer-Policy: no-referrer, under
// which a browser sends "Origin: null" on every form POST (Fetch, "append
// a request Origin header"), so null alone proves nothing either way; the
// CSRF token, checked next, is what every POST must carry.
func (h *Handler) sameOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" {
		return s == "same-origin"
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return true
	}
	if o == h.origin {
		return true
	}
	scheme := "http"
	if r.TLS != nil || h.secure {
		scheme = "https"
	}
	return o == scheme+"://"+r.Host
}

// csrfToken is the form token of a browser: an HMAC of its session's id
// when signed in, or of its pre-sign-in cookie when not (so the sign-in
// form itself is protected against login CSRF).
func (h *Handler) csrfToken(binding string) string {
	if binding == "" {
		return ""
	}
	m := hmac.New(sha256.New, h.subKey("csrf"))
	m.Write([]byte(binding))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (h *Handler) csrfOK(r *http.Request, p *engine.BrowserPrincipal) bool {
	got := r.PostForm.Get("csrf")
	if got == "" {
		return false
	}
	for _, b := range h.bindings(r, p) {
		if want := h.csrfToken(b); want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1 {
			return true
		}
	}
	return false
}

// bindings are what a form token may be bound to: the live browser
// session's id and the pre-sign-in cookie.
func (h *Handler) bindings(r *http.Request, p *engine.BrowserPrincipal) []string {
	var out []string
	if p != nil {
		out = append(out, p.Session.ID)
	}
	if v := randomCookie(r, h.precook); v != "" {
		out = append(out, "pre:"+v)
	}
	return out
}

// preBinding returns the pre-sign-in cookie's binding, setting a new
// cookie when the browser has none.
func (h *Handler) preBinding(w http.ResponseWriter, r *http.Request) string {
	return "pre:" + h.ensureRandomCookie(w, r, h.precook)
}

// randomCookie returns the value of the cookie of that name when it has
// the shape of the random values this handler sets (32 to 64 characters),
// else "".
func randomCookie(r *http.Request, name string) string {
	if c, err := r.Cookie(name); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		return c.Value
	}
	return ""
}

// ensureRandomCookie returns randomCookie's value, setting a new random
// cookie of that name when the browser has none.
func (h *Handler) ensureRandomCookie(w http.ResponseWriter, r *http.Request, name string) string {
	if v := randomCookie(r, name); v != "" {
		return v
	}
	v := randomString()
	h.setCookie(w, name, v, 0)
	return v
}

func (h *Handler) subKey(label string) []byte {
	m := hmac.New(sha256.New, h.opts.Key)
	m.Write([]byte("tokengate web " + label + " v1"))
	return m.Sum(nil)
}

// setCookie sets an HttpOnly, SameSite=Lax cookie on Path=/ (Secure over
// https); maxAge 0 makes it last as long as the browser session, and a
// negative one deletes it.
func (h *Handler) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
}

// principal returns the signed-in user of a request.
func (h *Handler) principal(r *http.Request) (*engine.BrowserPrincipal, error) {
	if p, ok := r.Context().Value(principalKey{}).(*engine.BrowserPrincipal); ok {
		return p, nil
	}
	c, err := r.Cookie(h.cookie)
	if err != nil {
		return nil, engine.ErrBrowserSessionEnded
	}
	p, err := h.eng.BrowserSession(r.Context(), c.Value)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

type principalKey struct{}

// safeReturn keeps return_to only when it is a path of this UI: never
// another host, scheme or a protocol-relative //host, so a sign-in link
// can't send the user elsewhere (an open redirect).
func safeReturn(s string) string {
	limit := 512
	if strings.HasPrefix(s, AuthorizePath+"?") {
		// An authorization request in progress: its parameters (state,
		// nonce, challenge, redirect URI) make it longer.
		limit = 8192
	} else if !strings.HasPrefix(s, Prefix) {
		return ""
	}
	if s == "" || len(s) > limit || strings.ContainsAny(s, "\\\r\n\t") {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(s, "//") {
		return ""
	}
	if u.Fragment != "" {
		return u.RequestURI() + "#" + u.EscapedFragment()
	}
	return u.RequestURI()
}

func randomString() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("web: random source failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// cacheStatic lets browsers keep the embedded assets for an hour: they
// change only with the binary.
func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}
