package engine

import (
	"context"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Browser applications (single-page apps) call the token, revocation and
// userinfo endpoints from their own origin, which the browser lets them
// read only under CORS. The origins allowed are those of the redirect
// URIs registered for clients of the authorization code flow: a page of
// any other origin gets no Access-Control-Allow-Origin, and no credential
// (cookie) is ever allowed cross-origin.

// originsMaxAge bounds how long a node answers from the origins it read:
// a registration changed elsewhere takes effect within it, as a client's
// record does (clientCacheMaxAge).
const originsMaxAge = clientCacheMaxAge

// origins remembers the allowed origins.
type origins struct {
	mu   sync.Mutex
	set  []string
	read time.Time
}

// AllowedOrigin reports whether a browser page of origin (scheme://host
// as the Origin header says it) may read the answers of the endpoints a
// browser application calls: it is the origin of a registered redirect
// URI of an enabled client that may use the authorization code flow.
func (e *Engine) AllowedOrigin(ctx context.Context, origin string) (bool, error) {
	if origin == "" || origin == "null" || len(origin) > maxRedirectURILen {
		return false, nil
	}
	now := time.Now()
	o := &e.origins
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.read.IsZero() || now.Sub(o.read) >= originsMaxAge || now.Before(o.read) {
		cs, err := e.st.ListClients(ctx, "")
		if err != nil {
			return false, err
		}
		set := []string{}
		for _, c := range cs {
			if c.Disabled || !slices.Contains(c.GrantTypes, GrantAuthorizationCode) {
				continue
			}
			for _, r := range c.RedirectURIs {
				if u, err := url.Parse(r); err == nil && u.Host != "" && (u.Scheme == "https" || u.Scheme == "http") {
					if s := u.Scheme + "://" + u.Host; !slices.Contains(set, s) {
						set = append(set, s)
					}
				}
			}
		}
		o.set, o.read = set, now
	}
	return slices.Contains(o.set, origin), nil
}

// forget makes the next AllowedOrigin read the clients again: a client
// changed through this engine takes effect at once here.
func (o *origins) forget() {
	o.mu.Lock()
	o.read = time.Time{}
	o.mu.Unlock()
}
