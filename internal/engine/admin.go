package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tokengate/tokengate/internal/store"
)

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$`)

func checkName(kind, name string) error {
	if !namePattern.MatchString(name) {
		return invalidRequest("%s name: use 1-128 letters, digits and . _ @ + -, starting with a letter or digit", kind)
	}
	return nil
}

// checkNewPassword applies the rules of a new password (existing ones
// keep working whatever they are): at least MinPasswordLength characters.
func (e *Engine) checkNewPassword(pw string) error {
	if n := utf8.RuneCountInString(pw); n < e.opts.MinPasswordLength {
		return invalidRequest("password: use at least %d characters", e.opts.MinPasswordLength)
	}
	return nil
}

// NewTenant describes a tenant to create.
type NewTenant struct {
	Name               string
	DisplayName        string
	MaxSessions        int
	SessionLimitPolicy store.LimitPolicy
}

// SessionLimit is a per-user limit of live sessions and what happens at it.
type SessionLimit struct {
	Max    int // 0: no limit
	Policy store.LimitPolicy
}

// DefaultSessionLimit is the session limit CreateTenant gives a tenant
// created without one, its policy filled in.
func (e *Engine) DefaultSessionLimit() SessionLimit {
	d := e.opts.DefaultSessionLimit
	if d.Policy == "" {
		d.Policy = store.LimitReject
	}
	return d
}

// CreateTenant creates a tenant. One given no session limit (neither a
// maximum nor a policy) gets Options.DefaultSessionLimit; one given a
// maximum alone, its policy.
func (e *Engine) CreateTenant(ctx context.Context, nt NewTenant) (store.Tenant, error) {
	if err := checkName("tenant", nt.Name); err != nil {
		return store.Tenant{}, err
	}
	if nt.MaxSessions == 0 && nt.SessionLimitPolicy == "" {
		nt.MaxSessions = e.opts.DefaultSessionLimit.Max
	}
	if nt.SessionLimitPolicy == "" {
		nt.SessionLimitPolicy = e.opts.DefaultSessionLimit.Policy
	}
	if nt.SessionLimitPolicy == "" {
		nt.SessionLimitPolicy = store.LimitReject
	}
	if err := checkSessionLimit(nt.MaxSessions, nt.SessionLimitPolicy); err != nil {
		return store.Tenant{}, err
	}
	t := store.Tenant{ID: e.newID(), Name: nt.Name, DisplayName: nt.DisplayName, MaxSessions: nt.MaxSessions,
		SessionLimitPolicy: nt.SessionLimitPolicy, CreatedAt: e.now()}
	err := e.st.Tx(ctx, func(q store.Queries) error {
		if err := q.CreateTenant(ctx, t); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("a tenant named %q %w", t.Name, ErrAlreadyExists)
			}
			return err
		}
		return e.audit(ctx, q, store.AuditEvent{Type: "tenant.create", TenantID: t.ID, Detail: map[string]string{"name": t.Name}})
	})
	return t, err
}

// LimitPolicies are the valid session limit policies.
var LimitPolicies = []store.LimitPolicy{store.LimitReject, store.LimitEndOldest}

// ParseLimitPolicy returns the session limit policy named s.
func ParseLimitPolicy(s string) (store.LimitPolicy, error) {
	for _, p := range LimitPolicies {
		if string(p) == s {
			return p, nil
		}
	}
	return "", invalidRequest("session limit policy %q: want reject or end_oldest", s)
}

func checkSessionLimit(max int, policy store.LimitPolicy) error {
	if max < 0 {
		return invalidRequest("session limit: max sessions must be 0 (no limit) or more, not %d", max)
	}
	_, err := ParseLimitPolicy(string(policy))
	return err
}

// SetSessionLimit changes a tenant's per-user session limit.
func (e *Engine) SetSessionLimit(ctx context.Context, tenant string, max int, policy store.LimitPolicy) (store.Tenant, error) {
	return e.UpdateSessionLimit(ctx, tenant, SessionLimitUpdate{MaxSessions: &max, Policy: &policy})
}

// SessionLimitUpdate changes a tenant's session limit; nil fields stay as
// they are.
type SessionLimitUpdate struct {
	MaxSessions *int
	Policy      *store.LimitPolicy
}

// UpdateSessionLimit changes what up sets of a tenant's per-user session
// limit and leaves the rest as it is.
func (e *Engine) UpdateSessionLimit(ctx context.Context, tenant string, up SessionLimitUpdate) (store.Tenant, error) {
	if up.MaxSessions == nil && up.Policy == nil {
		return store.Tenant{}, invalidRequest("session limit: nothing to change")
	}
	t, err := e.Tenant(ctx, tenant)
	if err != nil {
		return t, err
	}
	if up.MaxSessions != nil {
		t.MaxSessions = *up.MaxSessions
	}
	if up.Policy != nil {
		t.SessionLimitPolicy = *up.Policy
	}
	if err := checkSessionLimit(t.MaxSessions, t.SessionLimitPolicy); err != nil {
		return store.Tenant{}, err
	}
	err = e.st.Tx(ctx, func(q store.Queries) error {
		if err := q.UpdateTenant(ctx, t); err != nil {
			return err
		}
		return e.audit(ctx, q, store.AuditEvent{Type: "tenant.update", TenantID: t.ID,
			Detail: map[string]string{"max_sessions": fmt.Sprint(t.MaxSessions), "policy": string(t.SessionLimitPolicy)}})
	})
	return t, err
}

// NewUser describes a user to create.
type NewUser struct {
	Tenant         string // name; "" means the default tenant
	Name           string
	Email          string
	DisplayName    string
	Password       string // "" for a user who signs on only through an external IdP
	RefreshEnabled bool
	Admin          bool
}

// CreateUser creates a user with an argon2id password hash.
func (e *Engine) CreateUser(ctx context.Context, nu NewUser) (store.User, error) {
	if err := checkName("user", nu.Name); err != nil {
		return store.User{}, err
	}
	t, err := e.Tenant(ctx, nu.Tenant)
	if err != nil {
		return store.User{}, err
	}
	now := e.now()
	u := store.User{ID: e.newID(), TenantID: t.ID, Name: nu.Name, Email: nu.Email, DisplayName: nu.DisplayName,
		RefreshEnabled: nu.RefreshEnabled, Admin: nu.Admin, CreatedAt: now, UpdatedAt: now}
	if nu.Password != "" {
		if err := e.checkNewPassword(nu.Password); err != nil {
			return store.User{}, err
		}
		if u.PasswordHash, err = e.hash.Hash(ctx, nu.Password); err != nil {
			return store.User{}, err
		}
	}
	err = e.st.Tx(ctx, func(q store.Queries) error {
		if err := q.CreateUser(ctx, u); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("a user named %q %w in tenant %q", u.Name, ErrAlreadyExists, t.Name)
			}
			return err
		}
		return e.audit(ctx, q, store.AuditEvent{Type: "user.create", TenantID: t.ID, UserID: u.ID,
			Detail: map[string]string{"name": u.Name, "refresh_enabled": fmt.Sprint(u.RefreshEnabled)}})
	})
	return u, err
}

// User returns the user of that name in a tenant ("" = default tenant).
func (e *Engine) User(ctx context.Context, tenant, name string) (store.User, error) {
	t, err := e.Tenant(ctx, tenant)
	if err != nil {
		return store.User{}, err
	}
	u, err := e.st.GetUserByName(ctx, t.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return u, fmt.Errorf("%w %q in tenant %q", ErrUnknownUser, name, t.Name)
	}
	return u, err
}

// UserUpdate changes a user; nil fields stay as they are.
type UserUpdate struct {
	RefreshEnabled *bool
	Disabled       *bool
	Admin          *bool
	Password       *string
	RequestRefresh *bool // the user asks for (true) or withdraws (false) a refresh grant
	Email          *string
	DisplayName    *string
}

// UpdateUser applies an update. Changing the password, disabling the user,
// or withdrawing refresh ends every session of the user in the same
// transaction; changing the password or disabling the user ends their
// browser sessions too.
func (e *Engine) UpdateUser(ctx context.Context, userID string, up UserUpdate) (store.User, error) {
	var hash string
	if up.Password != nil {
		if *up.Password == "" {
			return store.User{}, invalidRequest("password must not be empty")
		}
		if err := e.checkNewPassword(*up.Password); err != nil {
			return store.User{}, err
		}
		var err error
		if hash, err = e.hash.Hash(ctx, *up.Password); err != nil {
			return store.User{}, err
		}
	}
	var u store.User
	err := e.txLive(ctx, func(q store.Queries, lc liveChange) error {
		var err error
		if u, err = q.GetUser(ctx, userID); err != nil {
			return userByIDErr(err, userID)
		}
		var endSessions string
		changed := map[string]string{}
		now := e.now()
		if up.RefreshEnabled != nil && *up.RefreshEnabled != u.RefreshEnabled {
			u.RefreshEnabled = *up.RefreshEnabled
			u.RefreshRequestedAt = timeZero
			changed["refresh_enabled"] = fmt.Sprint(u.RefreshEnabled)
			if !u.RefreshEnabled {
				endSessions = "refresh_disabled"
			}
		}
		if up.RequestRefresh != nil {
			if *up.RequestRefresh && !u.RefreshEnabled {
				u.RefreshRequestedAt = now
			} else if !*up.RequestRefresh {
				u.RefreshRequestedAt = timeZero
			}
			changed["refresh_requested"] = fmt.Sprint(*up.RequestRefresh)
		}
		if up.Disabled != nil && *up.Disabled != u.Disabled {
			u.Disabled = *up.Disabled
			changed["disabled"] = fmt.Sprint(u.Disabled)
			if u.Disabled {
				endSessions = revokedUserDisabled
			}
		}
		if up.Admin != nil {
			u.Admin = *up.Admin
			changed["admin"] = fmt.Sprint(u.Admin)
		}
		if up.Email != nil {
			u.Email = *up.Email
		}
		if up.DisplayName != nil {
			u.DisplayName = *up.DisplayName
		}
		if up.Password != nil {
			u.PasswordHash = hash
			changed["password"] = "changed"
			endSessions = "password_changed"
		}
		u.UpdatedAt = now
		if err := q.UpdateUser(ctx, u); err != nil {
			return err
		}
		if err := e.audit(ctx, q, store.AuditEvent{Type: "user.update", TenantID: u.TenantID, UserID: u.ID, Detail: changed}); err != nil {
			return err
		}
		if endSessions == revokedUserDisabled || endSessions == "password_changed" {
			// A browser signed in with the old password, or as a user
			// who may no longer sign in, is signed out too.
			if _, err := q.RevokeUserBrowserSessions(ctx, u.ID, now, endSessions); err != nil {
				return err
			}
		}
		if endSessions != "" {
			var n int
			return e.revokeUser(ctx, q, u.ID, endSessions, &n, lc)
		}
		return nil
	})
	return u, err
}

// revokedUserDisabled is the revoke reason of the sessions of a user who
// was disabled.
const revokedUserDisabled = "user_disabled"

// NewClient describes an OAuth 2.0 client to create.
type NewClient struct {
	Tenant     string
	ID         string // client_id; generated when empty
	Name       string
	Public     bool
	GrantTypes []string
	// RedirectURIs, PostLogoutRedirectURIs, Scopes and FirstParty are what
	// the authorization code flow needs (oidcclients.go). Scopes nil means
	// DefaultScopes.
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	Scopes                 []string
	FirstParty             bool
}

// CreateClient registers a client. For a confidential client it returns
// the secret, which is shown once and stored only as its SHA-256.
func (e *Engine) CreateClient(ctx context.Context, nc NewClient) (store.Client, string, error) {
	t, err := e.Tenant(ctx, nc.Tenant)
	if err != nil {
		return store.Client{}, "", err
	}
	if nc.ID == "" {
		nc.ID = e.newID()
	} else if err := checkName("client", nc.ID); err != nil {
		return store.Client{}, "", err
	}
	if err := checkRegistration(nc.RedirectURIs, nc.PostLogoutRedirectURIs, nc.Scopes); err != nil {
		return store.Client{}, "", err
	}
	if len(nc.GrantTypes) == 0 {
		switch {
		case len(nc.RedirectURIs) > 0:
			// A browser client: the code flow and its refresh tokens.
			nc.GrantTypes = []string{GrantAuthorizationCode, "refresh_token"}
		case nc.Public:
			nc.GrantTypes = []string{"password", "refresh_token"}
		default:
			nc.GrantTypes = []string{"client_credentials"}
		}
	}
	if slices.Contains(nc.GrantTypes, GrantAuthorizationCode) && len(nc.RedirectURIs) == 0 {
		return store.Client{}, "", invalidRequest("the authorization_code grant needs at least one redirect URI")
	}
	c := store.Client{ID: nc.ID, TenantID: t.ID, Name: nc.Name, GrantTypes: nc.GrantTypes, CreatedAt: e.now(),
		RedirectURIs: nc.RedirectURIs, PostLogoutRedirectURIs: nc.PostLogoutRedirectURIs, Scopes: nc.Scopes, FirstParty: nc.FirstParty}
	var secret string
	if !nc.Public {
		if secret, c.SecretHash, err = e.newClientSecret(); err != nil {
			return store.Client{}, "", err
		}
	}
	err = e.st.Tx(ctx, func(q store.Queries) error {
		if err := q.CreateClient(ctx, c); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("a client with client_id %q %w", c.ID, ErrAlreadyExists)
			}
			return err
		}
		return e.audit(ctx, q, store.AuditEvent{Type: "client.create", TenantID: t.ID, ClientID: c.ID,
			Detail: map[string]string{"public": fmt.Sprint(nc.Public), "first_party": fmt.Sprint(nc.FirstParty),
				"redirect_uris": strings.Join(nc.RedirectURIs, " ")}})
	})
	e.origins.forget()
	return c, secret, err
}

var timeZero time.Time

// RenameUser gives the user named old in tenant ("" = the default tenant)
// the name new. The user keeps its id, and so the sub of its standard
// tokens, its sessions, memberships and API tokens: tokens issued before
// carry the old name in preferred_username until they expire. A name
// taken in the tenant is ErrAlreadyExists.
func (e *Engine) RenameUser(ctx context.Context, tenant, old, new string) (store.User, error) {
	if err := checkName("user", new); err != nil {
		return store.User{}, err
	}
	u, err := e.User(ctx, tenant, old)
	if err != nil {
		return store.User{}, err
	}
	err = e.st.Tx(ctx, func(q store.Queries) error {
		cur, err := q.GetUser(ctx, u.ID)
		if err != nil {
			return userByIDErr(err, u.ID)
		}
		if cur.Name != old {
			return fmt.Errorf("%w %q: renamed meanwhile", ErrUnknownUser, old)
		}
		cur.Name, cur.UpdatedAt = new, e.now()
		if err := q.UpdateUser(ctx, cur); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("a user named %q %w in this tenant", new, ErrAlreadyExists)
			}
			return err
		}
		u = cur
		return e.audit(ctx, q, store.AuditEvent{Type: "user.rename", TenantID: cur.TenantID, UserID: cur.ID,
			Detail: map[string]string{"from": old, "to": new}})
	})
	if err != nil {
		return store.User{}, err
	}
	return u, nil
}
