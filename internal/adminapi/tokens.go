package adminapi

import (
	"net/http"

	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/internal/store"
)

// createToken is the User Profile's "create API token": a stable refresh
// token for the caller, shown once in this response. The label comes from
// a form field or a JSON body ({"label": …}).
func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, c caller) error {
	label := ""
	if httpx.IsJSON(r) && r.ContentLength != 0 {
		var in struct {
			Label string `json:"label"`
		}
		if err := decode(r, &in); err != nil {
			return err
		}
		label = in.Label
	} else {
		form, err := httpx.ReadForm(r)
		if err != nil {
			return errBadBody
		}
		label = form.Get("label")
	}
	g, err := h.eng.CreateAPITokenAs(r.Context(), c.Principal, label)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{
		"id": g.Session.ID, "label": g.Session.Label, "refresh_token": g.RefreshToken,
		"expires_at": ts(g.Session.AbsoluteExpiresAt),
	})
	return nil
}

type tokenJSON struct {
	ID         string `json:"id"`
	Label      string `json:"label"`
	CreatedAt  any    `json:"createdAt"`
	LastUsedAt any    `json:"lastUsedAt"`
	ExpiresAt  any    `json:"expiresAt"`
}

func tokenOut(s store.Session) tokenJSON {
	return tokenJSON{ID: s.ID, Label: s.Label, CreatedAt: ts(s.CreatedAt), LastUsedAt: ts(s.LastUsedAt), ExpiresAt: ts(s.AbsoluteExpiresAt)}
}

func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request, c caller) error {
	ss, err := h.eng.APITokens(r.Context(), c.User.ID)
	if err != nil {
		return err
	}
	return writeList(w, ss, tokenOut)
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := h.eng.RevokeAPIToken(r.Context(), c.User.ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
