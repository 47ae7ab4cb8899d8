package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/tokengate/tokengate/internal/store"
)

// ExternalIdentity is a user authenticated by an external OIDC/Auth0
// issuer whose token the caller has already verified.
type ExternalIdentity struct {
	Issuer   string
	Subject  string
	Email    string
	Username string // preferred local user name (preferred_username, nickname, email)
	Name     string // display name
	// CreateUser lets the first sign-on of an unknown identity create a
	// local user; otherwise it links to an existing user named Username.
	CreateUser bool
	// RefreshEnabled is the refresh-enabled flag of a user created here.
	RefreshEnabled bool
}

// ErrExternalNotAllowed: an external identity that may not sign on here
// (not in the issuer's allowed users, or without a local account). It
// matches ErrInvalidCredentials too, so surfaces that only know that
// sentinel refuse it the same way.
var ErrExternalNotAllowed error = &Error{Kind: ErrInvalidCredentials, Public: "this identity is not allowed to sign on"}

// ErrExternalUnavailable: the external issuer could not be reached
// (discovery or keys). It matches ErrBusy.
var ErrExternalUnavailable error = &Error{Kind: ErrBusy, Public: "identity provider unavailable, try again"}

// SignOnExternal maps an external identity to its local user, creating or
// linking the user on first sign-on when the issuer allows it, and starts
// a session for it like any other sign-on.
func (e *Engine) SignOnExternal(ctx context.Context, tenant string, id ExternalIdentity, req SignOnRequest) (*Grant, error) {
	g, err := e.signOnExternal(ctx, tenant, id, req)
	e.metrics.signons.WithLabelValues(serviceLabel(req.Service), result(err)).Inc()
	return g, err
}

func (e *Engine) signOnExternal(ctx context.Context, tenant string, id ExternalIdentity, req SignOnRequest) (*Grant, error) {
	if id.Issuer == "" || id.Subject == "" {
		return nil, ErrInvalidToken
	}
	t, err := e.Tenant(ctx, tenant)
	if errors.Is(err, ErrUnknownTenant) {
		return nil, ErrExternalNotAllowed
	} else if err != nil {
		return nil, err
	}
	req.Tenant = t.Name
	u, err := e.externalUser(ctx, t, id)
	if err != nil {
		if errors.Is(err, ErrExternalNotAllowed) {
			e.audit(ctx, e.st, store.AuditEvent{Type: "signon.failed", TenantID: t.ID, ClientID: req.ClientID,
				Detail: map[string]string{"service": req.Service, "issuer": id.Issuer, "subject": id.Subject, "reason": "no_local_user"}})
		}
		return nil, err
	}
	return e.StartSession(ctx, t, u, req)
}

// externalUser returns the local user linked to id, linking or creating
// it on first use. Two concurrent first sign-ons may race; the loser of
// the race finds the winner's link.
func (e *Engine) externalUser(ctx context.Context, t store.Tenant, id ExternalIdentity) (store.User, error) {
	for range 2 {
		x, err := e.st.GetExternalIdentity(ctx, t.ID, id.Issuer, id.Subject)
		if err == nil {
			return e.st.GetUser(ctx, x.UserID)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.User{}, err
		}
		u, err := e.linkExternal(ctx, t, id)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return u, err
	}
	return store.User{}, fmt.Errorf("engine: external identity link kept conflicting")
}

func (e *Engine) linkExternal(ctx context.Context, t store.Tenant, id ExternalIdentity) (store.User, error) {
	now := e.now()
	var u store.User
	err := e.st.Tx(ctx, func(q store.Queries) error {
		created := false
		name := externalUserName(id)
		existing, err := q.GetUserByName(ctx, t.ID, name)
		switch {
		case err == nil && !id.CreateUser:
			u = existing
		case err == nil:
			// A local user of that name exists and was not linked: never
			// take it over; the new user gets a name derived from the
			// identity instead.
			name = name + "." + identityHash(id)[:8]
			fallthrough
		case errors.Is(err, store.ErrNotFound) && id.CreateUser:
			u = store.User{ID: e.newID(), TenantID: t.ID, Name: name, Email: id.Email, DisplayName: id.Name,
				RefreshEnabled: id.RefreshEnabled, CreatedAt: now, UpdatedAt: now}
			if err := q.CreateUser(ctx, u); err != nil {
				return err
			}
			created = true
		case errors.Is(err, store.ErrNotFound):
			return ErrExternalNotAllowed
		default:
			return err
		}
		if err := q.CreateExternalIdentity(ctx, store.ExternalIdentity{TenantID: t.ID, Issuer: id.Issuer, Subject: id.Subject,
			UserID: u.ID, CreatedAt: now}); err != nil {
			return err
		}
		return e.audit(ctx, q, store.AuditEvent{Type: "user.link_external", TenantID: t.ID, UserID: u.ID,
			Detail: map[string]string{"issuer": id.Issuer, "subject": id.Subject, "created": fmt.Sprint(created)}})
	})
	return u, err
}

// externalUserName is the local user name for an external identity: its
// preferred name when that is a valid user name, else one derived from
// the issuer and subject.
func externalUserName(id ExternalIdentity) string {
	for _, n := range []string{id.Username, id.Email} {
		n = strings.TrimSpace(n)
		if n != "" && checkName("user", n) == nil {
			return n
		}
	}
	return "ext-" + identityHash(id)[:16]
}

func identityHash(id ExternalIdentity) string {
	sum := sha256.Sum256([]byte(id.Issuer + "\x00" + id.Subject))
	return hex.EncodeToString(sum[:])
}

// ExchangeToken is the rule of RFC 8693 token exchange at the token
// endpoint: the user of an external identity (whose token the caller has
// verified) signs on for the client, in the client's tenant, under the
// oauth2 service, so that the session refreshes by rotation like any
// OAuth 2.0 session.
func (e *Engine) ExchangeToken(ctx context.Context, c AuthenticatedClient, id ExternalIdentity, scope string) (*Grant, error) {
	return e.SignOnExternal(ctx, c.Tenant, id, SignOnRequest{Service: ServiceOAuth2, ClientID: c.ID, Scope: scope})
}
