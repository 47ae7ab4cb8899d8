package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokengate/tokengate/internal/store"
)

const (
	sqlAppendAudit = `INSERT INTO audit (time, type, tenant_id, user_id, session_id, client_id,
		correlation_id, remote_addr, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	// sqlPurgeAudit deletes the oldest events first, through audit_time.
	sqlPurgeAudit = `DELETE FROM audit WHERE id IN (
		SELECT id FROM audit WHERE time < $1 ORDER BY time LIMIT $2)`
	sqlGetMeta = `SELECT value FROM meta WHERE name = $1`
	sqlSetMeta = `INSERT INTO meta (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`
)

// AppendAudit stores e with a new ID; the ID in e is ignored. Inside Tx
// the insert is deferred to the next round trip (usually COMMIT's): the
// table has no constraint it could break, so it can fail only as the whole
// transaction fails, which COMMIT reports.
func (q *queries) AppendAudit(ctx context.Context, e store.AuditEvent) error {
	detail, err := jsonMap(e.Detail)
	if err != nil {
		return wrap("append audit", err)
	}
	args := []any{ts(e.Time), e.Type, e.TenantID, e.UserID, e.SessionID, e.ClientID, e.CorrelationID, e.RemoteAddr, detail}
	if q.tx != nil {
		return wrap("append audit", q.tx.queue(stmt{op: "append audit", sql: sqlAppendAudit, args: args, rows: 1}))
	}
	_, err = q.run.exec(ctx, sqlAppendAudit, args...)
	return wrap("append audit", err)
}

// ListAudit lists events newest first (by time, then by ID).
func (q *queries) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	var b strings.Builder
	var args []any
	b.WriteString(`SELECT id, time, type, tenant_id, user_id, session_id, client_id, correlation_id,
		remote_addr, detail FROM audit WHERE true`)
	for _, c := range []struct{ col, v string }{
		{"tenant_id", f.TenantID}, {"user_id", f.UserID}, {"session_id", f.SessionID},
		{"type", f.Type}, {"correlation_id", f.CorrelationID},
	} {
		if c.v != "" {
			args = append(args, c.v)
			fmt.Fprintf(&b, ` AND %s = $%d`, c.col, len(args))
		}
	}
	if !f.Since.IsZero() {
		args = append(args, f.Since)
		fmt.Fprintf(&b, ` AND time >= $%d`, len(args))
	}
	if !f.Until.IsZero() {
		args = append(args, f.Until)
		fmt.Fprintf(&b, ` AND time < $%d`, len(args))
	}
	if f.Before.ID != 0 {
		args = append(args, f.Before.Time, f.Before.ID)
		fmt.Fprintf(&b, ` AND (time, id) < ($%d, $%d)`, len(args)-1, len(args))
	}
	b.WriteString(` ORDER BY time DESC, id DESC`)
	if f.Limit > 0 {
		args = append(args, int64(f.Limit))
		fmt.Fprintf(&b, ` LIMIT $%d`, len(args))
	}
	rows, err := q.run.query(ctx, b.String(), args...)
	es, err := collect(rows, err, func(row pgx.Row) (store.AuditEvent, error) {
		var e store.AuditEvent
		err := row.Scan(&e.ID, tsCol{&e.Time}, &e.Type, &e.TenantID, &e.UserID, &e.SessionID,
			&e.ClientID, &e.CorrelationID, &e.RemoteAddr, jsonCol{&e.Detail})
		return e, err
	})
	return es, wrap("list audit", err)
}

// PurgeAudit deletes one batch of at most limit events older than before;
// callers loop, so that no statement holds many locks for long.
func (q *queries) PurgeAudit(ctx context.Context, before time.Time, limit int) (int, error) {
	return q.purge(ctx, "purge audit", sqlPurgeAudit, before, limit)
}

func (q *queries) GetMeta(ctx context.Context, name string) (string, error) {
	var v string
	err := q.run.queryRow(ctx, sqlGetMeta, name).Scan(&v)
	return v, wrap("get meta", err)
}

func (q *queries) SetMeta(ctx context.Context, name, value string) error {
	_, err := q.run.exec(ctx, sqlSetMeta, name, value)
	return wrap("set meta", err)
}
