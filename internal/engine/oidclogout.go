package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/tokengate/tokengate/internal/store"
)

// ConsentView is a consent a user gave, with its client's name for the
// profile page.
type ConsentView struct {
	store.Consent
	ClientName string
}

// Consents lists what a user consented to, by client.
func (e *Engine) Consents(ctx context.Context, userID string) ([]ConsentView, error) {
	cs, err := e.st.ListConsents(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]ConsentView, 0, len(cs))
	for _, c := range cs {
		v := ConsentView{Consent: c, ClientName: c.ClientID}
		if cl, err := e.st.GetClient(ctx, c.ClientID); err == nil && cl.Name != "" {
			v.ClientName = cl.Name
		}
		out = append(out, v)
	}
	return out, nil
}

// revokedConsent is the revoke reason of the sessions of a consent the
// user withdrew.
const revokedConsent = "consent_revoked"

// RevokeConsent withdraws a user's consent to a client: the client asks
// again next time, and the sessions its codes started for the user (their
// refresh tokens included) end now, in the same transaction. A consent
// that does not exist is ErrUnknownClient.
func (e *Engine) RevokeConsent(ctx context.Context, userID, clientID string) (int, error) {
	n := 0
	err := e.txLive(ctx, func(q store.Queries, lc liveChange) error {
		n = 0
		c, err := q.GetConsent(ctx, userID, clientID)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w %q: you have not consented to it", ErrUnknownClient, clientID)
		} else if err != nil {
			return err
		}
		if err := q.DeleteConsent(ctx, userID, clientID); err != nil {
			return err
		}
		now := e.now()
		live, err := q.ListSessions(ctx, store.SessionFilter{UserID: userID, LiveAt: now})
		if err != nil {
			return err
		}
		for _, s := range live {
			if s.ClientID != clientID || s.Service != ServiceCode {
				continue
			}
			s.RevokedAt, s.RevokeReason = now, revokedConsent
			if err := q.UpdateSession(ctx, s); err != nil {
				return err
			}
			n++
		}
		lc.ended(c.TenantID, n)
		e.metrics.revoked.WithLabelValues(revokedConsent).Add(float64(n))
		return e.audit(ctx, q, store.AuditEvent{Type: "consent.revoke", TenantID: c.TenantID, UserID: userID, ClientID: clientID,
			Detail: map[string]string{"sessions_ended": fmt.Sprint(n)}})
	})
	return n, err
}

// LogoutRequest is an RP-initiated logout request (OpenID Connect
// RP-Initiated Logout 1.0 §2) as sent.
type LogoutRequest struct {
	IDTokenHint           string
	ClientID              string
	PostLogoutRedirectURI string
	State                 string
}

// Logout is a logout request the engine has checked.
type Logout struct {
	// Client is the relying party, when the hint or client_id names one.
	Client *store.Client
	// RedirectURI is the registered post-logout redirect URI to return
	// to, empty when none was asked; State goes with it.
	RedirectURI string
	State       string
	// Confirm says the user must confirm first: the request does not
	// prove that it comes from the relying party of the browser's
	// current sign-in (§2: no id_token_hint, or one of another sign-in).
	Confirm bool
}

// CheckLogout checks a logout request for the browser's user p (nil when
// no one is signed in). Every error is for a page, never for a redirect:
// a post_logout_redirect_uri that is not registered for the client is
// refused (ErrInvalidRedirectURI), so the endpoint can't be an open
// redirect. An expired id_token_hint is taken (§2: it may be).
func (e *Engine) CheckLogout(ctx context.Context, req LogoutRequest, p *BrowserPrincipal) (*Logout, error) {
	out := &Logout{State: req.State}
	if len(req.State) > maxStateLen {
		return nil, InvalidRequest("state is longer than %d characters", maxStateLen)
	}
	var hintSID, hintSub string
	clientID := req.ClientID
	if req.IDTokenHint != "" {
		c, err := e.ring.VerifyID(req.IDTokenHint)
		if err != nil || c.Issuer != e.opts.Issuer || len(c.Audience) != 1 {
			return nil, &Error{Kind: ErrInvalidRequest, Public: "invalid request: id_token_hint is not an ID token of this issuer", Debug: fmt.Sprint(err)}
		}
		if clientID != "" && clientID != c.Audience[0] {
			return nil, InvalidRequest("client_id is not the audience of id_token_hint")
		}
		clientID, hintSID, hintSub = c.Audience[0], c.SessionID, c.Subject
	}
	if clientID != "" {
		c, err := e.st.GetClient(ctx, clientID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, withDetail(ErrInvalidRedirectURI, "unknown client")
		} else if err != nil {
			return nil, err
		}
		out.Client = &c
	}
	if req.PostLogoutRedirectURI != "" {
		if out.Client == nil {
			return nil, InvalidRequest("post_logout_redirect_uri needs id_token_hint or client_id")
		}
		if !slices.Contains(out.Client.PostLogoutRedirectURIs, req.PostLogoutRedirectURI) {
			return nil, &Error{Kind: ErrInvalidRedirectURI, Public: "the post-logout redirect URI is not registered for this client"}
		}
		out.RedirectURI = req.PostLogoutRedirectURI
	}
	out.Confirm = p != nil && (hintSID == "" || hintSID != p.Session.ID || hintSub != p.User.ID)
	return out, nil
}

// SignOutBrowserSession ends the browser sign-in p (an RP-initiated
// logout, once CheckLogout allowed it or the user confirmed), with the
// sessions its codes started unless the node keeps them
// (Options.SignOutKeepsSessions).
func (e *Engine) SignOutBrowserSession(ctx context.Context, p BrowserPrincipal) error {
	return e.endBrowser(ctx, p.Session.ID, p.User.ID, "rp_logout")
}
