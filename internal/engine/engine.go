// Package engine owns tokengate's rules: sign-on, sessions, refresh
// rotation and reuse detection, lifetimes, session limits, revocation and
// audit. It speaks no HTTP; every dialect calls it and maps its sentinel
// errors to its own wire shape.
package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/token"
)

// Policy is the token policy of one sign-on service: its refresh
// behaviour, its lifetimes, and the extra claims its dialect expects.
type Policy struct {
	Name        string
	Refresh     store.RefreshPolicy // rotating or stable
	AccessTTL   time.Duration
	IdleTTL     time.Duration // sliding refresh lifetime
	AbsoluteTTL time.Duration // fixed at sign-on
	// Claims, when set, adds claims to every token minted for a session of
	// this service (a dialect's own claim names, such as AGS's typ).
	Claims ClaimsFunc
	// Subject says what the sub claim of the service's tokens carries: the
	// user's immutable id unless the dialect's clients read something else.
	Subject SubjectClaim
}

// SubjectClaim is what the sub claim of a user's tokens carries.
type SubjectClaim int

const (
	// SubjectUserID is the user's id: unique within the issuer and never
	// changed, renaming included (OpenID Connect Core §2: "never
	// reassigned"; RFC 9068 §2.2). The name goes in preferred_username.
	// The default.
	SubjectUserID SubjectClaim = iota
	// SubjectUserName is the user name, for a dialect whose clients read
	// it from sub (datarhei Core). It is unique only within a tenant, and
	// a rename changes it.
	SubjectUserName
)

// ClientSubjectPrefix starts the sub of a client's own tokens (client
// credentials, RFC 6749 §4.4): "client:" and the client_id. No user has
// such a sub, since user ids are base64url and have no colon.
const ClientSubjectPrefix = "client:"

// ClaimsFunc returns extra claims for a token. It must be deterministic in
// its inputs: a refresh token re-sent within the grace window is minted
// again and must come out the same.
type ClaimsFunc func(in ClaimsInput) map[string]any

// ClaimsInput is what a ClaimsFunc may base its claims on.
type ClaimsInput struct {
	Use     string // token.UseAccess or token.UseRefresh
	Tenant  store.Tenant
	User    store.User
	Session store.Session
	Policy  Policy
}

// Options configures an Engine.
type Options struct {
	// DefaultSessionLimit is the per-user session limit of a tenant
	// created without one of its own (the configuration's session_limit);
	// zero: none.
	DefaultSessionLimit SessionLimit

	Issuer        string
	Audience      string // aud of access tokens; default "tokengate"
	DefaultTenant string // default "default"
	// GraceWindow is how long the immediately previous rotating refresh
	// token still yields the same successor.
	GraceWindow time.Duration
	// Leeway tolerates clock skew on exp/nbf/iat.
	Leeway time.Duration
	// Policies by service name. A service "x:y" without a policy of its
	// own uses the policy of "x".
	Policies map[string]Policy
	// RefreshKey authenticates refresh-token ids (HMAC-SHA256); derive it
	// from the master key so every node shares it.
	RefreshKey []byte

	// BrowserIdleTTL and BrowserAbsoluteTTL bound a web UI sign-in: it
	// ends after BrowserIdleTTL without use and BrowserAbsoluteTTL after it
	// began, whichever comes first (defaults 30 minutes and 12 hours).
	BrowserIdleTTL     time.Duration
	BrowserAbsoluteTTL time.Duration
	// SignOutKeepsSessions keeps the sessions a browser sign-in's
	// authorization codes started (the relying parties' access and
	// refresh tokens) when the sign-in ends; by default they end with it.
	SignOutKeepsSessions bool

	HashWorkers    int    // 0: number of CPUs
	HashMemoryKiB  uint32 // default 19456
	HashIterations uint32 // default 2

	// MinPasswordLength is the least number of characters of a new
	// password (default 8; existing passwords keep working).
	MinPasswordLength int
	// Throttle throttles password guessing; the zero value means
	// DefaultThrottle.
	Throttle ThrottlePolicy
	// APITokenReauth is how recent the password sign-on behind a request
	// to create an API token must be (default 5 minutes).
	APITokenReauth time.Duration
	// MaxAPITokens is the most live API tokens a user may hold (default 10).
	MaxAPITokens int
	// AuditRetention is how long audit events are kept before the
	// background purge deletes them (default 90 days).
	AuditRetention time.Duration

	Now        func() time.Time
	Rand       io.Reader
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Engine is the token engine. It is safe for concurrent use.
type Engine struct {
	st       store.Store
	ring     *token.Ring
	mac      *token.MAC // signs refresh tokens, which only the engine reads back
	opts     Options
	policies map[string]Policy
	variants bool // some policy is a per-tenant variant ("ags@acme")
	hash     *hasher
	now      func() time.Time
	rand     io.Reader
	log      *slog.Logger
	metrics  *metrics
	live     *liveSessions  // tokengate_sessions_live (livesessions.go)
	verified *verifiedCache // access tokens verified before (verifycache.go)
	clients  *clientCache   // client records for AuthenticateClient (clientcache.go)
	origins  origins        // browser applications' origins (origins.go)
	changes  *changes       // the store's change notifications (changes.go)
}

// New returns an Engine over st and ring.
func New(st store.Store, ring *token.Ring, opts Options) (*Engine, error) {
	if opts.Issuer == "" {
		return nil, errors.New("engine: issuer is required")
	}
	if len(opts.RefreshKey) < 32 {
		return nil, errors.New("engine: refresh key must be at least 32 bytes")
	}
	if opts.Audience == "" {
		opts.Audience = "tokengate"
	}
	if opts.DefaultTenant == "" {
		opts.DefaultTenant = "default"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.BrowserIdleTTL <= 0 {
		opts.BrowserIdleTTL = 30 * time.Minute
	}
	if opts.BrowserAbsoluteTTL <= 0 {
		opts.BrowserAbsoluteTTL = 12 * time.Hour
	}
	if opts.HashWorkers <= 0 {
		opts.HashWorkers = runtime.NumCPU()
	}
	if opts.HashMemoryKiB == 0 {
		opts.HashMemoryKiB = 19 * 1024
	}
	if opts.HashIterations == 0 {
		opts.HashIterations = 2
	}
	if opts.MinPasswordLength <= 0 {
		opts.MinPasswordLength = DefaultMinPasswordLength
	}
	if opts.Throttle == (ThrottlePolicy{}) {
		opts.Throttle = DefaultThrottle
	}
	for _, r := range []ThrottleRule{opts.Throttle.Account, opts.Throttle.Address} {
		if r.Free < 0 || r.BaseDelay <= 0 || r.MaxDelay < r.BaseDelay || r.Forget <= 0 {
			return nil, fmt.Errorf("engine: throttle rule %+v: want free >= 0 and 0 < base delay <= max delay, forget > 0", r)
		}
	}
	if opts.APITokenReauth <= 0 {
		opts.APITokenReauth = DefaultAPITokenReauth
	}
	if opts.MaxAPITokens <= 0 {
		opts.MaxAPITokens = DefaultMaxAPITokens
	}
	if opts.AuditRetention <= 0 {
		opts.AuditRetention = DefaultAuditRetention
	}
	policies := make(map[string]Policy, len(opts.Policies))
	for name, p := range opts.Policies {
		p.Name = name
		if p.Refresh != store.PolicyRotating && p.Refresh != store.PolicyStable {
			return nil, fmt.Errorf("engine: service %q: refresh policy %q", name, p.Refresh)
		}
		if p.AccessTTL <= 0 || p.IdleTTL <= 0 || p.AbsoluteTTL <= 0 {
			return nil, fmt.Errorf("engine: service %q: lifetimes must be positive", name)
		}
		policies[name] = p
	}
	// A per-tenant variant ("ags@acme") sets lifetimes only: its refresh
	// policy and its claims (sub included) are its service's.
	variants := false
	for name, p := range policies {
		base, tenant, ok := strings.Cut(name, "@")
		if !ok {
			continue
		}
		b, known := policies[base]
		if !known || tenant == "" {
			return nil, fmt.Errorf("engine: policy %q: want SERVICE@TENANT of a known service", name)
		}
		p.Refresh, p.Claims, p.Subject = b.Refresh, b.Claims, b.Subject
		policies[name] = p
		variants = true
	}
	for _, required := range []string{ServiceOAuth2, ServiceAPIToken} {
		if _, ok := policies[required]; !ok {
			return nil, fmt.Errorf("engine: no policy for service %q", required)
		}
	}
	h, err := newHasher(opts.HashWorkers, opts.HashMemoryKiB, opts.HashIterations, opts.Rand)
	if err != nil {
		return nil, err
	}
	mac, err := token.NewMAC(subKey(opts.RefreshKey, "refresh-token signature v1"), token.TypeRefresh)
	if err != nil {
		return nil, err
	}
	registerGauges(opts.Registerer, h, ring, opts.Now)
	return &Engine{
		st: st, ring: ring, mac: mac, opts: opts, policies: policies, variants: variants, hash: h,
		now: opts.Now, rand: opts.Rand, log: opts.Logger,
		metrics: newMetrics(opts.Registerer), live: newLiveSessions(opts.Registerer), verified: newVerifiedCache(), clients: newClientCache(),
		changes: newChanges(opts.Registerer),
	}, nil
}

// Service names the engine itself relies on.
const (
	ServiceOAuth2   = "oauth2"
	ServiceAPIToken = "apitoken"
)

// PolicyFor returns the policy of a service for one tenant: a policy named
// "SERVICE@TENANT" (per-tenant lifetimes, e.g. "ags@acme") wins over the
// service's own, and "x:y" falls back to "x" in both. The policy's Name is
// service either way: sessions record the service, not the tenant's
// variant, so a change of the tenant's lifetimes applies to them at their
// next refresh.
func (e *Engine) PolicyFor(service, tenant string) (Policy, error) {
	if e.variants && tenant != "" {
		base, _, _ := strings.Cut(service, ":")
		for _, name := range []string{service, base} {
			if p, ok := e.policies[name+"@"+tenant]; ok {
				p.Name = service
				return p, nil
			}
		}
	}
	return e.Policy(service)
}

// Policy returns the policy of a service, falling back from "x:y" to "x".
func (e *Engine) Policy(service string) (Policy, error) {
	if p, ok := e.policies[service]; ok {
		return p, nil
	}
	if base, _, ok := strings.Cut(service, ":"); ok {
		if p, ok := e.policies[base]; ok {
			p.Name = service
			return p, nil
		}
	}
	return Policy{}, fmt.Errorf("engine: unknown sign-on service %q", service)
}

// Issuer returns the issuer every token carries.
func (e *Engine) Issuer() string { return e.opts.Issuer }

// SignOutKeepsSessions reports whether ending a browser sign-in keeps the
// sessions its authorization codes started (Options.SignOutKeepsSessions).
func (e *Engine) SignOutKeepsSessions() bool { return e.opts.SignOutKeepsSessions }

// DefaultTenant returns the name of the default tenant.
func (e *Engine) DefaultTenant() string { return e.opts.DefaultTenant }

// Audience returns the audience of access tokens.
func (e *Engine) Audience() string { return e.opts.Audience }

// Now returns the engine's clock reading.
func (e *Engine) Now() time.Time { return e.now() }

// Ring returns the signing key ring.
func (e *Engine) Ring() *token.Ring { return e.ring }

// Defaults of Options.
const (
	DefaultMinPasswordLength = 8
	DefaultAPITokenReauth    = 5 * time.Minute
	DefaultMaxAPITokens      = 10
	DefaultAuditRetention    = 90 * 24 * time.Hour
)

// Run does the engine's background work until ctx ends: it listens to the
// store's change notifications when the store gives them (changes.go),
// reloads the key ring every reload (so keys rotated or revoked on another
// node or by the CLI take effect even when a notification was lost),
// prunes expired keys and purges dead sessions, audit events past their
// retention and ended runs of sign-on failures (Purge, once a minute, by
// one node at a time), and, once a minute, recounts the live sessions of
// the tokengate_sessions_live gauge (the node counts them once with
// RecountLiveSessions before it serves).
func (e *Engine) Run(ctx context.Context, reload time.Duration) {
	if reload <= 0 {
		reload = 10 * time.Second
	}
	if n, ok := e.st.(store.Notifier); ok {
		go e.listen(ctx, n)
	}
	recount := func() {
		if err := e.RecountLiveSessions(ctx); err != nil && ctx.Err() == nil {
			e.log.ErrorContext(ctx, "recount live sessions", "err", err)
		}
	}
	keys := time.NewTicker(reload)
	defer keys.Stop()
	purge := time.NewTicker(time.Minute)
	defer purge.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-keys.C:
			if err := e.ring.Load(ctx); err != nil && ctx.Err() == nil {
				e.log.ErrorContext(ctx, "reload signing keys", "err", err)
			}
		case <-purge.C:
			e.Purge(ctx, 1000, 100)
			recount()
		}
	}
}

// PurgeLock is the store lock (store.Locker) a node holds while it purges,
// so that nodes sharing a store purge one at a time.
const PurgeLock = "purge"

// Purge runs one round of the background purges (Run's every minute):
// expired signing keys, then dead sessions, browser sessions, audit events
// and sign-on failure records, at most batch rows per statement and
// maxBatches statements each; it logs what fails. On a store shared by several nodes it first takes
// PurgeLock without waiting: when another node holds it (it is purging),
// this round is skipped and Purge returns false.
func (e *Engine) Purge(ctx context.Context, batch, maxBatches int) bool {
	if l, ok := e.st.(store.Locker); ok {
		release, ok, err := l.TryLock(ctx, PurgeLock)
		if err != nil {
			if ctx.Err() == nil {
				e.log.ErrorContext(ctx, "purge: take the purge lock", "err", err)
			}
			return false
		}
		if !ok {
			e.log.DebugContext(ctx, "purge skipped: another node is purging")
			return false
		}
		defer release()
	}
	// Keys whose every token expired leave the store (a ring skips them
	// from then on anyway).
	if _, err := e.ring.Prune(ctx); err != nil && ctx.Err() == nil {
		e.log.ErrorContext(ctx, "prune signing keys", "err", err)
	}
	for _, p := range []struct {
		what string
		fn   func(context.Context, int, int) (int, error)
	}{
		{"sessions", e.PurgeSessions}, {"browser sessions", e.PurgeBrowserSessions}, {"audit", e.PurgeAudit}, {"sign-on failures", e.PurgeFailures},
		{"authorization codes", e.PurgeAuthCodes},
	} {
		if _, err := p.fn(ctx, batch, maxBatches); err != nil && ctx.Err() == nil {
			e.log.ErrorContext(ctx, "purge "+p.what, "err", err)
		}
	}
	return true
}

// PurgeRetention is how long dead sessions are kept (for listings and
// audit context) before the background purge deletes them.
const PurgeRetention = 24 * time.Hour

// PurgeSessions deletes sessions dead for longer than PurgeRetention, at
// most batch rows per statement and at most maxBatches statements, so a
// large backlog never holds the write lock for long.
func (e *Engine) PurgeSessions(ctx context.Context, batch, maxBatches int) (int, error) {
	return e.purgeBatches(ctx, "dead sessions", batch, maxBatches, func(n int) (int, error) {
		return e.st.PurgeSessions(ctx, e.now().Add(-PurgeRetention), n)
	})
}

// PurgeBrowserSessions deletes browser sessions dead for longer than
// PurgeRetention, in batches as PurgeSessions.
func (e *Engine) PurgeBrowserSessions(ctx context.Context, batch, maxBatches int) (int, error) {
	return e.purgeBatches(ctx, "dead browser sessions", batch, maxBatches, func(n int) (int, error) {
		return e.st.PurgeBrowserSessions(ctx, e.now().Add(-PurgeRetention), n)
	})
}

// PurgeAuthCodes deletes authorization codes expired for longer than
// PurgeRetention, in batches as PurgeSessions. A used code is kept that
// long so that its replay is recognised and revokes what it issued.
func (e *Engine) PurgeAuthCodes(ctx context.Context, batch, maxBatches int) (int, error) {
	return e.purgeBatches(ctx, "authorization codes", batch, maxBatches, func(n int) (int, error) {
		return e.st.PurgeAuthCodes(ctx, e.now().Add(-PurgeRetention), n)
	})
}

// PurgeAudit deletes audit events older than the audit retention, in
// batches as PurgeSessions.
func (e *Engine) PurgeAudit(ctx context.Context, batch, maxBatches int) (int, error) {
	return e.purgeBatches(ctx, "audit events", batch, maxBatches, func(n int) (int, error) {
		return e.st.PurgeAudit(ctx, e.now().Add(-e.opts.AuditRetention), n)
	})
}

// PurgeFailures deletes the records of runs of sign-on failures that have
// ended under both throttle rules, in batches as PurgeSessions.
func (e *Engine) PurgeFailures(ctx context.Context, batch, maxBatches int) (int, error) {
	forget := max(e.opts.Throttle.Account.Forget, e.opts.Throttle.Address.Forget)
	return e.purgeBatches(ctx, "sign-on failure records", batch, maxBatches, func(n int) (int, error) {
		return e.st.PurgeFailures(ctx, e.now().Add(-forget), n)
	})
}

func (e *Engine) purgeBatches(ctx context.Context, what string, batch, maxBatches int, purge func(int) (int, error)) (int, error) {
	total := 0
	for range maxBatches {
		n, err := purge(batch)
		total += n
		if err != nil {
			return total, err
		}
		if n < batch {
			break
		}
	}
	if total > 0 {
		e.log.InfoContext(ctx, "purged "+what, "count", total)
	}
	return total, nil
}
