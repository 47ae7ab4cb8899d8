package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Dialect names the token API the client speaks to tokengate.
type Dialect string

// The dialects tokengate serves.
const (
	// DialectOAuth2 is POST /oauth2/token (RFC 6749): password and
	// refresh_token grants, token exchange (RFC 8693) for an external
	// token. Rotating: each refresh returns a new refresh token.
	DialectOAuth2 Dialect = "oauth2"
	// DialectCore is datarhei Core's POST /api/login and
	// GET /api/login/refresh. Stable: the refresh token stays the same.
	DialectCore Dialect = "core"
	// DialectAGS is the Authentication Gateway Service's POST /ags/signOn
	// and POST /ags/refresh. Rotating.
	DialectAGS Dialect = "ags"
	// DialectSyncGateway is Sync Gateway's /{bucket}/_oidc_refresh. It
	// only refreshes: the client needs a refresh token (an API refresh
	// token from the User Profile page), and keeps it.
	DialectSyncGateway Dialect = "syncgw"
)

// ParseDialect accepts a dialect's name ("" is OAuth 2.0).
func ParseDialect(s string) (Dialect, error) {
	switch d := Dialect(strings.ToLower(s)); d {
	case "":
		return DialectOAuth2, nil
	case DialectOAuth2, DialectCore, DialectAGS, DialectSyncGateway:
		return d, nil
	case "syncgateway", "sync-gateway":
		return DialectSyncGateway, nil
	}
	return "", fmt.Errorf("unknown dialect %q: want oauth2, core, ags or syncgw", s)
}

// Config configures a Client. Address and one way to sign in are
// required: Username and Password, an ExternalToken, or a saved
// RefreshToken (optionally with its AccessToken). Credentials given
// together with saved tokens are the fallback for when the refresh token
// has expired or been revoked.
type Config struct {
	// Address is the gateway's base URL, e.g. http://127.0.0.1:8080.
	Address string

	Username string
	Password string
	// ExternalToken is an OIDC/Auth0 token the gateway trusts, exchanged
	// for tokengate tokens at sign-in (OAuth 2.0: by RFC 8693 token
	// exchange, which needs a ClientID allowed that grant).
	ExternalToken string

	// RefreshToken and AccessToken are tokens saved from an earlier
	// client (Tokens); the client resumes with them and makes no sign-in
	// call while they work.
	RefreshToken string
	AccessToken  string

	// UserID is the membership (MU…) sent in the UserID header of API
	// calls, for users in several organisations.
	UserID string

	// Dialect is the token API to use; DialectOAuth2 when empty.
	Dialect Dialect
	// ClientID is the OAuth 2.0 client; "tokengate" when empty.
	ClientID string
	// Tenant names the tenant (AGS nv-tenant-id); the gateway's default
	// tenant when empty.
	Tenant string
	// AuthServiceID is the AGS sign-on service (x-auth-service-id). When
	// empty the client asks the gateway's service discovery.
	AuthServiceID string
	// Bucket is the Sync Gateway bucket; "whitespace" when empty.
	Bucket string

	// HTTPClient carries the client's own calls and the API calls made
	// through Do and HTTPClient; a client with a 30 s timeout when nil.
	HTTPClient *http.Client
	// RefreshMargin is how long before the access token expires it is
	// renewed; min(30 s, 10% of the token's lifetime) when zero.
	RefreshMargin time.Duration
	// RequireRefreshToken makes New fail with ErrRefreshNotEnabled when
	// sign-in yields no refresh token. Without it such a login keeps
	// working by signing in again with its credentials at each expiry.
	RequireRefreshToken bool
	// OnTokens, when set, is called with the new tokens after each sign-in
	// and refresh, one call at a time, so the caller can persist them.
	OnTokens func(Tokens)
	// Now is the client's clock: it times a token from when it was
	// received, and says when it is due for renewal. time.Now when nil.
	// The client renews on demand (when a call needs a token that is due),
	// never from a timer, so a settable clock (a test's) is all it takes to
	// move renewals without waiting. The bound of one renewal call (30 s)
	// and HTTPClient's timeout stay in real time.
	Now func() time.Time
}

// Tokens is the client's current pair.
type Tokens struct {
	AccessToken string `json:"access_token"`
	// RefreshToken is empty when the login is not refresh-enabled.
	RefreshToken string `json:"refresh_token,omitempty"`
	// Expiry is when the access token expires (by the client's clock);
	// zero when the token's expiry could not be read.
	Expiry time.Time `json:"expiry,omitzero"`
}

// Client keeps a login's tokens fresh and authenticates HTTP calls with
// them. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base string // Address without its trailing slash
	hc   *http.Client
	d    dialect
	now  func() time.Time

	mu        sync.Mutex
	tok       Tokens
	refreshAt time.Time
	gen       uint64  // counts token changes
	flight    *flight // the renewal under way, if any

	cbMu sync.Mutex // serialises OnTokens calls

	agsMu      sync.Mutex
	agsService string

	apiOnce sync.Once
	api     *http.Client // HTTPClient's
}

// flight is one renewal that every caller needing it waits on.
type flight struct {
	done chan struct{}
	tok  Tokens
	gen  uint64
	err  error
}

// refreshTimeout bounds one renewal, which runs on behalf of every waiter
// and so outlives the context of the caller that started it.
const refreshTimeout = 30 * time.Second

// New returns a client that is signed in: it signs in with the
// credentials, or resumes from saved tokens without a sign-in call
// (refreshing first when the saved access token has expired, and signing
// in with the credentials if that refresh is refused). Its errors are
// ErrInvalidCredentials, ErrRefreshNotEnabled, ErrReauthenticate or a
// *ServerError.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Address == "" {
		return nil, errors.New("client: Config.Address is required")
	}
	u, err := url.Parse(cfg.Address)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: Config.Address %q: want an absolute http(s) URL", cfg.Address)
	}
	if cfg.Dialect, err = ParseDialect(string(cfg.Dialect)); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "tokengate"
	}
	if cfg.Bucket == "" {
		cfg.Bucket = "whitespace"
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		return nil, errors.New("client: Username and Password go together")
	}
	c := &Client{cfg: cfg, base: strings.TrimRight(cfg.Address, "/"), hc: cfg.HTTPClient, now: cfg.Now}
	if c.now == nil {
		c.now = time.Now
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 30 * time.Second}
	}
	c.d = dialectFor(cfg.Dialect)
	if !c.d.canSignOn(cfg) && cfg.RefreshToken == "" && cfg.AccessToken == "" {
		if cfg.Dialect == DialectSyncGateway {
			return nil, errors.New("client: the Sync Gateway dialect only refreshes: Config.RefreshToken is required")
		}
		return nil, errors.New("client: Config needs Username and Password, an ExternalToken or a saved RefreshToken")
	}
	resumed := false
	if cfg.AccessToken != "" {
		c.install(Tokens{AccessToken: cfg.AccessToken, RefreshToken: cfg.RefreshToken}, false)
		resumed = c.fresh()
	} else if cfg.RefreshToken != "" {
		c.tok.RefreshToken = cfg.RefreshToken
	}
	if !resumed {
		if _, _, err := c.renew(ctx, c.gen, true); err != nil {
			return nil, err
		}
	}
	if cfg.RequireRefreshToken && c.Tokens().RefreshToken == "" {
		return nil, ErrRefreshNotEnabled
	}
	return c, nil
}

// Tokens returns the current tokens, to save and resume from later.
func (c *Client) Tokens() Tokens {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tok
}

// Token returns a valid access token, renewing it first if it is due.
func (c *Client) Token(ctx context.Context) (string, error) {
	t, _, err := c.token(ctx)
	return t.AccessToken, err
}

// Refresh renews the tokens now, whether or not they are due.
func (c *Client) Refresh(ctx context.Context) (Tokens, error) {
	c.mu.Lock()
	g := c.gen
	c.mu.Unlock()
	t, _, err := c.renew(ctx, g, true)
	return t, err
}

// fresh reports whether the access token is not yet due; c.mu is held.
func (c *Client) fresh() bool {
	if c.tok.AccessToken == "" {
		return false
	}
	return c.refreshAt.IsZero() || c.now().Before(c.refreshAt)
}

// token returns the current tokens and their generation, renewed first
// when due.
func (c *Client) token(ctx context.Context) (Tokens, uint64, error) {
	c.mu.Lock()
	if c.fresh() {
		t, g := c.tok, c.gen
		c.mu.Unlock()
		return t, g, nil
	}
	g := c.gen
	c.mu.Unlock()
	return c.renew(ctx, g, false)
}

// renew obtains new tokens unless someone already has since generation
// seen. Only one renewal runs at a time: later callers wait for it.
// force renews even a token that is not yet due (after a 401).
func (c *Client) renew(ctx context.Context, seen uint64, force bool) (Tokens, uint64, error) {
	c.mu.Lock()
	if c.tok.AccessToken != "" && (c.gen != seen || (!force && c.fresh())) {
		// Someone renewed since the caller looked.
		t, g := c.tok, c.gen
		c.mu.Unlock()
		return t, g, nil
	}
	f := c.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		c.flight = f
		go c.fly(context.WithoutCancel(ctx), f)
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.gen, f.err
	case <-ctx.Done():
		return Tokens{}, 0, ctx.Err()
	}
}

func (c *Client) fly(ctx context.Context, f *flight) {
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	t, err := c.obtain(ctx)
	if err == nil {
		f.tok, f.gen = c.install(t, true)
		c.notify(f.tok)
	}
	f.err = err
	c.mu.Lock()
	c.flight = nil
	c.mu.Unlock()
	close(f.done)
}

// obtain gets new tokens: by refresh when there is a refresh token, by
// sign-in when there is none or the server refused it.
func (c *Client) obtain(ctx context.Context) (Tokens, error) {
	c.mu.Lock()
	rt := c.tok.RefreshToken
	c.mu.Unlock()
	canSignOn := c.d.canSignOn(c.cfg)
	if rt != "" {
		g, err := c.d.refresh(ctx, c, rt)
		if err == nil {
			if g.refresh == "" {
				g.refresh = rt // stable policy: keep it
			}
			return Tokens{AccessToken: g.access, RefreshToken: g.refresh}, nil
		}
		if !isRejected(err) {
			return Tokens{}, err
		}
		if !canSignOn {
			if errors.Is(err, ErrRefreshNotEnabled) {
				return Tokens{}, errors.Unwrap(err)
			}
			return Tokens{}, wrapKind(ErrReauthenticate, errors.Unwrap(err))
		}
		// The refresh token is spent: forget it, and sign in again.
		c.mu.Lock()
		if c.tok.RefreshToken == rt {
			c.tok.RefreshToken = ""
		}
		c.mu.Unlock()
	} else if !canSignOn {
		return Tokens{}, ErrReauthenticate
	}
	g, err := c.d.signOn(ctx, c)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: g.access, RefreshToken: g.refresh}, nil
}

// install makes t current and returns it with its new generation.
func (c *Client) install(t Tokens, fresh bool) (Tokens, uint64) {
	now := c.now()
	var refreshAt time.Time
	t.Expiry, refreshAt = schedule(t.AccessToken, now, fresh, c.cfg.RefreshMargin)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tok, c.refreshAt = t, refreshAt
	c.gen++
	return c.tok, c.gen
}

func (c *Client) notify(t Tokens) {
	if c.cfg.OnTokens == nil {
		return
	}
	c.cbMu.Lock()
	defer c.cbMu.Unlock()
	c.cfg.OnTokens(t)
}
