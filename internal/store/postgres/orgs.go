package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tokengate/tokengate/internal/store"
)

const orgCols = `id, tenant_id, name, display_name, created_at`

const (
	sqlCreateOrg     = `INSERT INTO organisations (` + orgCols + `) VALUES ($1, $2, $3, $4, $5)`
	sqlGetOrg        = `SELECT ` + orgCols + ` FROM organisations WHERE id = $1`
	sqlGetOrgByName  = `SELECT ` + orgCols + ` FROM organisations WHERE tenant_id = $1 AND name = $2`
	sqlListAllOrgs   = `SELECT ` + orgCols + ` FROM organisations ORDER BY name, id`
	sqlListOrgs      = `SELECT ` + orgCols + ` FROM organisations WHERE tenant_id = $1 ORDER BY name, id`
	sqlOrgExists     = `SELECT count(*) FROM organisations WHERE id = $1`
	sqlDeleteOrgOnly = `DELETE FROM organisations WHERE id = $1 AND NOT EXISTS (
		SELECT 1 FROM memberships WHERE organisation_id = $1 AND removed_at IS NULL)`
)

func scanOrg(row pgx.Row) (store.Organisation, error) {
	var o store.Organisation
	err := row.Scan(&o.ID, &o.TenantID, &o.Name, &o.DisplayName, tsCol{&o.CreatedAt})
	return o, err
}

func (q *queries) CreateOrganisation(ctx context.Context, o store.Organisation) error {
	_, err := q.run.exec(ctx, sqlCreateOrg, o.ID, o.TenantID, o.Name, o.DisplayName, ts(o.CreatedAt))
	return wrap("create organisation", err)
}

func (q *queries) GetOrganisation(ctx context.Context, id string) (store.Organisation, error) {
	o, err := scanOrg(q.run.queryRow(ctx, sqlGetOrg, id))
	return o, wrap("get organisation", err)
}

func (q *queries) GetOrganisationByName(ctx context.Context, tenantID, name string) (store.Organisation, error) {
	o, err := scanOrg(q.run.queryRow(ctx, sqlGetOrgByName, tenantID, name))
	return o, wrap("get organisation by name", err)
}

// ListOrganisations lists a tenant's organisations by name; tenantID ""
// lists all.
func (q *queries) ListOrganisations(ctx context.Context, tenantID string) ([]store.Organisation, error) {
	var rows pgx.Rows
	var err error
	if tenantID == "" {
		rows, err = q.run.query(ctx, sqlListAllOrgs)
	} else {
		rows, err = q.run.query(ctx, sqlListOrgs, tenantID)
	}
	orgs, err := collect(rows, err, scanOrg)
	return orgs, wrap("list organisations", err)
}

// DeleteOrganisation deletes an organisation and its removed memberships
// (ON DELETE CASCADE). It returns ErrConflict while the organisation has
// active memberships.
//
// Under READ COMMITTED a membership added concurrently may be missed by the
// NOT EXISTS; the foreign key still holds, because the membership's insert
// waits for this delete and then fails on the missing organisation.
func (q *queries) DeleteOrganisation(ctx context.Context, id string) error {
	tag, err := q.run.exec(ctx, sqlDeleteOrgOnly, id)
	if err != nil {
		return wrap("delete organisation", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	// Nothing deleted: tell a missing organisation from one still in use.
	var exists int
	if err := q.run.queryRow(ctx, sqlOrgExists, id).Scan(&exists); err != nil {
		return wrap("delete organisation", err)
	}
	if exists == 0 {
		return fmt.Errorf("postgres: delete organisation: %w", store.ErrNotFound)
	}
	return fmt.Errorf("postgres: delete organisation: %w: it has active memberships", store.ErrConflict)
}

const membershipCols = `id, tenant_id, organisation_id, user_id, channels, created_at, removed_at`

const (
	sqlCreateMembership = `INSERT INTO memberships (` + membershipCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	sqlGetMembership    = `SELECT ` + membershipCols + ` FROM memberships WHERE id = $1`
	sqlUpdateMembership = `UPDATE memberships SET tenant_id = $2, organisation_id = $3, user_id = $4,
		channels = $5, created_at = $6, removed_at = $7 WHERE id = $1`
)

func scanMembership(row pgx.Row) (store.Membership, error) {
	var m store.Membership
	err := row.Scan(&m.ID, &m.TenantID, &m.OrganisationID, &m.UserID, &m.Channels,
		tsCol{&m.CreatedAt}, tsCol{&m.RemovedAt})
	return m, err
}

func membershipArgs(m store.Membership) []any {
	return []any{m.ID, m.TenantID, m.OrganisationID, m.UserID, textArray(m.Channels), ts(m.CreatedAt), ts(m.RemovedAt)}
}

func (q *queries) CreateMembership(ctx context.Context, m store.Membership) error {
	_, err := q.run.exec(ctx, sqlCreateMembership, membershipArgs(m)...)
	return wrap("create membership", err)
}

func (q *queries) GetMembership(ctx context.Context, id string) (store.Membership, error) {
	m, err := scanMembership(q.run.queryRow(ctx, sqlGetMembership, id))
	return m, wrap("get membership", err)
}

// ListMemberships lists memberships oldest first.
func (q *queries) ListMemberships(ctx context.Context, f store.MembershipFilter) ([]store.Membership, error) {
	var b strings.Builder
	var args []any
	b.WriteString(`SELECT ` + membershipCols + ` FROM memberships WHERE true`)
	for _, c := range []struct{ col, v string }{
		{"tenant_id", f.TenantID}, {"user_id", f.UserID}, {"organisation_id", f.OrganisationID},
	} {
		if c.v != "" {
			args = append(args, c.v)
			fmt.Fprintf(&b, ` AND %s = $%d`, c.col, len(args))
		}
	}
	if !f.IncludeRemoved {
		b.WriteString(` AND removed_at IS NULL`)
	}
	b.WriteString(` ORDER BY created_at, id`)
	rows, err := q.run.query(ctx, b.String(), args...)
	mbs, err := collect(rows, err, scanMembership)
	return mbs, wrap("list memberships", err)
}

func (q *queries) UpdateMembership(ctx context.Context, m store.Membership) error {
	tag, err := q.run.exec(ctx, sqlUpdateMembership, membershipArgs(m)...)
	return mustAffect("update membership", tag, err)
}

const extCols = `tenant_id, issuer, subject, user_id, created_at`

const (
	sqlCreateExt = `INSERT INTO external_identities (` + extCols + `) VALUES ($1, $2, $3, $4, $5)`
	sqlGetExt    = `SELECT ` + extCols + ` FROM external_identities
		WHERE tenant_id = $1 AND issuer = $2 AND subject = $3`
)

func (q *queries) CreateExternalIdentity(ctx context.Context, x store.ExternalIdentity) error {
	_, err := q.run.exec(ctx, sqlCreateExt, x.TenantID, x.Issuer, x.Subject, x.UserID, ts(x.CreatedAt))
	return wrap("create external identity", err)
}

func (q *queries) GetExternalIdentity(ctx context.Context, tenantID, issuer, subject string) (store.ExternalIdentity, error) {
	var x store.ExternalIdentity
	err := q.run.queryRow(ctx, sqlGetExt, tenantID, issuer, subject).Scan(
		&x.TenantID, &x.Issuer, &x.Subject, &x.UserID, tsCol{&x.CreatedAt})
	return x, wrap("get external identity", err)
}
