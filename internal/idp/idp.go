// Package idp verifies tokens of external OpenID Connect / Auth0 issuers
// and signs their users on through the engine. Discovery, JWKS caching and
// the refetch of keys on an unknown kid come from github.com/coreos/go-oidc;
// this package adds per-tenant configuration, the audience and not-before
// checks, and the allowed-user rules.
package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/obs"
)

// signingAlgs are the asymmetric algorithms external tokens may use. A
// token verifies only with a key of its algorithm's type, so "none" and
// HMAC (HS256 "signed" with a public key) never verify.
var signingAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.PS256, oidc.PS384, oidc.PS512,
	oidc.ES256, oidc.ES384, oidc.ES512, oidc.EdDSA,
}

// retryAfter throttles discovery attempts against an unreachable issuer.
const retryAfter = 5 * time.Second

// Registry holds the trusted issuers of every tenant.
type Registry struct {
	eng           *engine.Engine
	log           *slog.Logger
	client        *http.Client
	leeway        time.Duration
	defaultTenant string
	issuers       []*Issuer
}

// Issuer is one trusted external issuer. Discovery happens on first use
// and is retried (throttled) until it succeeds, so tokengate starts even
// while an issuer is unreachable.
type Issuer struct {
	Config config.OIDCIssuer
	reg    *Registry

	mu       sync.Mutex
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	lastTry  time.Time
}

// New returns the registry of cfg's issuers. client may be nil.
func New(cfg config.OIDC, defaultTenant string, eng *engine.Engine, log *slog.Logger, client *http.Client) *Registry {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Registry{eng: eng, log: log, client: client, leeway: cfg.Leeway.D(), defaultTenant: defaultTenant}
	for _, c := range cfg.Issuers {
		if c.Tenant == "" {
			c.Tenant = defaultTenant
		}
		if c.DisplayName == "" {
			c.DisplayName = c.ID
		}
		if c.Auth0Domain == "" {
			if u, err := url.Parse(c.Issuer); err == nil {
				c.Auth0Domain = u.Host
			}
		}
		r.issuers = append(r.issuers, &Issuer{Config: c, reg: r})
	}
	return r
}

func (r *Registry) tenantName(t string) string {
	if t == "" {
		return r.defaultTenant
	}
	return t
}

// Issuers returns the issuer configurations of a tenant ("" = default).
func (r *Registry) Issuers(tenant string) []config.OIDCIssuer {
	tenant = r.tenantName(tenant)
	var out []config.OIDCIssuer
	for _, is := range r.issuers {
		if is.Config.Tenant == tenant {
			out = append(out, is.Config)
		}
	}
	return out
}

// IssuerURL returns the iss of a tenant's issuer named by its service id
// or by that URL itself: how an administrator names the issuer of an
// identity to link (engine.LinkExternalIdentity).
func (r *Registry) IssuerURL(tenant, idOrURL string) (string, bool) {
	if is := r.find(tenant, func(c config.OIDCIssuer) bool { return c.ID == idOrURL || c.Issuer == idOrURL }); is != nil {
		return is.Config.Issuer, true
	}
	return "", false
}

// Service returns a tenant's issuer by its service id.
func (r *Registry) Service(tenant, id string) (config.OIDCIssuer, bool) {
	if is := r.find(tenant, func(c config.OIDCIssuer) bool { return c.ID == id }); is != nil {
		return is.Config, true
	}
	return config.OIDCIssuer{}, false
}

func (r *Registry) find(tenant string, match func(config.OIDCIssuer) bool) *Issuer {
	tenant = r.tenantName(tenant)
	for _, is := range r.issuers {
		if is.Config.Tenant == tenant && match(is.Config) {
			return is
		}
	}
	return nil
}

// Verify checks raw against a tenant's issuer: the one named service, or,
// when service is "", the one named by the token's iss claim. It returns
// the identity, or ErrInvalidToken / ErrTokenExpired /
// ErrExternalNotAllowed / ErrExternalUnavailable from package engine.
func (r *Registry) Verify(ctx context.Context, tenant, service, raw string) (engine.ExternalIdentity, error) {
	var is *Issuer
	if service != "" {
		is = r.find(tenant, func(c config.OIDCIssuer) bool { return c.ID == service })
	} else {
		iss, err := unverifiedIssuer(raw)
		if err != nil {
			return engine.ExternalIdentity{}, engine.ErrInvalidToken
		}
		is = r.find(tenant, func(c config.OIDCIssuer) bool { return c.Issuer == iss })
	}
	if is == nil {
		return engine.ExternalIdentity{}, engine.ErrInvalidToken
	}
	return is.verify(ctx, raw)
}

// SignOn verifies raw (see Verify) and signs its user on with req.
func (r *Registry) SignOn(ctx context.Context, tenant, service, raw string, req engine.SignOnRequest) (*engine.Grant, error) {
	id, err := r.Verify(ctx, tenant, service, raw)
	if err != nil {
		return nil, err
	}
	return r.eng.SignOnExternal(ctx, r.tenantName(tenant), id, req)
}

// unverifiedIssuer reads iss from a token without verifying it, only to
// pick the issuer whose keys will verify it.
func unverifiedIssuer(raw string) (string, error) {
	algs := make([]jose.SignatureAlgorithm, len(signingAlgs))
	for i, a := range signingAlgs {
		algs[i] = jose.SignatureAlgorithm(a)
	}
	tok, err := jwt.ParseSigned(raw, algs)
	if err != nil {
		return "", err
	}
	var c jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		return "", err
	}
	return c.Issuer, nil
}

// idVerifier returns the issuer's verifier, running discovery the first
// time (and again after a failure, at most every retryAfter).
func (is *Issuer) idVerifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.verifier != nil {
		return is.verifier, nil
	}
	now := time.Now()
	if !is.lastTry.IsZero() && now.Sub(is.lastTry) < retryAfter {
		return nil, errors.New("discovery failed recently")
	}
	is.lastTry = now
	r := is.reg
	dctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, r.client), 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(dctx, is.Config.Issuer)
	if err != nil {
		if obs.Gone(ctx) {
			// The caller left, the issuer did not fail: the next caller
			// tries again at once.
			is.lastTry = time.Time{}
			return nil, fmt.Errorf("discovery of %s: %w", is.Config.Issuer, ctx.Err())
		}
		return nil, err
	}
	// The key set outlives this request: it refetches keys on an unknown
	// kid with a context of its own.
	is.provider = p
	is.verifier = p.VerifierContext(oidc.ClientContext(context.Background(), r.client), &oidc.Config{
		SkipClientIDCheck:    true, // aud is checked below against audience or client id
		SupportedSigningAlgs: signingAlgs,
		Now:                  func() time.Time { return r.eng.Now().Add(-r.leeway) },
	})
	return is.verifier, nil
}

type extClaims struct {
	NotBefore         *json.Number `json:"nbf"`
	Email             string       `json:"email"`
	EmailVerified     any          `json:"email_verified"`
	PreferredUsername string       `json:"preferred_username"`
	Nickname          string       `json:"nickname"`
	Name              string       `json:"name"`
}

func (is *Issuer) verify(ctx context.Context, raw string) (engine.ExternalIdentity, error) {
	id, _, err := is.verifyToken(ctx, raw)
	return id, err
}

func (is *Issuer) verifyToken(ctx context.Context, raw string) (engine.ExternalIdentity, *oidc.IDToken, error) {
	c := is.Config
	v, err := is.idVerifier(ctx)
	if err != nil {
		obs.Failure(ctx, is.reg.log.With("issuer", c.Issuer), slog.LevelWarn, "external issuer unavailable", err)
		return engine.ExternalIdentity{}, nil, engine.ErrExternalUnavailable
	}
	tok, err := v.Verify(ctx, raw)
	if err != nil && obs.Gone(ctx) {
		// Verification waited for the issuer's keys and the caller left:
		// the token was not refused.
		return engine.ExternalIdentity{}, nil, fmt.Errorf("external token not verified: %w", ctx.Err())
	}
	if err != nil {
		is.reg.log.InfoContext(ctx, "external token refused", "issuer", c.Issuer, "reason", err.Error())
		var te *oidc.TokenExpiredError
		if errors.As(err, &te) {
			return engine.ExternalIdentity{}, nil, engine.ErrTokenExpired
		}
		return engine.ExternalIdentity{}, nil, engine.ErrInvalidToken
	}
	id, err := is.identity(ctx, tok)
	return id, tok, err
}

// identity applies the audience, not-before and allowed-user rules to a
// token whose signature and expiry verified.
func (is *Issuer) identity(ctx context.Context, tok *oidc.IDToken) (engine.ExternalIdentity, error) {
	c := is.Config
	if !(c.Audience != "" && slices.Contains(tok.Audience, c.Audience)) && !(c.ClientID != "" && slices.Contains(tok.Audience, c.ClientID)) {
		is.reg.log.InfoContext(ctx, "external token refused", "issuer", c.Issuer, "reason", "audience")
		return engine.ExternalIdentity{}, engine.ErrInvalidToken
	}
	var ec extClaims
	if err := tok.Claims(&ec); err != nil {
		return engine.ExternalIdentity{}, engine.ErrInvalidToken
	}
	if ec.NotBefore != nil {
		nbf, err := ec.NotBefore.Float64()
		if err != nil || time.Unix(int64(nbf), 0).After(is.reg.eng.Now().Add(is.reg.leeway)) {
			is.reg.log.InfoContext(ctx, "external token refused", "issuer", c.Issuer, "reason", "not yet valid")
			return engine.ExternalIdentity{}, engine.ErrInvalidToken
		}
	}
	if tok.Subject == "" {
		return engine.ExternalIdentity{}, engine.ErrInvalidToken
	}
	verified := emailVerified(ec.EmailVerified)
	if !is.allowed(tok.Subject, ec.Email, verified) {
		is.reg.log.InfoContext(ctx, "external user not allowed", "issuer", c.Issuer, "subject", tok.Subject)
		return engine.ExternalIdentity{}, engine.ErrExternalNotAllowed
	}
	id := engine.ExternalIdentity{Issuer: tok.Issuer, Subject: tok.Subject, Name: ec.Name,
		CreateUser: c.CreateUsers, RefreshEnabled: c.RefreshEnabled}
	if verified {
		id.Email = ec.Email
	}
	for _, n := range []string{ec.PreferredUsername, ec.Nickname, id.Email} {
		if n != "" {
			id.Username = n
			break
		}
	}
	return id, nil
}

// allowed applies the issuer's allowed users. An email admits a user only
// when the issuer says it is verified.
func (is *Issuer) allowed(sub, email string, verified bool) bool {
	c := is.Config
	if c.AllowAnyUser || slices.Contains(c.AllowedSubjects, sub) {
		return true
	}
	return email != "" && verified && slices.ContainsFunc(c.AllowedEmails, func(a string) bool { return strings.EqualFold(a, email) })
}

// emailVerified reads email_verified, which some issuers send as a string.
// An absent claim is false (OIDC Core §5.1): an email nobody vouches for
// may be anyone's, so it admits no one and is not kept.
func emailVerified(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x == "true"
	}
	return false
}

// Configured reports whether any tenant trusts an external issuer. Without
// one, surfaces leave external sign-on out (the OAuth 2.0 token endpoint
// then answers unsupported_grant_type to token exchange).
func (r *Registry) Configured() bool { return len(r.issuers) > 0 }
