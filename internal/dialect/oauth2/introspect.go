package oauth2

import (
	"net/http"

	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/internal/token"
)

// introspectResponse is RFC 7662 §2.2.
type introspectResponse struct {
	Active    bool           `json:"active"`
	Scope     string         `json:"scope,omitempty"`
	ClientID  string         `json:"client_id,omitempty"`
	Username  string         `json:"username,omitempty"`
	TokenType string         `json:"token_type,omitempty"`
	Exp       int64          `json:"exp,omitempty"`
	Iat       int64          `json:"iat,omitempty"`
	Nbf       int64          `json:"nbf,omitempty"`
	Sub       string         `json:"sub,omitempty"`
	Aud       token.Audience `json:"aud,omitempty"`
	Iss       string         `json:"iss,omitempty"`
	Jti       string         `json:"jti,omitempty"`
	Sid       string         `json:"sid,omitempty"`
	Tenant    string         `json:"tenant,omitempty"`
	Usefor    string         `json:"usefor,omitempty"`
}

// introspect implements RFC 7662. Only a confidential client may ask
// (§2.1: the endpoint must be protected), and an inactive token answers
// just {"active":false} (§2.2).
func (h *Handler) introspect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	caller, tok, err := h.clientAndToken(r, true)
	if err != nil {
		writeError(ctx, h.log, w, err)
		return
	}
	in, err := h.eng.Introspect(ctx, caller, tok)
	if err != nil {
		writeError(ctx, h.log, w, err)
		return
	}
	httpx.NoStore(w)
	if !in.Active {
		httpx.WriteJSON(w, http.StatusOK, introspectResponse{})
		return
	}
	c := in.Claims
	resp := introspectResponse{Active: true, Scope: c.Scope, ClientID: c.ClientID, Username: in.Username,
		Exp: c.Expiry, Iat: c.IssuedAt, Nbf: c.NotBefore, Sub: c.Subject, Aud: c.Audience, Iss: c.Issuer,
		Jti: c.ID, Sid: c.SessionID, Tenant: c.Tenant, Usefor: c.UseFor, TokenType: "Bearer"}
	if c.UseFor == token.UseRefresh {
		resp.TokenType = "refresh_token"
	}
	httpx.WriteJSON(w, http.StatusOK, resp)
}
