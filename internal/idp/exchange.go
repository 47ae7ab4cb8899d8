package idp

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/tokengate/tokengate/internal/dialect/oauth2"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

// Token type identifiers of RFC 8693 §3.
const (
	TokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeIDToken     = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
)

// Exchanger returns the RFC 8693 token exchange of the OAuth 2.0 token
// endpoint, or nil when no external issuer is configured (the endpoint
// then answers unsupported_grant_type).
func (r *Registry) Exchanger() oauth2.TokenExchanger {
	if len(r.issuers) == 0 {
		return nil
	}
	return exchanger{r}
}

type exchanger struct{ r *Registry }

var _ oauth2.TokenExchanger = exchanger{}

// Exchange signs on the user of an external token for the client, in the
// client's tenant, under the oauth2 service (rotating refresh).
func (x exchanger) Exchange(ctx context.Context, client store.Client, form url.Values) (*engine.Grant, error) {
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
	t, err := x.r.eng.Store().GetTenant(ctx, client.TenantID)
	if err != nil {
		return nil, err
	}
	g, err := x.r.SignOn(ctx, t.Name, "", st, engine.SignOnRequest{Service: engine.ServiceOAuth2, ClientID: client.ID,
		Scope: strings.Join(strings.Fields(form.Get("scope")), " ")})
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
