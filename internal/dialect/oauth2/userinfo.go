package oauth2

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
)

// userinfo serves the UserInfo endpoint (OpenID Connect Core §5.3): the
// access token as a bearer token (RFC 6750 §2.1), or for POST in the form
// body (§2.2), never both.
func (h *Handler) userinfo(w http.ResponseWriter, r *http.Request) {
	tok, hasBearer := httpx.BearerToken(r)
	if r.Method == http.MethodPost && httpx.IsForm(r) {
		form, err := parseForm(r)
		if err != nil {
			h.writeBearerError(w, r, err)
			return
		}
		if ft := form.Get("access_token"); ft != "" {
			if hasBearer {
				h.writeBearerError(w, r, errInvalidRequest("send the access token one way, not two"))
				return
			}
			tok, hasBearer = ft, true
		}
	}
	if !hasBearer || tok == "" {
		// RFC 6750 §3.1: a request without a token gets the challenge
		// and no error code.
		w.Header().Set("WWW-Authenticate", `Bearer realm="tokengate"`)
		httpx.NoStore(w)
		httpx.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "an access token is required"})
		return
	}
	claims, err := h.eng.UserInfo(r.Context(), tok)
	if err != nil {
		h.writeBearerError(w, r, err)
		return
	}
	httpx.NoStore(w)
	httpx.WriteJSON(w, http.StatusOK, claims)
}

// bearerError maps a refused access token to RFC 6750 §3.1 invalid_token
// (401), and anything else as the token endpoint does.
func bearerError(err error) *Error {
	var oe *Error
	if errors.As(err, &oe) {
		return oe
	}
	switch {
	case errors.Is(err, engine.ErrInvalidToken), errors.Is(err, engine.ErrTokenExpired), errors.Is(err, engine.ErrTokenRevoked),
		errors.Is(err, engine.ErrWrongTokenUse), errors.Is(err, engine.ErrUserDisabled), errors.Is(err, engine.ErrTenantDisabled):
		return &Error{Status: http.StatusUnauthorized, Code: "invalid_token", Description: engine.PublicText(err)}
	}
	return toError(err)
}

// writeBearerError writes a UserInfo error: the RFC 6750 §3 challenge,
// with the same error in a JSON body.
func (h *Handler) writeBearerError(w http.ResponseWriter, r *http.Request, err error) {
	be := bearerError(err)
	if be.Status == http.StatusUnauthorized || be.Status == http.StatusBadRequest {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tokengate", error="`+be.Code+`", error_description=`+strconv.Quote(be.Description))
		httpx.NoStore(w)
		httpx.WriteJSON(w, be.Status, map[string]string{"error": be.Code, "error_description": be.Description})
		return
	}
	writeError(r.Context(), h.log, w, be)
}
