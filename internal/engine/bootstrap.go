package engine

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/tokengate/tokengate/internal/store"
)

// DefaultClientID is the public client that exists in every tenant's
// first start, so password and refresh grants work without registration.
const DefaultClientID = "tokengate"

// BootstrapResult says what Bootstrap created.
type BootstrapResult struct {
	CreatedTenant bool
	CreatedKey    bool
	CreatedAdmin  bool
	// AdminPassword is the generated admin password, set only when the
	// admin was created without a password given; show it once.
	AdminPassword string
	// AdminPasswordNotApplied is set when a password was given but the
	// admin user already existed: its password was left as it is, since
	// a start must never change a password behind the operator's back.
	AdminPasswordNotApplied bool
	// AdminPasswordInUse is set when a password was given, the admin user
	// already existed and that is its password (another node created it
	// with the same one, or this is a restart): nothing to report.
	AdminPasswordInUse bool
}

// Bootstrap prepares an empty store: the default tenant, a signing key,
// the public client and an admin user (password adminPassword, or a
// generated one). It is idempotent: on a store that has them it does
// nothing but load the key ring.
func (e *Engine) Bootstrap(ctx context.Context, adminPassword string) (BootstrapResult, error) {
	var r BootstrapResult
	t, err := e.Tenant(ctx, "")
	if errors.Is(err, ErrUnknownTenant) {
		if t, err = e.CreateTenant(ctx, NewTenant{Name: e.opts.DefaultTenant, DisplayName: "Default tenant"}); err != nil && !errors.Is(err, ErrAlreadyExists) {
			return r, err
		}
		r.CreatedTenant = err == nil
		if t, err = e.Tenant(ctx, ""); err != nil {
			return r, err
		}
	} else if err != nil {
		return r, err
	}
	if r.CreatedKey, err = e.ring.EnsureKey(ctx); err != nil {
		return r, err
	}
	if _, err := e.st.GetClient(ctx, DefaultClientID); errors.Is(err, store.ErrNotFound) {
		_, _, err = e.CreateClient(ctx, NewClient{Tenant: t.Name, ID: DefaultClientID, Name: "tokengate public client", Public: true})
		if err != nil && !errors.Is(err, ErrAlreadyExists) {
			return r, err
		}
	} else if err != nil {
		return r, err
	}
	hasAdmin, err := e.hasAdmin(ctx, t)
	if err != nil {
		return r, err
	}
	if !hasAdmin {
		pw := adminPassword
		if pw == "" {
			var b [18]byte
			if _, err := io.ReadFull(e.rand, b[:]); err != nil {
				return r, err
			}
			pw = base64.RawURLEncoding.EncodeToString(b[:])
			r.AdminPassword = pw
		}
		_, err = e.CreateUser(ctx, NewUser{Tenant: t.Name, Name: "admin", Password: pw, Admin: true, RefreshEnabled: true, DisplayName: "Administrator"})
		if err != nil && !errors.Is(err, ErrAlreadyExists) {
			return r, fmt.Errorf("admin password: %w", err)
		}
		r.CreatedAdmin = err == nil
		if !r.CreatedAdmin {
			r.AdminPassword = ""
		}
	}
	if adminPassword != "" && !r.CreatedAdmin {
		inUse, err := e.isAdminPassword(ctx, t, adminPassword)
		if err != nil {
			return r, err
		}
		r.AdminPasswordInUse, r.AdminPasswordNotApplied = inUse, !inUse
	}
	return r, nil
}

// isAdminPassword reports whether pw is the password of tenant t's user
// named admin. It checks the hash only: no throttle, no audit event, since
// it is the operator's start, not a sign-on.
func (e *Engine) isAdminPassword(ctx context.Context, t store.Tenant, pw string) (bool, error) {
	u, err := e.st.GetUserByName(ctx, t.ID, "admin")
	if errors.Is(err, store.ErrNotFound) {
		return false, nil // renamed: the given password is not applied to anyone
	}
	if err != nil {
		return false, err
	}
	if u.PasswordHash == "" {
		return false, nil
	}
	return e.hash.Verify(ctx, pw, u.PasswordHash)
}

// hasAdmin reports whether tenant t has a user named admin or any
// administrator: the bootstrap administrator may have been renamed (its id
// is what identifies it), and a start must not add another one then.
func (e *Engine) hasAdmin(ctx context.Context, t store.Tenant) (bool, error) {
	_, err := e.st.GetUserByName(ctx, t.ID, "admin")
	if err == nil {
		return true, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	users, err := e.st.ListUsers(ctx, t.ID)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(users, func(u store.User) bool { return u.Admin }), nil
}
