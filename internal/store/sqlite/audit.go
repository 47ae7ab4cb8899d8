package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

const (
	sqlAppendAudit = `INSERT INTO audit (time, type, tenant_id, user_id, session_id, client_id,
		correlation_id, remote_addr, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// sqlPurgeAudit deletes the oldest events first, through audit_time.
	sqlPurgeAudit = `DELETE FROM audit WHERE id IN (
		SELECT id FROM audit WHERE time < ? ORDER BY time LIMIT ?)`
	sqlGetMeta = `SELECT value FROM meta WHERE name = ?`
	sqlSetMeta = `INSERT INTO meta (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`
)

// AppendAudit stores e with a new ID; the ID in e is ignored.
func (q *queries) AppendAudit(ctx context.Context, e store.AuditEvent) error {
	detail, err := jsonText(e.Detail)
	if err != nil {
		return wrap("append audit", err)
	}
	_, err = q.w.exec(ctx, sqlAppendAudit, ms(e.Time), e.Type, e.TenantID, e.UserID, e.SessionID,
		e.ClientID, e.CorrelationID, e.RemoteAddr, detail)
	return wrap("append audit", err)
}

// ListAudit lists events newest first (by time, then by ID).
func (q *queries) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	var b strings.Builder
	var args []any
	b.WriteString(`SELECT id, time, type, tenant_id, user_id, session_id, client_id, correlation_id,
		remote_addr, detail FROM audit WHERE 1`)
	for _, c := range []struct{ col, v string }{
		{"tenant_id", f.TenantID}, {"user_id", f.UserID}, {"session_id", f.SessionID},
		{"type", f.Type}, {"correlation_id", f.CorrelationID},
	} {
		if c.v != "" {
			b.WriteString(` AND ` + c.col + ` = ?`)
			args = append(args, c.v)
		}
	}
	b.WriteString(` ORDER BY time DESC, id DESC LIMIT ?`)
	limit := int64(-1)
	if f.Limit > 0 {
		limit = int64(f.Limit)
	}
	args = append(args, limit)
	rows, err := q.r.query(ctx, b.String(), args...)
	es, err := collect(rows, err, func(row interface{ Scan(...any) error }) (store.AuditEvent, error) {
		var e store.AuditEvent
		err := row.Scan(&e.ID, msTime{&e.Time}, &e.Type, &e.TenantID, &e.UserID, &e.SessionID,
			&e.ClientID, &e.CorrelationID, &e.RemoteAddr, jsonCol[map[string]string]{&e.Detail})
		return e, err
	})
	return es, wrap("list audit", err)
}

// PurgeAudit deletes one batch of at most limit events older than before;
// callers loop, so that no statement holds the write lock for long.
func (q *queries) PurgeAudit(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	res, err := q.w.exec(ctx, sqlPurgeAudit, ms(before), limit)
	if err != nil {
		return 0, wrap("purge audit", err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap("purge audit", err)
}

func (q *queries) GetMeta(ctx context.Context, name string) (string, error) {
	var v string
	err := q.r.queryRow(ctx, sqlGetMeta, name).Scan(&v)
	return v, wrap("get meta", err)
}

func (q *queries) SetMeta(ctx context.Context, name, value string) error {
	_, err := q.w.exec(ctx, sqlSetMeta, name, value)
	return wrap("set meta", err)
}
