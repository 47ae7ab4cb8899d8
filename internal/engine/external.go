package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

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
	// local user (linked to it). Otherwise only an identity an
	// administrator linked (LinkExternalIdentity) signs on: the names an
	// identity claims are often the user's to choose at the issuer, so no
	// claim ever links it to an existing account.
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
	start := time.Now()
	g, err := e.signOnExternal(ctx, tenant, id, req)
	e.metrics.signons.WithLabelValues(serviceLabel(req.Service), result(err)).Inc()
	e.metrics.observe(opSignOnExternal, req.Service, start, err)
	return g, err
}

// externalTenant checks that a verified external identity names its
// issuer and subject, and finds the tenant it signs on to: an unknown
// tenant refuses the identity (ErrExternalNotAllowed), as a tenant that
// does not trust its issuer does.
func (e *Engine) externalTenant(ctx context.Context, tenant string, id ExternalIdentity) (store.Tenant, error) {
	if id.Issuer == "" || id.Subject == "" {
		return store.Tenant{}, ErrInvalidToken
	}
	t, err := e.Tenant(ctx, tenant)
	if errors.Is(err, ErrUnknownTenant) {
		return store.Tenant{}, ErrExternalNotAllowed
	}
	return t, err
}

func (e *Engine) signOnExternal(ctx context.Context, tenant string, id ExternalIdentity, req SignOnRequest) (*Grant, error) {
	t, err := e.externalTenant(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	req.Tenant = t.Name
	u, err := e.externalUser(ctx, t, id)
	if err != nil {
		if errors.Is(err, ErrExternalNotAllowed) {
			e.metrics.failedSignOn(req.Service, "external_not_allowed")
			e.audit(ctx, e.st, store.AuditEvent{Type: "signon.failed", TenantID: t.ID, ClientID: req.ClientID,
				Detail: map[string]string{"service": req.Service, "issuer": id.Issuer, "subject": id.Subject, "reason": "no_local_user"}})
		}
		return nil, err
	}
	req.method = store.AuthExternal
	return e.StartSession(ctx, t, u, req)
}

// externalUser returns the local user linked to id by (issuer, subject),
// creating and linking a new user on first use when the issuer allows it.
// Two concurrent first sign-ons may race; the loser of the race finds the
// winner's link.
func (e *Engine) externalUser(ctx context.Context, t store.Tenant, id ExternalIdentity) (store.User, error) {
	for range 2 {
		x, err := e.st.GetExternalIdentity(ctx, t.ID, id.Issuer, id.Subject)
		if err == nil {
			u, err := e.st.GetUser(ctx, x.UserID)
			return u, userByIDErr(err, x.UserID)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.User{}, err
		}
		if !id.CreateUser {
			return store.User{}, ErrExternalNotAllowed
		}
		u, err := e.createExternalUser(ctx, t, id)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return u, err
	}
	return store.User{}, fmt.Errorf("engine: external identity link kept conflicting")
}

// createExternalUser creates a user for id and links id to it. A local
// user of the preferred name is never taken over: the new user gets a
// name derived from the identity instead.
func (e *Engine) createExternalUser(ctx context.Context, t store.Tenant, id ExternalIdentity) (store.User, error) {
	now := e.now()
	var u store.User
	err := e.st.Tx(ctx, func(q store.Queries) error {
		name := externalUserName(id)
		if _, err := q.GetUserByName(ctx, t.ID, name); err == nil {
			name = name + "." + identityHash(id)[:8]
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		u = store.User{ID: e.newID(), TenantID: t.ID, Name: name, Email: id.Email, DisplayName: id.Name,
			RefreshEnabled: id.RefreshEnabled, CreatedAt: now, UpdatedAt: now}
		if err := q.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := q.CreateExternalIdentity(ctx, store.ExternalIdentity{TenantID: t.ID, Issuer: id.Issuer, Subject: id.Subject,
			UserID: u.ID, CreatedAt: now}); err != nil {
			return err
		}
		return e.audit(ctx, q, store.AuditEvent{Type: "user.link_external", TenantID: t.ID, UserID: u.ID,
			Detail: map[string]string{"issuer": id.Issuer, "subject": id.Subject, "created": "true"}})
	})
	return u, err
}

// LinkExternalIdentity links the identity (issuer, subject) of an external
// issuer to the local user of that name in a tenant ("" = the default
// one), so that the identity signs on as that user. It is how an
// administrator lets an existing account sign on through an issuer that
// does not create users; the caller names the issuer by its iss URL. An
// identity links to one user: ErrAlreadyExists when it is linked already.
func (e *Engine) LinkExternalIdentity(ctx context.Context, tenant, user, issuer, subject string) (store.ExternalIdentity, error) {
	// OIDC Core §2: a sub is at most 255 ASCII characters.
	if issuer == "" || subject == "" || len(issuer) > 2048 || len(subject) > 255 {
		return store.ExternalIdentity{}, invalidRequest("an issuer and a subject of at most 255 characters are required")
	}
	u, err := e.User(ctx, tenant, user)
	if err != nil {
		return store.ExternalIdentity{}, err
	}
	x := store.ExternalIdentity{TenantID: u.TenantID, Issuer: issuer, Subject: subject, UserID: u.ID, CreatedAt: e.now()}
	err = e.st.Tx(ctx, func(q store.Queries) error {
		if err := q.CreateExternalIdentity(ctx, x); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return withDetail(ErrAlreadyExists, "this identity of the issuer is linked to a user")
			}
			return userByIDErr(err, u.ID)
		}
		return e.audit(ctx, q, store.AuditEvent{Type: "user.link_external", TenantID: u.TenantID, UserID: u.ID,
			Detail: map[string]string{"issuer": issuer, "subject": subject, "created": "false"}})
	})
	return x, err
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
