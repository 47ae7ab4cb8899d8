// Package oauth2 is tokengate's OAuth 2.0 surface: the token endpoint
// (RFC 6749), revocation (RFC 7009), introspection (RFC 7662), and OIDC
// discovery with JWKS. It parses requests, calls the engine and writes RFC
// responses; every rule about tokens and sessions lives in the engine.
package oauth2

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
)

// Grant type identifiers (RFC 6749 §4, RFC 8693).
const (
	GrantPassword          = "password"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"
	GrantAuthorizationCode = engine.GrantAuthorizationCode
)

// Handler serves the OAuth 2.0 endpoints.
type Handler struct {
	eng      *engine.Engine
	log      *slog.Logger
	external ExternalVerifier // nil: no token exchange
}

// New returns the OAuth 2.0 handler. external may be nil when no external
// issuer is configured; the token exchange grant is then unsupported.
func New(eng *engine.Engine, log *slog.Logger, external ExternalVerifier) *Handler {
	return &Handler{eng: eng, log: log, external: external}
}

// Register mounts the endpoints on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	token, revoke, userinfo := h.cors("POST", h.token), h.cors("POST", h.revoke), h.cors("GET, POST", h.userinfo)
	mux.HandleFunc("POST /oauth2/token", token)
	mux.HandleFunc("OPTIONS /oauth2/token", token)
	mux.HandleFunc("POST /oauth2/revoke", revoke)
	mux.HandleFunc("OPTIONS /oauth2/revoke", revoke)
	mux.HandleFunc("POST /oauth2/introspect", h.introspect)
	mux.HandleFunc("GET /.well-known/openid-configuration", public(h.discovery))
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", public(h.discovery))
	mux.HandleFunc("GET /.well-known/jwks.json", public(h.jwks))
	mux.HandleFunc("GET /oauth2/userinfo", userinfo)
	mux.HandleFunc("POST /oauth2/userinfo", userinfo)
	mux.HandleFunc("OPTIONS /oauth2/userinfo", userinfo)
	mux.HandleFunc("/oauth2/userinfo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, POST")
		writeError(r.Context(), h.log, w, &Error{Status: http.StatusMethodNotAllowed, Code: "invalid_request", Description: "use GET or POST"})
	})
	for _, p := range []string{"/oauth2/token", "/oauth2/revoke", "/oauth2/introspect"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", http.MethodPost)
			writeError(r.Context(), h.log, w, &Error{Status: http.StatusMethodNotAllowed, Code: "invalid_request", Description: "use POST"})
		})
	}
}

// knownParams are the parameters of these endpoints (RFC 6749, 7009,
// 7662, 8693): an error may name one of them, never another name a client
// sent.
var knownParams = map[string]bool{
	"grant_type": true, "client_id": true, "client_secret": true, "username": true, "password": true,
	"refresh_token": true, "scope": true, "token": true, "token_type_hint": true, "subject_token": true,
	"subject_token_type": true, "requested_token_type": true, "actor_token": true, "actor_token_type": true,
	"audience": true, "resource": true, "code": true, "redirect_uri": true, "code_verifier": true,
}

// parseForm reads an application/x-www-form-urlencoded body (§3.2) and
// refuses repeated parameters (§3.1).
func parseForm(r *http.Request) (url.Values, error) {
	if !httpx.IsForm(r) {
		return nil, errInvalidRequest("the request body must be application/x-www-form-urlencoded")
	}
	form, err := httpx.ReadForm(r)
	if err != nil {
		return nil, errInvalidRequest("the request body could not be parsed")
	}
	for k, v := range form {
		if len(v) > 1 {
			if !knownParams[k] {
				return nil, errInvalidRequest("a parameter is repeated") // never echo a client's name
			}
			return nil, errInvalidRequest("parameter " + k + " is repeated")
		}
	}
	return form, nil
}

// clientAuth extracts client credentials from HTTP Basic (§2.3.1, values
// form-urlencoded) or the body; using both is an error.
type clientAuth struct {
	id, secret string
}

func readClientAuth(r *http.Request, form url.Values) (clientAuth, error) {
	id, secret, basic := r.BasicAuth()
	if basic {
		if form.Get("client_secret") != "" {
			return clientAuth{}, errInvalidRequest("use one client authentication method, not both")
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return clientAuth{}, &Error{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "malformed Basic credentials"}
		}
		if fid := form.Get("client_id"); fid != "" && fid != id {
			return clientAuth{}, errInvalidRequest("client_id does not match the authenticated client")
		}
		return clientAuth{id: id, secret: secret}, nil
	}
	return clientAuth{id: form.Get("client_id"), secret: form.Get("client_secret")}, nil
}

func (h *Handler) authenticate(ctx context.Context, ca clientAuth) (engine.AuthenticatedClient, error) {
	if ca.id == "" {
		return engine.AuthenticatedClient{}, &Error{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "client_id is required"}
	}
	c, err := h.eng.AuthenticateClient(ctx, ca.id, ca.secret)
	if err != nil {
		if errors.Is(err, engine.ErrInvalidClient) {
			return c, &Error{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "client authentication failed"}
		}
		return c, err
	}
	return c, nil
}

func (h *Handler) token(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	g, err := h.grant(r)
	if err != nil {
		writeError(ctx, h.log, w, err)
		return
	}
	httpx.NoStore(w)
	resp := tokenResponse{AccessToken: g.AccessToken, TokenType: "Bearer", ExpiresIn: g.AccessExpiresIn(),
		RefreshToken: g.RefreshToken, Scope: g.Scope, IDToken: g.IDToken}
	if g.RefreshToken != "" {
		resp.RefreshExpiresIn = g.RefreshExpiresIn()
	}
	if r.PostForm.Get("grant_type") == GrantTokenExchange {
		resp.IssuedTokenType = TokenTypeAccessToken // RFC 8693 §2.2.1
	}
	httpx.WriteJSON(w, http.StatusOK, resp)
}

type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshToken     string `json:"refresh_token,omitempty"`
	RefreshExpiresIn int64  `json:"refresh_expires_in,omitempty"`
	Scope            string `json:"scope,omitempty"`
	IssuedTokenType  string `json:"issued_token_type,omitempty"`
	IDToken          string `json:"id_token,omitempty"`
}

func (h *Handler) grant(r *http.Request) (*engine.Grant, error) {
	ctx := r.Context()
	form, err := parseForm(r)
	if err != nil {
		return nil, err
	}
	ca, err := readClientAuth(r, form)
	if err != nil {
		return nil, err
	}
	gt := form.Get("grant_type")
	if gt == "" {
		return nil, errInvalidRequest("grant_type is required")
	}
	switch gt {
	case GrantPassword, GrantRefreshToken, GrantClientCredentials, GrantAuthorizationCode:
	case GrantTokenExchange:
		if h.external == nil {
			return nil, &Error{Status: http.StatusBadRequest, Code: "unsupported_grant_type", Description: "no external identity provider is configured"}
		}
	default:
		return nil, &Error{Status: http.StatusBadRequest, Code: "unsupported_grant_type", Description: "this grant_type is not supported (see grant_types_supported in the discovery document)"}
	}
	client, err := h.authenticate(ctx, ca)
	if err != nil {
		return nil, err
	}
	if err := engine.ClientMayUse(client.Client, gt); err != nil {
		return nil, err
	}
	scope := strings.Join(strings.Fields(form.Get("scope")), " ")
	switch gt {
	case GrantPassword:
		user, pass := form.Get("username"), form.Get("password")
		if user == "" || pass == "" {
			return nil, errInvalidRequest("username and password are required")
		}
		return h.eng.SignOnPassword(ctx, engine.SignOnRequest{Tenant: client.Tenant, Service: engine.ServiceOAuth2, ClientID: client.ID,
			Username: user, Password: pass, Scope: scope})
	case GrantRefreshToken:
		rt := form.Get("refresh_token")
		if rt == "" {
			return nil, errInvalidRequest("refresh_token is required")
		}
		return h.eng.Refresh(ctx, engine.RefreshRequest{Token: rt, ClientID: client.ID})
	case GrantClientCredentials:
		return h.eng.ClientCredentials(ctx, client.Client, scope)
	case GrantAuthorizationCode:
		// RFC 6749 §4.1.3; the verifier of RFC 7636 §4.5.
		return h.eng.ExchangeCode(ctx, engine.CodeExchange{Client: client, Code: form.Get("code"),
			RedirectURI: form.Get("redirect_uri"), Verifier: form.Get("code_verifier")})
	default: // token exchange
		return h.exchange(ctx, client, form, scope)
	}
}
