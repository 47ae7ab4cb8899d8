package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/tokengate/tokengate/internal/store"
)

// The read-only views of this file are what the surfaces above the engine
// (the admin API, the proxy's built-ins, the CLI) may see of the store:
// records, never queries. Every view names tenants and users as the wire
// does, and answers a missing record with the engine's own sentinel.

// UserByID returns the user with that id (ErrUnknownUser when none).
func (e *Engine) UserByID(ctx context.Context, id string) (store.User, error) {
	u, err := e.st.GetUser(ctx, id)
	return u, userByIDErr(err, id)
}

// Users lists a tenant's users by name ("" = the default tenant).
func (e *Engine) Users(ctx context.Context, tenant string) ([]store.User, error) {
	t, err := e.Tenant(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return e.st.ListUsers(ctx, t.ID)
}

// Tenants lists every tenant by name.
func (e *Engine) Tenants(ctx context.Context) ([]store.Tenant, error) {
	return e.st.ListTenants(ctx)
}

// Client returns the OAuth 2.0 client with that client_id (ErrUnknownClient
// when none). It authenticates nothing: see AuthenticateClient.
func (e *Engine) Client(ctx context.Context, id string) (store.Client, error) {
	c, err := e.st.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return c, fmt.Errorf("%w %q", ErrUnknownClient, id)
	}
	return c, err
}

// Clients lists a tenant's clients ("" = the default tenant).
func (e *Engine) Clients(ctx context.Context, tenant string) ([]store.Client, error) {
	t, err := e.Tenant(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return e.st.ListClients(ctx, t.ID)
}

// SessionQuery selects the sessions of a tenant for Sessions.
type SessionQuery struct {
	Tenant string // tenant name; "" = the default tenant
	User   string // user name; "" = every user of the tenant
	// IncludeDead lists revoked and expired sessions too; otherwise only
	// sessions live now are listed.
	IncludeDead bool
}

// Sessions lists sessions, oldest first.
func (e *Engine) Sessions(ctx context.Context, q SessionQuery) ([]store.Session, error) {
	t, err := e.Tenant(ctx, q.Tenant)
	if err != nil {
		return nil, err
	}
	f := store.SessionFilter{TenantID: t.ID}
	if !q.IncludeDead {
		f.LiveAt = e.now()
	}
	if q.User != "" {
		u, err := e.User(ctx, t.Name, q.User)
		if err != nil {
			return nil, err
		}
		f.UserID = u.ID
	}
	return e.st.ListSessions(ctx, f)
}

// Principal is who acts through a live session: the session, its user and
// its tenant.
type Principal struct {
	Session store.Session
	User    store.User
	Tenant  store.Tenant
}

// Principal returns the principal of the session with that id when the
// session is live and its user enabled: ErrTokenRevoked, ErrTokenExpired
// or ErrInvalidToken as SessionLive otherwise, or ErrUserDisabled. It is
// how a surface that authenticates with access tokens (the admin and
// profile API) learns who is calling.
func (e *Engine) Principal(ctx context.Context, sid string) (Principal, error) {
	s, err := e.SessionLive(ctx, sid)
	if err != nil {
		return Principal{}, err
	}
	u, err := e.st.GetUser(ctx, s.UserID)
	if err != nil {
		return Principal{}, userByIDErr(err, s.UserID)
	}
	if u.Disabled {
		return Principal{}, ErrUserDisabled
	}
	t, err := e.st.GetTenant(ctx, s.TenantID)
	if err != nil {
		return Principal{}, err
	}
	return Principal{Session: s, User: u, Tenant: t}, nil
}

// userByIDErr translates the store's ErrNotFound for a user read by id into
// ErrUnknownUser; other errors pass unchanged.
func userByIDErr(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w %q", ErrUnknownUser, id)
	}
	return err
}
