package sqlite

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "tg.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPragmas(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	for _, tc := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"}, {"synchronous", "1"}, {"foreign_keys", "1"},
		{"busy_timeout", fmt.Sprint(defaultBusyTimeout.Milliseconds())}, {"query_only", "0"},
	} {
		var got string
		if err := s.w.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("write connection: PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
		}
	}
	var ro string
	if err := s.r.QueryRowContext(ctx, "PRAGMA query_only").Scan(&ro); err != nil || ro != "1" {
		t.Errorf("read pool: query_only = %q, %v", ro, err)
	}
	if _, err := s.r.ExecContext(ctx, "DELETE FROM meta"); err == nil {
		t.Error("read pool accepted a write")
	}
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := s.w.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v); err != nil || v != ms[len(ms)-1].Version {
		t.Errorf("schema version %d, %v, want the latest, %d", v, err, ms[len(ms)-1].Version)
	}
}

// TestQueryPlans checks that the session queries and the background
// purges use their indexes rather than scanning the table.
func TestQueryPlans(t *testing.T) {
	s := openTest(t)
	for name, q := range map[string]string{
		"purge":  sqlPurgeExpiry,
		"count":  sqlCountLive,
		"revoke": sqlRevokeUser,
		"list":   sqlListUserSessions,
		"audit":  sqlPurgeAudit,
		"fails":  sqlPurgeFailures,
	} {
		rows, err := s.w.Query("EXPLAIN QUERY PLAN "+q, 1, 2, 3, 4, 5)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		if strings.Contains(p, "SCAN ") && !strings.Contains(p, "USING") {
			t.Errorf("%s scans a table: %s", name, p)
		}
		t.Logf("%s: %s", name, p)
	}
}

// TestSessionFootprint checks the product target of at most 1 KiB of
// database per stored session, indexes included, with realistic ids.
func TestSessionFootprint(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 5000 sessions")
	}
	s := openTest(t)
	ctx := context.Background()
	now := time.Now().UTC()
	if err := s.CreateTenant(ctx, store.Tenant{ID: newID(), Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	tenants, _ := s.ListTenants(ctx)
	users := make([]string, 100)
	for i := range users {
		users[i] = newID()
		if err := s.CreateUser(ctx, store.User{ID: users[i], TenantID: tenants[0].ID, Name: fmt.Sprint("user", i)}); err != nil {
			t.Fatal(err)
		}
	}
	size := func() int64 {
		var pages, pageSize int64
		if _, err := s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			t.Fatal(err)
		}
		if err := s.w.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
			t.Fatal(err)
		}
		if err := s.w.QueryRow("PRAGMA page_size").Scan(&pageSize); err != nil {
			t.Fatal(err)
		}
		return pages * pageSize
	}
	before := size()
	const n = 5000
	err := s.Tx(ctx, func(q store.Queries) error {
		for i := range n {
			err := q.CreateSession(ctx, store.Session{
				ID: newID(), TenantID: tenants[0].ID, UserID: users[i%len(users)],
				ClientID: "tokengate-cli", Service: "ags:password", Policy: store.PolicyRotating,
				Generation: 12, RotatedAt: now, DeviceID: newID(), CreatedAt: now, LastUsedAt: now,
				IdleExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(24 * time.Hour),
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	per := (size() - before) / n
	t.Logf("%d bytes per session", per)
	if per > 1024 {
		t.Errorf("%d bytes per session, want at most 1024", per)
	}
}

// newID returns a random id the length of a textual UUID.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
