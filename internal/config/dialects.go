package config

import (
	"fmt"
	"net/url"
	"regexp"
)

// Core configures the datarhei Core-compatible dialect (/api, /api/login).
type Core struct {
	Enabled bool `yaml:"enabled"`
	// Version is the Core API version this dialect emulates in GET /api;
	// Core clients refuse a server whose version is not 16.x.
	Version string `yaml:"version"`
	// Tenant is the tenant Core sign-ons belong to ("" = default tenant).
	Tenant string `yaml:"tenant"`
}

// SyncGW configures the Couchbase Sync Gateway-compatible dialect
// (GET|POST /{bucket}/_oidc_refresh).
type SyncGW struct {
	Enabled bool `yaml:"enabled"`
	// Buckets are the bucket names _oidc_refresh answers for; any other
	// bucket gets Sync Gateway's 404.
	Buckets []string `yaml:"buckets"`
}

func defaultSyncGW() SyncGW { return SyncGW{Enabled: true, Buckets: []string{"whitespace"}} }

// AGS configures the Authentication Gateway Service-compatible dialect.
type AGS struct {
	Enabled bool `yaml:"enabled"`
	// PasswordDisplayName is the name discovery shows for the password
	// sign-on service.
	PasswordDisplayName string `yaml:"password_display_name"`
}

// OIDC lists the external OpenID Connect / Auth0 issuers whose tokens
// tokengate accepts for sign-on.
type OIDC struct {
	Issuers []OIDCIssuer `yaml:"issuers"`
	// Leeway tolerates clock skew on exp and nbf of external tokens.
	Leeway Duration `yaml:"leeway"`
}

// OIDCIssuer is one trusted external issuer of one tenant.
type OIDCIssuer struct {
	// ID names the sign-on service (AGS x-auth-service-id); unique per tenant.
	ID          string `yaml:"id"`
	DisplayName string `yaml:"display_name"`
	Logo        string `yaml:"logo"`
	Tenant      string `yaml:"tenant"` // "" = default tenant
	// Issuer is the issuer URL; discovery and JWKS are fetched from it.
	Issuer string `yaml:"issuer"`
	// Audience is the aud external tokens must carry (an Auth0 API
	// identifier); ClientID is accepted as aud too (ID tokens).
	Audience string `yaml:"audience"`
	ClientID string `yaml:"client_id"`
	// ClientSecret authenticates tokengate to the issuer's token endpoint
	// when the web UI signs users in with it ("Sign in with …", shown
	// for every issuer with a client_id); empty for a public client,
	// which relies on PKCE alone.
	ClientSecret string `yaml:"client_secret"`
	// Auth0Domain is what Core's about JSON shows ("auth0 <domain>");
	// default: the issuer's host.
	Auth0Domain string `yaml:"auth0_domain"`
	// AllowedSubjects and AllowedEmails admit users by sub or by (verified)
	// email; AllowAnyUser admits every user of the issuer.
	AllowedSubjects []string `yaml:"allowed_subjects"`
	AllowedEmails   []string `yaml:"allowed_emails"`
	AllowAnyUser    bool     `yaml:"allow_any_user"`
	// CreateUsers creates a local user on first sign-on; otherwise the
	// identity links to an existing local user of the same name.
	CreateUsers bool `yaml:"create_users"`
	// RefreshEnabled is the refresh-enabled flag of users created here.
	RefreshEnabled bool `yaml:"refresh_enabled"`
}

var serviceIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// validateDialects reports problems of the dialect and OIDC sections.
func (c *Config) validateDialects() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Core.Enabled && !regexp.MustCompile(`^16\.\d+\.\d+$`).MatchString(c.Core.Version) {
		bad("core.version %q: Core clients need a 16.x.y version", c.Core.Version)
	}
	if c.OIDC.Leeway < 0 {
		bad("oidc.leeway must not be negative")
	}
	seen := map[string]bool{}
	for i, is := range c.OIDC.Issuers {
		where := fmt.Sprintf("oidc.issuers[%d]", i)
		if !serviceIDPattern.MatchString(is.ID) || is.ID == "password" {
			bad("%s.id %q: want 1-64 letters, digits, . _ - (and not \"password\")", where, is.ID)
		}
		key := is.Tenant + "\x00" + is.ID
		if seen[key] {
			bad("%s.id %q is used twice in tenant %q", where, is.ID, is.Tenant)
		}
		seen[key] = true
		if u, err := url.Parse(is.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("%s.issuer %q: want an absolute http(s) URL", where, is.Issuer)
		}
		if is.Audience == "" && is.ClientID == "" {
			bad("%s: audience or client_id is required", where)
		}
		if !is.AllowAnyUser && len(is.AllowedSubjects) == 0 && len(is.AllowedEmails) == 0 {
			bad("%s: list allowed_subjects or allowed_emails, or set allow_any_user", where)
		}
	}
	return errs
}
