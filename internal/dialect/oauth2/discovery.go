package oauth2

import (
	"net/http"
	"strconv"
	"time"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
)

// discovery serves OpenID Connect Discovery 1.0 / RFC 8414 metadata.
func (h *Handler) discovery(w http.ResponseWriter, r *http.Request) {
	iss := h.eng.Issuer()
	algs := h.eng.Ring().Algorithms()
	grants := []string{GrantAuthorizationCode, GrantPassword, GrantRefreshToken, GrantClientCredentials}
	if h.external != nil {
		grants = append(grants, GrantTokenExchange)
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"issuer":                                         iss,
		"authorization_endpoint":                         iss + "/oauth2/authorize",
		"token_endpoint":                                 iss + "/oauth2/token",
		"userinfo_endpoint":                              iss + "/oauth2/userinfo",
		"end_session_endpoint":                           iss + "/oauth2/logout",
		"revocation_endpoint":                            iss + "/oauth2/revoke",
		"introspection_endpoint":                         iss + "/oauth2/introspect",
		"jwks_uri":                                       iss + "/.well-known/jwks.json",
		"grant_types_supported":                          grants,
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{engine.ResponseModeQuery, engine.ResponseModeFormPost},
		"code_challenge_methods_supported":               []string{"S256"},
		"scopes_supported":                               engine.DefaultScopes,
		"prompt_values_supported":                        []string{engine.PromptNone, engine.PromptLogin, engine.PromptConsent, engine.PromptSelectAccount},
		"authorization_response_iss_parameter_supported": true,
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          algs,
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post", "none"},
		"revocation_endpoint_auth_methods_supported":     []string{"client_secret_basic", "client_secret_post", "none"},
		"introspection_endpoint_auth_methods_supported":  []string{"client_secret_basic", "client_secret_post"},
		"claims_supported": []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "auth_time", "nonce", "at_hash", "azp", "sid",
			"exi", "usefor", "tenant", "client_id", "scope", "preferred_username", "name", "email", "email_verified", "updated_at"},
	})
}

// jwks serves the published public keys. Verifiers may cache them for the
// ring's JWKS max-age (keys.jwks_max_age): a rotated key is published
// longer than that before it signs (config validation makes sure).
func (h *Handler) jwks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(h.eng.Ring().JWKSMaxAge()/time.Second)))
	_, _ = w.Write(h.eng.Ring().JWKS())
}
