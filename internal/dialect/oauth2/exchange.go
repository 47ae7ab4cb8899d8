package oauth2

import (
	"context"
	"errors"
	"net/url"

	"github.com/tokengate/tokengate/internal/engine"
)

// Token type identifiers of RFC 8693 §3.
const (
	TokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeIDToken     = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
)

// ExternalVerifier verifies a token of an external OpenID Connect / Auth0
// issuer that a tenant trusts: the subject_token of RFC 8693 token
// exchange. With service "" the issuer is the one the token's iss names.
// Package idp provides it.
type ExternalVerifier interface {
	Verify(ctx context.Context, tenant, service, raw string) (engine.ExternalIdentity, error)
}

// exchange serves the RFC 8693 token exchange grant: it reads the request
// (§2.1), verifies the subject token with an issuer of the client's tenant
// and lets the engine sign its user on.
func (h *Handler) exchange(ctx context.Context, client engine.AuthenticatedClient, form url.Values, scope string) (*engine.Grant, error) {
	st, tt := form.Get("subject_token"), form.Get("subject_token_type")
	if st == "" || tt == "" {
		return nil, engine.InvalidRequest("subject_token and subject_token_type are required")
	}
	if tt != TokenTypeJWT && tt != TokenTypeIDToken {
		return nil, engine.InvalidRequest("subject_token_type must be %s or %s", TokenTypeJWT, TokenTypeIDToken)
	}
	if rt := form.Get("requested_token_type"); rt != "" && rt != TokenTypeAccessToken {
		return nil, engine.InvalidRequest("requested_token_type must be %s", TokenTypeAccessToken)
	}
	if form.Get("actor_token") != "" {
		return nil, engine.InvalidRequest("delegation (actor_token) is not supported")
	}
	id, err := h.external.Verify(ctx, client.Tenant, "", st)
	var g *engine.Grant
	if err == nil {
		g, err = h.eng.ExchangeToken(ctx, client, id, scope)
	}
	if err != nil && isSubjectTokenError(err) {
		// RFC 8693 §2.2.2: an invalid or unacceptable subject_token is
		// invalid_request.
		return nil, engine.InvalidRequest("subject_token: %s", engine.PublicText(err))
	}
	return g, err
}

func isSubjectTokenError(err error) bool {
	return errors.Is(err, engine.ErrInvalidToken) || errors.Is(err, engine.ErrTokenExpired) || errors.Is(err, engine.ErrExternalNotAllowed)
}
