package sqlite

import (
	"context"
	"database/sql"

	"github.com/tokengate/tokengate/internal/store"
)

const tenantCols = `id, name, display_name, max_sessions, session_limit_policy, disabled, created_at`

const (
	sqlCreateTenant    = `INSERT INTO tenants (` + tenantCols + `) VALUES (?, ?, ?, ?, ?, ?, ?)`
	sqlGetTenant       = `SELECT ` + tenantCols + ` FROM tenants WHERE id = ?`
	sqlGetTenantByName = `SELECT ` + tenantCols + ` FROM tenants WHERE name = ?`
	sqlListTenants     = `SELECT ` + tenantCols + ` FROM tenants ORDER BY name, id`
	sqlUpdateTenant    = `UPDATE tenants SET name = ?, display_name = ?, max_sessions = ?,
		session_limit_policy = ?, disabled = ?, created_at = ? WHERE id = ?`
)

func scanTenant(row interface{ Scan(...any) error }) (store.Tenant, error) {
	var t store.Tenant
	var policy string
	err := row.Scan(&t.ID, &t.Name, &t.DisplayName, &t.MaxSessions, &policy, &t.Disabled, msTime{&t.CreatedAt})
	t.SessionLimitPolicy = store.LimitPolicy(policy)
	return t, err
}

func (q *queries) CreateTenant(ctx context.Context, t store.Tenant) error {
	_, err := q.w.exec(ctx, sqlCreateTenant, t.ID, t.Name, t.DisplayName, t.MaxSessions,
		string(t.SessionLimitPolicy), boolInt(t.Disabled), ms(t.CreatedAt))
	return wrap("create tenant", err)
}

func (q *queries) GetTenant(ctx context.Context, id string) (store.Tenant, error) {
	t, err := scanTenant(q.r.queryRow(ctx, sqlGetTenant, id))
	return t, wrap("get tenant", err)
}

func (q *queries) GetTenantByName(ctx context.Context, name string) (store.Tenant, error) {
	t, err := scanTenant(q.r.queryRow(ctx, sqlGetTenantByName, name))
	return t, wrap("get tenant by name", err)
}

func (q *queries) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	rows, err := q.r.query(ctx, sqlListTenants)
	ts, err := collect(rows, err, scanTenant)
	return ts, wrap("list tenants", err)
}

func (q *queries) UpdateTenant(ctx context.Context, t store.Tenant) error {
	res, err := q.w.exec(ctx, sqlUpdateTenant, t.Name, t.DisplayName, t.MaxSessions,
		string(t.SessionLimitPolicy), boolInt(t.Disabled), ms(t.CreatedAt), t.ID)
	return mustAffect("update tenant", res, err)
}

const userCols = `id, tenant_id, name, email, display_name, password_hash, refresh_enabled,
	refresh_requested_at, admin, disabled, created_at, updated_at`

const (
	sqlCreateUser    = `INSERT INTO users (` + userCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlGetUser       = `SELECT ` + userCols + ` FROM users WHERE id = ?`
	sqlGetUserByName = `SELECT ` + userCols + ` FROM users WHERE tenant_id = ? AND name = ?`
	sqlListUsers     = `SELECT ` + userCols + ` FROM users WHERE ? = '' OR tenant_id = ? ORDER BY name, tenant_id, id`
	sqlUpdateUser    = `UPDATE users SET tenant_id = ?, name = ?, email = ?, display_name = ?,
		password_hash = ?, refresh_enabled = ?, refresh_requested_at = ?, admin = ?, disabled = ?,
		created_at = ?, updated_at = ? WHERE id = ?`
)

func scanUser(row interface{ Scan(...any) error }) (store.User, error) {
	var u store.User
	err := row.Scan(&u.ID, &u.TenantID, &u.Name, &u.Email, &u.DisplayName, &u.PasswordHash,
		&u.RefreshEnabled, msTime{&u.RefreshRequestedAt}, &u.Admin, &u.Disabled,
		msTime{&u.CreatedAt}, msTime{&u.UpdatedAt})
	return u, err
}

func (q *queries) CreateUser(ctx context.Context, u store.User) error {
	_, err := q.w.exec(ctx, sqlCreateUser, u.ID, u.TenantID, u.Name, u.Email, u.DisplayName,
		u.PasswordHash, boolInt(u.RefreshEnabled), ms(u.RefreshRequestedAt), boolInt(u.Admin),
		boolInt(u.Disabled), ms(u.CreatedAt), ms(u.UpdatedAt))
	return wrap("create user", err)
}

func (q *queries) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(q.r.queryRow(ctx, sqlGetUser, id))
	return u, wrap("get user", err)
}

func (q *queries) GetUserByName(ctx context.Context, tenantID, name string) (store.User, error) {
	u, err := scanUser(q.r.queryRow(ctx, sqlGetUserByName, tenantID, name))
	return u, wrap("get user by name", err)
}

func (q *queries) ListUsers(ctx context.Context, tenantID string) ([]store.User, error) {
	rows, err := q.r.query(ctx, sqlListUsers, tenantID, tenantID)
	us, err := collect(rows, err, scanUser)
	return us, wrap("list users", err)
}

func (q *queries) UpdateUser(ctx context.Context, u store.User) error {
	res, err := q.w.exec(ctx, sqlUpdateUser, u.TenantID, u.Name, u.Email, u.DisplayName,
		u.PasswordHash, boolInt(u.RefreshEnabled), ms(u.RefreshRequestedAt), boolInt(u.Admin),
		boolInt(u.Disabled), ms(u.CreatedAt), ms(u.UpdatedAt), u.ID)
	return mustAffect("update user", res, err)
}

// LockUser reads the user. Inside Tx the IMMEDIATE transaction already
// holds the database's write lock, which serialises it against every other
// writer, so no row lock is needed.
func (q *queries) LockUser(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(q.r.queryRow(ctx, sqlGetUser, id))
	return u, wrap("lock user", err)
}

const clientCols = `id, tenant_id, name, secret_hash, grant_types, disabled, created_at,
	previous_secret_hash, previous_secret_expires_at, redirect_uris, post_logout_redirect_uris,
	scopes, first_party`

const (
	sqlCreateClient = `INSERT INTO clients (` + clientCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlGetClient    = `SELECT ` + clientCols + ` FROM clients WHERE id = ?`
	sqlListClients  = `SELECT ` + clientCols + ` FROM clients WHERE ? = '' OR tenant_id = ? ORDER BY name, id`
	sqlUpdateClient = `UPDATE clients SET tenant_id = ?, name = ?, secret_hash = ?, grant_types = ?,
		disabled = ?, created_at = ?, previous_secret_hash = ?, previous_secret_expires_at = ?,
		redirect_uris = ?, post_logout_redirect_uris = ?, scopes = ?, first_party = ? WHERE id = ?`
	sqlDeleteClient = `DELETE FROM clients WHERE id = ?`
)

func scanClient(row interface{ Scan(...any) error }) (store.Client, error) {
	var c store.Client
	err := row.Scan(&c.ID, &c.TenantID, &c.Name, &c.SecretHash, jsonCol[[]string]{&c.GrantTypes},
		&c.Disabled, msTime{&c.CreatedAt}, &c.PreviousSecretHash, msTime{&c.PreviousSecretExpiresAt},
		jsonCol[[]string]{&c.RedirectURIs}, jsonCol[[]string]{&c.PostLogoutRedirectURIs},
		jsonCol[[]string]{&c.Scopes}, &c.FirstParty)
	return c, err
}

// clientArgs are a client's columns after its id, in clientCols order.
func clientArgs(c store.Client) ([]any, error) {
	var lists [4]any
	for i, l := range [][]string{c.GrantTypes, c.RedirectURIs, c.PostLogoutRedirectURIs, c.Scopes} {
		v, err := jsonText(l)
		if err != nil {
			return nil, err
		}
		lists[i] = v
	}
	return []any{c.TenantID, c.Name, blob(c.SecretHash), lists[0], boolInt(c.Disabled), ms(c.CreatedAt),
		blob(c.PreviousSecretHash), ms(c.PreviousSecretExpiresAt), lists[1], lists[2], lists[3], boolInt(c.FirstParty)}, nil
}

func (q *queries) CreateClient(ctx context.Context, c store.Client) error {
	args, err := clientArgs(c)
	if err != nil {
		return wrap("create client", err)
	}
	_, err = q.w.exec(ctx, sqlCreateClient, append([]any{c.ID}, args...)...)
	return wrap("create client", err)
}

func (q *queries) GetClient(ctx context.Context, id string) (store.Client, error) {
	c, err := scanClient(q.r.queryRow(ctx, sqlGetClient, id))
	return c, wrap("get client", err)
}

// ListClients lists a tenant's clients by name; tenantID "" lists all.
func (q *queries) ListClients(ctx context.Context, tenantID string) ([]store.Client, error) {
	rows, err := q.r.query(ctx, sqlListClients, tenantID, tenantID)
	cs, err := collect(rows, err, scanClient)
	return cs, wrap("list clients", err)
}

func (q *queries) UpdateClient(ctx context.Context, c store.Client) error {
	args, err := clientArgs(c)
	if err != nil {
		return wrap("update client", err)
	}
	res, err := q.w.exec(ctx, sqlUpdateClient, append(args, c.ID)...)
	return mustAffect("update client", res, err)
}

func (q *queries) DeleteClient(ctx context.Context, id string) error {
	res, err := q.w.exec(ctx, sqlDeleteClient, id)
	return mustAffect("delete client", res, err)
}

// collect scans every row with scan; it closes rows.
func collect[T any](rows *sql.Rows, err error, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
