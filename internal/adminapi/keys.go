package adminapi

import (
	"net/http"

	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/internal/token"
)

// Signing keys belong to the node, not to a tenant: only administrators
// of the default tenant manage them (operator).

type keyJSON struct {
	Kid        string `json:"kid"`
	Alg        string `json:"alg"`
	State      string `json:"state"`
	CreatedAt  any    `json:"createdAt"`
	ActiveFrom any    `json:"activeFrom"`
	RetiredAt  any    `json:"retiredAt"`
	ExpiresAt  any    `json:"expiresAt"`
	RevokedAt  any    `json:"revokedAt"`
}

func keyOut(k token.KeyInfo) keyJSON {
	return keyJSON{Kid: k.ID, Alg: k.Alg, State: k.State, CreatedAt: ts(k.CreatedAt), ActiveFrom: ts(k.ActiveFrom),
		RetiredAt: ts(k.RetiredAt), ExpiresAt: ts(k.ExpiresAt), RevokedAt: ts(k.RevokedAt)}
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request, c caller) error {
	return writeList(w, h.eng.Ring().Keys(), keyOut)
}

// revokeKey revokes a compromised signing key: see engine.RevokeKey.
func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request, c caller) error {
	rv, err := h.eng.RevokeKey(r.Context(), c.User.ID, r.PathValue("kid"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"kid": rv.Revoked.ID, "state": token.StateRevoked, "revokedAt": ts(rv.Revoked.RevokedAt),
		"signer": rv.Signer.ID, "signerCreated": rv.Created,
	})
	return nil
}
