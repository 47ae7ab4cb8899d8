package idp

import (
	"context"
	"crypto/subtle"
	"net/url"
	"slices"

	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
)

// LoginIssuer is an issuer a browser can sign in with (the web UI's
// "Sign in with …"): the OpenID Connect authorization code flow with PKCE
// (OpenID Connect Core 1.0 §3.1, RFC 7636), for which the issuer's
// configuration names a client_id (and, for a confidential client, its
// client_secret).
type LoginIssuer struct {
	ID           string
	Name         string
	Origin       string // scheme://host of the issuer, for the page's form-action
	ClientID     string
	ClientSecret string
}

// LoginIssuers lists the issuers of a tenant ("" = default) configured for
// browser sign-in.
func (r *Registry) LoginIssuers(tenant string) []LoginIssuer {
	var out []LoginIssuer
	for _, c := range r.Issuers(tenant) {
		if li, ok := loginIssuer(c); ok {
			out = append(out, li)
		}
	}
	return out
}

func loginIssuer(c config.OIDCIssuer) (LoginIssuer, bool) {
	if c.ClientID == "" {
		return LoginIssuer{}, false
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || u.Host == "" {
		return LoginIssuer{}, false
	}
	return LoginIssuer{ID: c.ID, Name: c.DisplayName, Origin: u.Scheme + "://" + u.Host, ClientID: c.ClientID, ClientSecret: c.ClientSecret}, true
}

// LoginEndpoints returns a login issuer and its authorization and token
// endpoints, from its discovery document.
func (r *Registry) LoginEndpoints(ctx context.Context, tenant, id string) (LoginIssuer, oauth2.Endpoint, error) {
	is := r.find(tenant, func(c config.OIDCIssuer) bool { return c.ID == id })
	if is == nil {
		return LoginIssuer{}, oauth2.Endpoint{}, engine.ErrExternalNotAllowed
	}
	li, ok := loginIssuer(is.Config)
	if !ok {
		return LoginIssuer{}, oauth2.Endpoint{}, engine.ErrExternalNotAllowed
	}
	if _, err := is.idVerifier(ctx); err != nil {
		r.log.WarnContext(ctx, "external issuer unavailable", "issuer", is.Config.Issuer, "err", err)
		return LoginIssuer{}, oauth2.Endpoint{}, engine.ErrExternalUnavailable
	}
	is.mu.Lock()
	ep := is.provider.Endpoint()
	is.mu.Unlock()
	if ep.AuthURL == "" || ep.TokenURL == "" {
		return LoginIssuer{}, oauth2.Endpoint{}, engine.ErrExternalUnavailable
	}
	ep.AuthStyle = oauth2.AuthStyleInHeader
	if li.ClientSecret == "" {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	return li, ep, nil
}

// VerifyIDToken verifies the ID token a login issuer's token endpoint
// returned: signature, issuer, expiry and the allowed-user rules as for
// every external token, and also that it was issued to the configured
// client (aud) for this sign-in (nonce, OpenID Connect Core 1.0
// §3.1.3.7).
func (r *Registry) VerifyIDToken(ctx context.Context, tenant, id, raw, nonce string) (engine.ExternalIdentity, error) {
	is := r.find(tenant, func(c config.OIDCIssuer) bool { return c.ID == id })
	if is == nil || is.Config.ClientID == "" || nonce == "" {
		return engine.ExternalIdentity{}, engine.ErrInvalidToken
	}
	ident, tok, err := is.verifyToken(ctx, raw)
	if err != nil {
		return engine.ExternalIdentity{}, err
	}
	if !slices.Contains(tok.Audience, is.Config.ClientID) || subtle.ConstantTimeCompare([]byte(tok.Nonce), []byte(nonce)) != 1 {
		r.log.InfoContext(ctx, "external ID token refused", "issuer", is.Config.Issuer, "reason", "audience or nonce")
		return engine.ExternalIdentity{}, engine.ErrInvalidToken
	}
	return ident, nil
}
