package oauth2

import (
	"net/http"

	"github.com/tokengate/tokengate/internal/httpx"
)

// revoke implements RFC 7009: the client authenticates (a public client
// by its client_id), and the response is 200 whether or not the token was
// valid (§2.2).
func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form, err := parseForm(r)
	if err != nil {
		writeError(ctx, h.log, w, err)
		return
	}
	ca, err := readClientAuth(r, form)
	if err != nil {
		writeError(ctx, h.log, w, err)
		return
	}
	client, err := h.authenticate(ctx, ca)
	if err != nil {
		writeError(ctx, h.log, w, err)
		return
	}
	tok := form.Get("token")
	if tok == "" {
		writeError(ctx, h.log, w, errInvalidRequest("token is required"))
		return
	}
	if err := h.eng.RevokeToken(ctx, tok, client.ID); err != nil {
		writeError(ctx, h.log, w, err)
		return
	}
	httpx.NoStore(w)
	w.WriteHeader(http.StatusOK)
}
