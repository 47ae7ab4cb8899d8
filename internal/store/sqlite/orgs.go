package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/tokengate/tokengate/internal/store"
)

const orgCols = `id, tenant_id, name, display_name, created_at`

const (
	sqlCreateOrg    = `INSERT INTO organisations (` + orgCols + `) VALUES (?, ?, ?, ?, ?)`
	sqlGetOrg       = `SELECT ` + orgCols + ` FROM organisations WHERE id = ?`
	sqlGetOrgByName = `SELECT ` + orgCols + ` FROM organisations WHERE tenant_id = ? AND name = ?`
	sqlListOrgs     = `SELECT ` + orgCols + ` FROM organisations WHERE ? = '' OR tenant_id = ? ORDER BY name, id`
	// sqlDeleteOrg deletes the organisation only while it has no active
	// membership; its removed memberships go with it (ON DELETE CASCADE).
	sqlDeleteOrg = `DELETE FROM organisations WHERE id = ? AND NOT EXISTS (
		SELECT 1 FROM memberships WHERE organisation_id = ? AND removed_at IS NULL)`
	sqlOrgExists = `SELECT count(*) FROM organisations WHERE id = ?`
)

func scanOrg(row interface{ Scan(...any) error }) (store.Organisation, error) {
	var o store.Organisation
	err := row.Scan(&o.ID, &o.TenantID, &o.Name, &o.DisplayName, msTime{&o.CreatedAt})
	return o, err
}

func (q *queries) CreateOrganisation(ctx context.Context, o store.Organisation) error {
	_, err := q.w.exec(ctx, sqlCreateOrg, o.ID, o.TenantID, o.Name, o.DisplayName, ms(o.CreatedAt))
	return wrap("create organisation", err)
}

func (q *queries) GetOrganisation(ctx context.Context, id string) (store.Organisation, error) {
	o, err := scanOrg(q.r.queryRow(ctx, sqlGetOrg, id))
	return o, wrap("get organisation", err)
}

func (q *queries) GetOrganisationByName(ctx context.Context, tenantID, name string) (store.Organisation, error) {
	o, err := scanOrg(q.r.queryRow(ctx, sqlGetOrgByName, tenantID, name))
	return o, wrap("get organisation by name", err)
}

// ListOrganisations lists a tenant's organisations by name; tenantID ""
// lists all.
func (q *queries) ListOrganisations(ctx context.Context, tenantID string) ([]store.Organisation, error) {
	rows, err := q.r.query(ctx, sqlListOrgs, tenantID, tenantID)
	orgs, err := collect(rows, err, scanOrg)
	return orgs, wrap("list organisations", err)
}

// DeleteOrganisation deletes an organisation and its removed memberships. It
// returns ErrConflict while the organisation has active memberships.
func (q *queries) DeleteOrganisation(ctx context.Context, id string) error {
	res, err := q.w.exec(ctx, sqlDeleteOrg, id, id)
	if err != nil {
		return wrap("delete organisation", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return wrap("delete organisation", err)
	}
	// Nothing deleted: tell a missing organisation from one still in use.
	// The write runner sees the state the DELETE just saw.
	var exists int
	if err := q.w.queryRow(ctx, sqlOrgExists, id).Scan(&exists); err != nil {
		return wrap("delete organisation", err)
	}
	if exists == 0 {
		return fmt.Errorf("sqlite: delete organisation: %w", store.ErrNotFound)
	}
	return fmt.Errorf("sqlite: delete organisation: %w: it has active memberships", store.ErrConflict)
}

const membershipCols = `id, tenant_id, organisation_id, user_id, channels, created_at, removed_at`

const (
	sqlCreateMembership = `INSERT INTO memberships (` + membershipCols + `) VALUES (?, ?, ?, ?, ?, ?, ?)`
	sqlGetMembership    = `SELECT ` + membershipCols + ` FROM memberships WHERE id = ?`
	sqlUpdateMembership = `UPDATE memberships SET tenant_id = ?, organisation_id = ?, user_id = ?,
		channels = ?, created_at = ?, removed_at = ? WHERE id = ?`
)

func scanMembership(row interface{ Scan(...any) error }) (store.Membership, error) {
	var m store.Membership
	err := row.Scan(&m.ID, &m.TenantID, &m.OrganisationID, &m.UserID, jsonCol[[]string]{&m.Channels},
		msTime{&m.CreatedAt}, msTime{&m.RemovedAt})
	return m, err
}

func (q *queries) CreateMembership(ctx context.Context, m store.Membership) error {
	ch, err := jsonText(m.Channels)
	if err != nil {
		return wrap("create membership", err)
	}
	_, err = q.w.exec(ctx, sqlCreateMembership, m.ID, m.TenantID, m.OrganisationID, m.UserID, ch,
		ms(m.CreatedAt), ms(m.RemovedAt))
	return wrap("create membership", err)
}

func (q *queries) GetMembership(ctx context.Context, id string) (store.Membership, error) {
	m, err := scanMembership(q.r.queryRow(ctx, sqlGetMembership, id))
	return m, wrap("get membership", err)
}

// ListMemberships lists memberships oldest first.
func (q *queries) ListMemberships(ctx context.Context, f store.MembershipFilter) ([]store.Membership, error) {
	var b strings.Builder
	var args []any
	b.WriteString(`SELECT ` + membershipCols + ` FROM memberships WHERE 1`)
	if f.TenantID != "" {
		b.WriteString(` AND tenant_id = ?`)
		args = append(args, f.TenantID)
	}
	if f.UserID != "" {
		b.WriteString(` AND user_id = ?`)
		args = append(args, f.UserID)
	}
	if f.OrganisationID != "" {
		b.WriteString(` AND organisation_id = ?`)
		args = append(args, f.OrganisationID)
	}
	if !f.IncludeRemoved {
		b.WriteString(` AND removed_at IS NULL`)
	}
	b.WriteString(` ORDER BY created_at, id`)
	rows, err := q.r.query(ctx, b.String(), args...)
	mbs, err := collect(rows, err, scanMembership)
	return mbs, wrap("list memberships", err)
}

func (q *queries) UpdateMembership(ctx context.Context, m store.Membership) error {
	ch, err := jsonText(m.Channels)
	if err != nil {
		return wrap("update membership", err)
	}
	res, err := q.w.exec(ctx, sqlUpdateMembership, m.TenantID, m.OrganisationID, m.UserID, ch,
		ms(m.CreatedAt), ms(m.RemovedAt), m.ID)
	return mustAffect("update membership", res, err)
}

const extCols = `tenant_id, issuer, subject, user_id, created_at`

const (
	sqlCreateExt = `INSERT INTO external_identities (` + extCols + `) VALUES (?, ?, ?, ?, ?)`
	sqlGetExt    = `SELECT ` + extCols + ` FROM external_identities
		WHERE tenant_id = ? AND issuer = ? AND subject = ?`
)

func (q *queries) CreateExternalIdentity(ctx context.Context, x store.ExternalIdentity) error {
	_, err := q.w.exec(ctx, sqlCreateExt, x.TenantID, x.Issuer, x.Subject, x.UserID, ms(x.CreatedAt))
	return wrap("create external identity", err)
}

func (q *queries) GetExternalIdentity(ctx context.Context, tenantID, issuer, subject string) (store.ExternalIdentity, error) {
	var x store.ExternalIdentity
	err := q.r.queryRow(ctx, sqlGetExt, tenantID, issuer, subject).Scan(
		&x.TenantID, &x.Issuer, &x.Subject, &x.UserID, msTime{&x.CreatedAt})
	return x, wrap("get external identity", err)
}
