// Package proxy is tokengate's authenticating reverse proxy ($API): for
// each configured route it verifies the bearer access token, checks that
// its session is still live, resolves the membership the request acts
// through (the Whitespace API's "UserID: MU…" header for users in several
// organisations), and forwards to the upstream with identity headers.
//
// The upstream trusts only these headers, which the proxy always sets from
// the resolved identity after deleting whatever the client sent under the
// same names:
//
//	X-Tokengate-User          user name (the token's preferred_username)
//	X-Tokengate-User-Id       user id (the session's user: the sub of standard tokens)
//	X-Tokengate-Tenant        tenant name
//	X-Tokengate-Session       session id
//	X-Tokengate-Membership    MU id of the selected membership ("" if none)
//	X-Tokengate-Organisation  organisation name of that membership
//	X-Tokengate-Channels      comma-separated channels that membership grants
//
// Every client header that any common server would read as one of these
// (any case, '_' for '-') is deleted, as are Authorization (the upstream
// never sees a token it could replay), Cookie (the gateway's own cookies
// stay with the gateway), UserID (replaced by X-Tokengate-Membership), and
// every client-address and URL-override header: see headers.go.
//
// Revocation bound: a verified token's session liveness and each user's
// memberships are cached for at most the configured bound (default 2s) and
// never beyond the token's exp, so a revoked session, a removed membership
// or changed channels take effect at this node within the bound, whichever
// node or command made the change. On a store that notifies its nodes of
// changes (PostgreSQL) they take effect sooner, a round trip after the
// commit: the engine passes each change on (engine.Subscribe) and the
// entries it concerns are checked again at their next use; the bound is
// what remains when a notification is lost. A token
// seen before skips signature verification: the cache is keyed by the
// SHA-256 of the whole token, so only the very bytes already verified hit,
// and only while the key that signed them is trusted (a revoked signing
// key stops its tokens here at once).
package proxy

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/internal/obs"
	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/ttlcache"
)

// Identity headers set for the upstream.
const (
	HeaderUser         = "X-Tokengate-User"
	HeaderUserID       = "X-Tokengate-User-Id"
	HeaderTenant       = "X-Tokengate-Tenant"
	HeaderSession      = "X-Tokengate-Session"
	HeaderMembership   = "X-Tokengate-Membership"
	HeaderOrganisation = "X-Tokengate-Organisation"
	HeaderChannels     = "X-Tokengate-Channels"
	headerPrefix       = "X-Tokengate-"
	// SelectHeader is the Whitespace API's membership selector.
	SelectHeader = "UserID"
)

// Options configures a Proxy.
type Options struct {
	Routes []config.ProxyRoute
	// Bound is the revocation bound (default 2s).
	Bound time.Duration
	// CacheSize bounds each cache (default 10000 entries).
	CacheSize int
	// Now is the clock (default: the engine's).
	Now       func() time.Time
	Log       *slog.Logger
	Transport http.RoundTripper
	// Registerer, when set, takes the proxy's latency histogram
	// (tokengate_proxy_duration_seconds).
	Registerer prometheus.Registerer
	// TrustedProxies are the peers whose X-Forwarded-For chain the proxy
	// extends (config proxy.trusted_proxies); from any other peer it
	// replaces the header with the peer's address.
	TrustedProxies []netip.Prefix
}

// Proxy is the authenticating reverse proxy. It is safe for concurrent use.
type Proxy struct {
	eng     *engine.Engine
	opts    Options
	now     func() time.Time
	log     *slog.Logger
	tokens  *ttlcache.Cache[string, tokenEntry]
	members *ttlcache.Cache[string, []engine.MemberOf]
	routes  []*route
	// epoch counts the changes the store reported that may end any cached
	// session (a user, client or tenant changed; notifications missed): a
	// liveness checked under an older epoch is checked again. revoked
	// holds, for the bound, when the store reported each session revoked.
	epoch   atomic.Uint64
	revoked *ttlcache.Cache[string, time.Time]

	verified, hits, liveChecks atomic.Int64
}

// Stats counts, since start, the signature verifications done, the
// requests answered from the token cache without one, and the session
// liveness checks that reached the store.
type Stats struct{ Verified, CacheHits, LivenessChecks int64 }

// Stats returns the proxy's counters.
func (p *Proxy) Stats() Stats {
	return Stats{Verified: p.verified.Load(), CacheHits: p.hits.Load(), LivenessChecks: p.liveChecks.Load()}
}

type route struct {
	cfg config.ProxyRoute
	rp  *httputil.ReverseProxy
	// check observes the token check of each request (signature or
	// cache, session liveness, membership).
	check prometheus.Observer
}

// tokenEntry is what the proxy remembers of a verified access token.
type tokenEntry struct {
	id  Identity
	exp time.Time
	kid string // the key that signed the token, trusted at each hit
	// liveUntil is when session liveness must be checked again; err, when
	// set, is the cached refusal (a dead session stays dead). checked and
	// epoch are when, and under which epoch, it was last checked.
	liveUntil time.Time
	checked   time.Time
	epoch     uint64
	err       error
}

// Identity is the caller as the proxy resolved it.
type Identity struct {
	User      string
	UserID    string
	Tenant    string
	TenantID  string
	SessionID string
	Member    engine.MemberOf // zero when the user holds no membership
}

type ctxKey struct{}

// New returns a proxy over eng for the configured routes.
func New(eng *engine.Engine, opts Options) (*Proxy, error) {
	if opts.Bound <= 0 {
		opts.Bound = 2 * time.Second
	}
	if opts.Transport == nil {
		opts.Transport = defaultTransport()
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 10000
	}
	if opts.Now == nil {
		opts.Now = eng.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{eng: eng, opts: opts, now: opts.Now, log: opts.Log,
		tokens: ttlcache.New[string, tokenEntry](opts.CacheSize), members: ttlcache.New[string, []engine.MemberOf](opts.CacheSize),
		revoked: ttlcache.New[string, time.Time](opts.CacheSize)}
	eng.Subscribe(p.changed)
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tokengate_proxy_duration_seconds",
		Help:    "Latency of the proxy's stages by route prefix: token_check (verification, session liveness, membership) and upstream (the round trip to the upstream's response headers).",
		Buckets: obs.LatencyBuckets,
	}, []string{"route", "stage"})
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(latency)
	}
	for _, rc := range opts.Routes {
		target, err := url.Parse(rc.Upstream)
		if err != nil {
			return nil, fmt.Errorf("proxy route %s: %w", rc.Prefix, err)
		}
		rt := &route{cfg: rc, check: latency.WithLabelValues(rc.Prefix, "token_check")}
		rt.rp = &httputil.ReverseProxy{
			Rewrite:    p.rewrite(rc.Prefix, target),
			Transport:  timed{opts.Transport, latency.WithLabelValues(rc.Prefix, "upstream")},
			BufferPool: copyBuffers,
			ErrorLog:   errorLog(p.log),
			ModifyResponse: func(resp *http.Response) error {
				dropGatewayCookies(resp.Header)
				return nil
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				obs.Failure(r.Context(), p.log.With("prefix", rc.Prefix), slog.LevelWarn, "proxy upstream failed", err)
				writeError(w, r, p.log, rc.Errors, errors.Join(errUpstream, err))
			},
		}
		p.routes = append(p.routes, rt)
	}
	return p, nil
}

// copyBuffers lends the 32 KiB buffers ReverseProxy copies response bodies
// through; without a pool it allocates one per proxied request.
var copyBuffers httputil.BufferPool = &bufferPool{}

type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32*1024)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

// Register mounts every route's prefix on mux.
func (p *Proxy) Register(mux *http.ServeMux) {
	for _, rt := range p.routes {
		mux.Handle(rt.cfg.Prefix, p.handler(rt))
	}
}

func (p *Proxy) handler(rt *route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkPath(r.URL, rt.cfg.Prefix); err != nil {
			writeError(w, r, p.log, rt.cfg.Errors, err)
			return
		}
		rest := strings.TrimPrefix(r.URL.Path, rt.cfg.Prefix)
		builtin := rt.cfg.Builtins && (rest == "shared/corporate" || rest == "user/myDetails")
		start := time.Now()
		id, err := p.Authenticate(r.Context(), r, !(builtin && rest == "shared/corporate"))
		rt.check.Observe(time.Since(start).Seconds())
		if err != nil {
			writeError(w, r, p.log, rt.cfg.Errors, err)
			return
		}
		if builtin {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				writeError(w, r, p.log, rt.cfg.Errors, errMethod)
				return
			}
			switch rest {
			case "shared/corporate":
				p.corporate(w, r, rt, id)
			default:
				p.myDetails(w, r, rt, id)
			}
			return
		}
		rt.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, id)))
	})
}

// rewrite builds the outbound request: the path below the prefix joined to
// the upstream, client identity headers deleted and the resolved ones set.
func (p *Proxy) rewrite(prefix string, target *url.URL) func(*httputil.ProxyRequest) {
	return func(pr *httputil.ProxyRequest) {
		id, _ := pr.In.Context().Value(ctxKey{}).(Identity)
		pr.Out.URL.Path = "/" + strings.TrimPrefix(pr.In.URL.Path, prefix)
		pr.Out.URL.RawPath = ""
		if raw := pr.In.URL.RawPath; raw != "" {
			pr.Out.URL.RawPath = "/" + strings.TrimPrefix(raw, prefix)
		}
		pr.SetURL(target)
		StripIdentity(pr.Out.Header)
		StripIdentity(pr.Out.Trailer) // a server may merge trailers into the header
		setForwarded(pr, p.opts.TrustedProxies)
		h := pr.Out.Header
		h.Set(HeaderUser, id.User)
		h.Set(HeaderUserID, id.UserID)
		h.Set(HeaderTenant, id.Tenant)
		h.Set(HeaderSession, id.SessionID)
		h.Set(HeaderMembership, id.Member.Membership.ID)
		h.Set(HeaderOrganisation, id.Member.Organisation.Name)
		h.Set(HeaderChannels, strings.Join(id.Member.Membership.Channels, ","))
	}
}

// Authenticate resolves the caller of r: bearer token, live session and,
// when selectMember is set, the membership named by the UserID header.
func (p *Proxy) Authenticate(ctx context.Context, r *http.Request, selectMember bool) (Identity, error) {
	tok, ok := httpx.BearerToken(r)
	if !ok {
		return Identity{}, errNoToken
	}
	id, err := p.session(ctx, tok)
	if err != nil || !selectMember {
		return id, err
	}
	ms, err := p.memberships(ctx, id.UserID)
	if err != nil {
		return id, err
	}
	id.Member, err = engine.SelectMembership(ms, r.Header.Get(SelectHeader))
	return id, err
}

// session verifies a token, from the cache when its bytes were verified
// before, and checks its session's liveness at most once per bound.
func (p *Proxy) session(ctx context.Context, tok string) (Identity, error) {
	sum := sha256.Sum256([]byte(tok))
	key := string(sum[:])
	now := p.now()
	e, hit := p.tokens.Get(key, now)
	// A token of a key revoked since is verified again, and so refused.
	hit = hit && (e.err != nil || p.eng.SigningKeyTrusted(e.kid))
	if hit {
		p.hits.Add(1)
	} else {
		p.verified.Add(1)
		c, err := p.eng.VerifyAccess(tok)
		if err != nil {
			return Identity{}, err
		}
		if c.SessionID == "" {
			return Identity{}, errNoSession
		}
		e = tokenEntry{exp: time.Unix(c.Expiry, 0), kid: c.KeyID, id: Identity{User: c.Username(), Tenant: c.Tenant, SessionID: c.SessionID}}
	}
	if e.err != nil {
		return Identity{}, e.err
	}
	if !now.Before(e.liveUntil) || p.stale(e) {
		p.liveChecks.Add(1)
		e.epoch = p.epoch.Load()
		e.checked = now
		s, err := p.eng.SessionLive(ctx, e.id.SessionID)
		switch {
		case err == nil:
			e.id.UserID, e.id.TenantID = s.UserID, s.TenantID
		case errors.Is(err, engine.ErrTokenRevoked), errors.Is(err, engine.ErrTokenExpired), errors.Is(err, engine.ErrInvalidToken):
			e.err = err
		default:
			return Identity{}, err
		}
		e.liveUntil = now.Add(p.opts.Bound)
		if e.liveUntil.After(e.exp) {
			e.liveUntil = e.exp
		}
		p.tokens.Put(key, e, e.exp, now)
		if e.err != nil {
			return Identity{}, e.err
		}
	}
	return e.id, nil
}

// stale reports whether the store reported, since e's liveness was
// checked, a change that may have ended it.
func (p *Proxy) stale(e tokenEntry) bool {
	if e.epoch != p.epoch.Load() {
		return true
	}
	at, ok := p.revoked.Get(e.id.SessionID, p.now())
	return ok && !at.Before(e.checked)
}

// changed applies a change the store reported (through the engine) to the
// caches: within a round trip of its commit on any node, rather than at the
// bound, which remains the limit when notifications are lost.
func (p *Proxy) changed(c store.Change) {
	now := p.now()
	switch c.Kind {
	case store.ChangeSession:
		p.revoked.Put(c.ID, now, now.Add(p.opts.Bound), now)
	case store.ChangeMembership:
		p.members.Delete(c.ID)
	case store.ChangeUser:
		p.members.Delete(c.ID)
		p.epoch.Add(1)
	case store.ChangeClient:
		p.epoch.Add(1)
	case store.ChangeTenant, store.ChangeMissed:
		p.members.Clear()
		p.epoch.Add(1)
	}
}

// memberships returns a user's active memberships, cached for the bound.
func (p *Proxy) memberships(ctx context.Context, userID string) ([]engine.MemberOf, error) {
	now := p.now()
	if ms, ok := p.members.Get(userID, now); ok {
		return ms, nil
	}
	ms, err := p.eng.ActiveMemberships(ctx, userID)
	if err != nil {
		return nil, err
	}
	p.members.Put(userID, ms, now.Add(p.opts.Bound), now)
	return ms, nil
}

// Directory is what shared/corporate needs beyond the engine's data.
func (p *Proxy) directory(ctx context.Context, id Identity, search string) ([]engine.DirectoryEntry, error) {
	return p.eng.Directory(ctx, id.TenantID, search)
}
