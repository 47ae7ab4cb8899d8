package oauth2

import (
	"net/http"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
)

// revoke implements RFC 7009: the client authenticates (a public client
// by its client_id), and the response is 200 whether or not the token was
// valid (§2.2).
func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	client, tok, err := h.clientAndToken(r, false)
	if err != nil {
		writeError(ctx, h.log, w, err)
		return
	}
	if err := h.eng.RevokeToken(ctx, tok, client.ID); err != nil {
		writeError(ctx, h.log, w, err)
		return
	}
	httpx.NoStore(w)
	w.WriteHeader(http.StatusOK)
}

// clientAndToken reads what revocation and introspection share: the form,
// the client's authentication (a secret, when confidential is set) and
// the token asked about.
func (h *Handler) clientAndToken(r *http.Request, confidential bool) (engine.AuthenticatedClient, string, error) {
	form, err := parseForm(r)
	if err != nil {
		return engine.AuthenticatedClient{}, "", err
	}
	ca, err := readClientAuth(r, form)
	if err != nil {
		return engine.AuthenticatedClient{}, "", err
	}
	if confidential && ca.secret == "" {
		return engine.AuthenticatedClient{}, "", &Error{Status: http.StatusUnauthorized, Code: "invalid_client",
			Description: "introspection requires a confidential client"}
	}
	client, err := h.authenticate(r.Context(), ca)
	if err != nil {
		return engine.AuthenticatedClient{}, "", err
	}
	tok := form.Get("token")
	if tok == "" {
		return engine.AuthenticatedClient{}, "", errInvalidRequest("token is required")
	}
	return client, tok, nil
}
