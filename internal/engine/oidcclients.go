package engine

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/tokengate/tokengate/internal/store"
)

// What a client of the authorization code flow registers: its redirect
// URIs, the post-logout redirect URIs of RP-initiated logout, the scopes
// it may ask for, and whether it is first-party (no consent asked).

// The scopes tokengate knows (OpenID Connect Core §5.4, §11). A client may
// be allowed other scopes too: they are granted as asked, carried in the
// access token's scope claim, and shown on the consent page by name.
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopeOfflineAccess = "offline_access"
)

// DefaultScopes are the scopes a client may ask for when none were
// registered for it.
var DefaultScopes = []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeOfflineAccess}

// GrantAuthorizationCode is the authorization code grant (RFC 6749 §4.1).
const GrantAuthorizationCode = "authorization_code"

// Registration bounds: enough for any real client, small enough that a
// client record stays small.
const (
	maxRedirectURIs   = 20
	maxRedirectURILen = 512
	maxScopes         = 30
)

// ClientScopes returns the scopes a client may ask for.
func ClientScopes(c store.Client) []string {
	if c.Scopes != nil {
		return c.Scopes
	}
	return DefaultScopes
}

// checkRedirectURIs validates registered redirect URIs (kind names them in
// errors): absolute, without a fragment (RFC 6749 §3.1.2), no wildcard
// (RFC 9700 §2.1 wants exact matching), https, or http only to a loopback
// address (RFC 8252 §7.3), or a private-use scheme of a native app, which
// has a dot in it (RFC 8252 §7.1: reverse domain names).
func checkRedirectURIs(kind string, uris []string) error {
	if len(uris) > maxRedirectURIs {
		return invalidRequest("at most %d %ss", maxRedirectURIs, kind)
	}
	seen := map[string]bool{}
	for _, s := range uris {
		if err := checkRedirectURI(s); err != nil {
			return invalidRequest("%s %q: %s", kind, clip(s, 80), err)
		}
		if seen[s] {
			return invalidRequest("%s %q is listed twice", kind, clip(s, 80))
		}
		seen[s] = true
	}
	return nil
}

func checkRedirectURI(s string) error {
	if s == "" || len(s) > maxRedirectURILen {
		return fmt.Errorf("want an absolute URI of at most %d characters", maxRedirectURILen)
	}
	if strings.ContainsAny(s, "* \t\r\n\\") {
		return fmt.Errorf("no wildcards, spaces or backslashes: redirect URIs match exactly")
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() {
		return fmt.Errorf("not an absolute URI")
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return fmt.Errorf("a redirect URI has no fragment (RFC 6749 §3.1.2)")
	}
	if u.User != nil {
		return fmt.Errorf("no user information in a redirect URI")
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return fmt.Errorf("no host")
		}
	case "http":
		if !loopbackHost(u.Hostname()) {
			return fmt.Errorf("http only to a loopback address (127.0.0.1, [::1], localhost); use https")
		}
	default:
		if !strings.Contains(u.Scheme, ".") {
			return fmt.Errorf("scheme %q: want https, http to loopback, or a native app's reverse-domain scheme", u.Scheme)
		}
	}
	return nil
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// checkScopes validates scope names (RFC 6749 §3.3: NQCHAR, no spaces).
func checkScopes(scopes []string) error {
	if len(scopes) > maxScopes {
		return invalidRequest("at most %d scopes", maxScopes)
	}
	for _, s := range scopes {
		if s == "" || len(s) > 64 || strings.ContainsFunc(s, func(r rune) bool { return r <= 0x20 || r == '"' || r == '\\' || r >= 0x7f }) {
			return invalidRequest("scope %q: want printable ASCII without spaces, quotes or backslashes", clip(s, 40))
		}
	}
	if slices.Contains(scopes, ScopeOfflineAccess) && !slices.Contains(scopes, ScopeOpenID) {
		return invalidRequest("offline_access needs openid among the scopes (OpenID Connect Core §11)")
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// checkRegistration validates what a client registers for browser flows.
func checkRegistration(redirects, postLogout, scopes []string) error {
	if err := checkRedirectURIs("redirect URI", redirects); err != nil {
		return err
	}
	if err := checkRedirectURIs("post-logout redirect URI", postLogout); err != nil {
		return err
	}
	if scopes != nil {
		return checkScopes(scopes)
	}
	return nil
}
