package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tokengate/tokengate/internal/store"
)

const tenantCols = `id, name, display_name, max_sessions, session_limit_policy, disabled, created_at`

const (
	sqlCreateTenant    = `INSERT INTO tenants (` + tenantCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	sqlGetTenant       = `SELECT ` + tenantCols + ` FROM tenants WHERE id = $1`
	sqlGetTenantByName = `SELECT ` + tenantCols + ` FROM tenants WHERE name = $1`
	sqlListTenants     = `SELECT ` + tenantCols + ` FROM tenants ORDER BY name, id`
	sqlUpdateTenant    = `UPDATE tenants SET name = $2, display_name = $3, max_sessions = $4,
		session_limit_policy = $5, disabled = $6, created_at = $7 WHERE id = $1`
)

func scanTenant(row pgx.Row) (store.Tenant, error) {
	var t store.Tenant
	var policy string
	err := row.Scan(&t.ID, &t.Name, &t.DisplayName, &t.MaxSessions, &policy, &t.Disabled, tsCol{&t.CreatedAt})
	t.SessionLimitPolicy = store.LimitPolicy(policy)
	return t, err
}

func tenantArgs(t store.Tenant) []any {
	return []any{t.ID, t.Name, t.DisplayName, t.MaxSessions, string(t.SessionLimitPolicy), t.Disabled, ts(t.CreatedAt)}
}

func (q *queries) CreateTenant(ctx context.Context, t store.Tenant) error {
	q.forgetTenant(t.ID)
	_, err := q.run.exec(ctx, sqlCreateTenant, tenantArgs(t)...)
	return wrap("create tenant", err)
}

func (q *queries) GetTenant(ctx context.Context, id string) (store.Tenant, error) {
	if q.tx != nil {
		if t, ok := q.tx.tenants[id]; ok {
			return t, nil
		}
	}
	t, err := scanTenant(q.run.queryRow(ctx, sqlGetTenant, id))
	return t, wrap("get tenant", err)
}

func (q *queries) GetTenantByName(ctx context.Context, name string) (store.Tenant, error) {
	t, err := scanTenant(q.run.queryRow(ctx, sqlGetTenantByName, name))
	return t, wrap("get tenant by name", err)
}

func (q *queries) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	rows, err := q.run.query(ctx, sqlListTenants)
	ts, err := collect(rows, err, scanTenant)
	return ts, wrap("list tenants", err)
}

func (q *queries) UpdateTenant(ctx context.Context, t store.Tenant) error {
	q.forgetTenant(t.ID)
	tag, err := q.run.exec(ctx, sqlUpdateTenant, tenantArgs(t)...)
	return mustAffect("update tenant", tag, err)
}

// forgetTenant drops a tenant read ahead in this transaction before the
// transaction writes it.
func (q *queries) forgetTenant(id string) {
	if q.tx != nil {
		delete(q.tx.tenants, id)
	}
}

const userCols = `id, tenant_id, name, email, display_name, password_hash, refresh_enabled,
	refresh_requested_at, admin, disabled, created_at, updated_at`

const (
	sqlCreateUser = `INSERT INTO users (` + userCols + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	sqlGetUser       = `SELECT ` + userCols + ` FROM users WHERE id = $1`
	sqlGetUserByName = `SELECT ` + userCols + ` FROM users WHERE tenant_id = $1 AND name = $2`
	sqlListAllUsers  = `SELECT ` + userCols + ` FROM users ORDER BY name, tenant_id, id`
	sqlListUsers     = `SELECT ` + userCols + ` FROM users WHERE tenant_id = $1 ORDER BY name, id`
	sqlUpdateUser    = `UPDATE users SET tenant_id = $2, name = $3, email = $4, display_name = $5,
		password_hash = $6, refresh_enabled = $7, refresh_requested_at = $8, admin = $9, disabled = $10,
		created_at = $11, updated_at = $12 WHERE id = $1`
	// sqlLockUser takes the lock an UPDATE of the row takes (FOR NO KEY
	// UPDATE): it excludes every other LockUser and UpdateUser of the user
	// until commit, but not the FOR KEY SHARE lock that inserting a row
	// referencing the user (a session, a membership) takes, so such inserts
	// elsewhere never wait for a sign-on, nor deadlock with one.
	sqlLockUser = sqlGetUser + ` FOR NO KEY UPDATE`
)

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	err := row.Scan(&u.ID, &u.TenantID, &u.Name, &u.Email, &u.DisplayName, &u.PasswordHash,
		&u.RefreshEnabled, tsCol{&u.RefreshRequestedAt}, &u.Admin, &u.Disabled,
		tsCol{&u.CreatedAt}, tsCol{&u.UpdatedAt})
	return u, err
}

func userArgs(u store.User) []any {
	return []any{u.ID, u.TenantID, u.Name, u.Email, u.DisplayName, u.PasswordHash, u.RefreshEnabled,
		ts(u.RefreshRequestedAt), u.Admin, u.Disabled, ts(u.CreatedAt), ts(u.UpdatedAt)}
}

func (q *queries) CreateUser(ctx context.Context, u store.User) error {
	q.forgetUser(u.ID)
	_, err := q.run.exec(ctx, sqlCreateUser, userArgs(u)...)
	return wrap("create user", err)
}

func (q *queries) GetUser(ctx context.Context, id string) (store.User, error) {
	if q.tx != nil {
		if u, ok := q.tx.users[id]; ok {
			return u, nil
		}
	}
	u, err := scanUser(q.run.queryRow(ctx, sqlGetUser, id))
	return u, wrap("get user", err)
}

func (q *queries) GetUserByName(ctx context.Context, tenantID, name string) (store.User, error) {
	u, err := scanUser(q.run.queryRow(ctx, sqlGetUserByName, tenantID, name))
	return u, wrap("get user by name", err)
}

// ListUsers lists a tenant's users by name; tenantID "" lists all.
func (q *queries) ListUsers(ctx context.Context, tenantID string) ([]store.User, error) {
	var rows pgx.Rows
	var err error
	if tenantID == "" {
		rows, err = q.run.query(ctx, sqlListAllUsers)
	} else {
		rows, err = q.run.query(ctx, sqlListUsers, tenantID)
	}
	us, err := collect(rows, err, scanUser)
	return us, wrap("list users", err)
}

func (q *queries) UpdateUser(ctx context.Context, u store.User) error {
	q.forgetUser(u.ID)
	tag, err := q.run.exec(ctx, sqlUpdateUser, userArgs(u)...)
	return mustAffect("update user", tag, err)
}

// LockUser reads the user and, inside Tx, locks its row until commit.
// Outside a transaction it is GetUser.
func (q *queries) LockUser(ctx context.Context, id string) (store.User, error) {
	if q.tx == nil {
		u, err := scanUser(q.run.queryRow(ctx, sqlGetUser, id))
		return u, wrap("lock user", err)
	}
	u, err := scanUser(q.run.queryRow(ctx, sqlLockUser, id))
	if err == nil {
		q.tx.rememberUser(u)
	}
	return u, wrap("lock user", err)
}

// forgetUser drops a user read ahead in this transaction before the
// transaction writes it.
func (q *queries) forgetUser(id string) {
	if q.tx != nil {
		delete(q.tx.users, id)
	}
}

const clientCols = `id, tenant_id, name, secret_hash, grant_types, disabled, created_at,
	previous_secret_hash, previous_secret_expires_at, redirect_uris, post_logout_redirect_uris,
	scopes, first_party`

const (
	sqlCreateClient   = `INSERT INTO clients (` + clientCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`
	sqlGetClient      = `SELECT ` + clientCols + ` FROM clients WHERE id = $1`
	sqlListAllClients = `SELECT ` + clientCols + ` FROM clients ORDER BY name, id`
	sqlListClients    = `SELECT ` + clientCols + ` FROM clients WHERE tenant_id = $1 ORDER BY name, id`
	sqlUpdateClient   = `UPDATE clients SET tenant_id = $2, name = $3, secret_hash = $4, grant_types = $5,
		disabled = $6, created_at = $7, previous_secret_hash = $8, previous_secret_expires_at = $9,
		redirect_uris = $10, post_logout_redirect_uris = $11, scopes = $12, first_party = $13 WHERE id = $1`
	sqlDeleteClient = `DELETE FROM clients WHERE id = $1`
)

func scanClient(row pgx.Row) (store.Client, error) {
	var c store.Client
	err := row.Scan(&c.ID, &c.TenantID, &c.Name, &c.SecretHash, &c.GrantTypes, &c.Disabled, tsCol{&c.CreatedAt},
		&c.PreviousSecretHash, tsCol{&c.PreviousSecretExpiresAt}, &c.RedirectURIs, &c.PostLogoutRedirectURIs,
		&c.Scopes, &c.FirstParty)
	return c, err
}

func clientArgs(c store.Client) []any {
	return []any{c.ID, c.TenantID, c.Name, blob(c.SecretHash), textArray(c.GrantTypes), c.Disabled, ts(c.CreatedAt),
		blob(c.PreviousSecretHash), ts(c.PreviousSecretExpiresAt), textArray(c.RedirectURIs),
		textArray(c.PostLogoutRedirectURIs), textArray(c.Scopes), c.FirstParty}
}

func (q *queries) CreateClient(ctx context.Context, c store.Client) error {
	_, err := q.run.exec(ctx, sqlCreateClient, clientArgs(c)...)
	return wrap("create client", err)
}

func (q *queries) GetClient(ctx context.Context, id string) (store.Client, error) {
	c, err := scanClient(q.run.queryRow(ctx, sqlGetClient, id))
	return c, wrap("get client", err)
}

// ListClients lists a tenant's clients by name; tenantID "" lists all.
func (q *queries) ListClients(ctx context.Context, tenantID string) ([]store.Client, error) {
	var rows pgx.Rows
	var err error
	if tenantID == "" {
		rows, err = q.run.query(ctx, sqlListAllClients)
	} else {
		rows, err = q.run.query(ctx, sqlListClients, tenantID)
	}
	cs, err := collect(rows, err, scanClient)
	return cs, wrap("list clients", err)
}

func (q *queries) UpdateClient(ctx context.Context, c store.Client) error {
	tag, err := q.run.exec(ctx, sqlUpdateClient, clientArgs(c)...)
	return mustAffect("update client", tag, err)
}

func (q *queries) DeleteClient(ctx context.Context, id string) error {
	tag, err := q.run.exec(ctx, sqlDeleteClient, id)
	return mustAffect("delete client", tag, err)
}
