package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

// TestUnavailable makes a live store's database unwritable in the ways
// SQLite itself reports (another process holding the write lock past the
// busy timeout, a read-only connection, a database that can grow no more),
// and checks that every kind of write, on its own or in a transaction,
// and the heartbeat fail with store.ErrUnavailable, never a sentinel that
// says something of the records; that reads go on; and that the same store
// writes again, without reopening, once the cause is gone.
func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// cut makes the database unwritable and returns what restores it.
		cut func(t *testing.T, s *Store, path string) (restore func())
		// small: a write that needs no new page still works (a full
		// database), so the heartbeat is not checked.
		small bool
	}{
		{name: "locked by another process", cut: func(t *testing.T, s *Store, path string) func() {
			other, err := sql.Open("sqlite", dsn(path, time.Second, url.Values{"_txlock": {"immediate"}}))
			if err != nil {
				t.Fatal(err)
			}
			tx, err := other.Begin() // BEGIN IMMEDIATE: takes the write lock
			if err != nil {
				t.Fatal(err)
			}
			return func() { _ = tx.Rollback(); _ = other.Close() }
		}},
		{name: "read-only", cut: func(t *testing.T, s *Store, path string) func() {
			// query_only is SQLite's read-only connection: writes fail with
			// SQLITE_READONLY as on a read-only file.
			if _, err := s.w.ExecContext(ctx, "PRAGMA query_only = 1"); err != nil {
				t.Fatal(err)
			}
			return func() {
				if _, err := s.w.ExecContext(ctx, "PRAGMA query_only = 0"); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{name: "I/O error", cut: func(t *testing.T, s *Store, path string) func() {
			// The files made immutable under the open store: its writes
			// to them fail (EPERM), SQLITE_IOERR, as on a failing disk.
			files := []string{path, path + "-wal"}
			if out, err := exec.Command("chattr", append([]string{"+i"}, files...)...).CombinedOutput(); err != nil {
				t.Skipf("chattr +i (it needs CAP_LINUX_IMMUTABLE, and a file system with the attribute) fails: %v: %s", err, out)
			}
			restore := func() {
				if out, err := exec.Command("chattr", append([]string{"-i"}, files...)...).CombinedOutput(); err != nil {
					t.Errorf("chattr -i: %v: %s", err, out)
				}
			}
			t.Cleanup(restore) // before the temp directory goes; twice is harmless
			return restore
		}},
		{name: "full", small: true, cut: func(t *testing.T, s *Store, path string) func() {
			// A database that may not grow answers SQLITE_FULL, as a full
			// disk does.
			var pages int
			if err := s.w.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
				t.Fatal(err)
			}
			if _, err := s.w.ExecContext(ctx, fmt.Sprint("PRAGMA max_page_count = ", pages)); err != nil {
				t.Fatal(err)
			}
			return func() {
				if _, err := s.w.ExecContext(ctx, "PRAGMA max_page_count = 1073741823"); err != nil {
					t.Fatal(err)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tg.db")
			s, err := OpenWith(ctx, path, Options{BusyTimeout: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if err := s.SetMeta(ctx, "before", "kept"); err != nil {
				t.Fatal(err)
			}
			big := strings.Repeat("x", 64<<10) // needs new pages
			writes := map[string]func() error{
				"plain write": func() error { return s.SetMeta(ctx, "big", big) },
				"transaction": func() error {
					return s.Tx(ctx, func(q store.Queries) error {
						if err := q.SetMeta(ctx, "tx-small", "1"); err != nil {
							return err
						}
						return q.SetMeta(ctx, "tx-big", big)
					})
				},
				"create tenant": func() error {
					return s.CreateTenant(ctx, store.Tenant{ID: "t-" + strings.Repeat("y", 40<<10), Name: "acme", CreatedAt: time.Now()})
				},
			}
			if !tc.small {
				writes["heartbeat"] = func() error { return s.Heartbeat(ctx) }
			}
			restore := tc.cut(t, s, path)
			for name, w := range writes {
				err := w()
				t.Logf("%s: %v", name, err)
				if !errors.Is(err, store.ErrUnavailable) {
					t.Errorf("%s: err = %v, want store.ErrUnavailable", name, err)
				}
				if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
					t.Errorf("%s: %v is taken for a record's state", name, err)
				}
			}
			if v, err := s.GetMeta(ctx, "before"); err != nil || v != "kept" {
				t.Errorf("read while unwritable: %q, %v", v, err)
			}
			for _, k := range []string{"big", "tx-small", "tx-big"} {
				if _, err := s.GetMeta(ctx, k); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s half-written: %v", k, err)
				}
			}
			restore()
			for name, w := range writes {
				if err := w(); err != nil {
					t.Errorf("%s after recovery: %v", name, err)
				}
			}
			if err := s.Heartbeat(ctx); err != nil {
				t.Errorf("heartbeat after recovery: %v", err)
			}
		})
	}
}

// TestUnavailableCodes: the result codes, primary or extended, that
// say the database can't write now, and some that don't.
func TestUnavailableCodes(t *testing.T) {
	for code, want := range map[int]bool{
		5:         true,  // SQLITE_BUSY
		5 | 2<<8:  true,  // SQLITE_BUSY_TIMEOUT
		6:         true,  // SQLITE_LOCKED
		8:         true,  // SQLITE_READONLY
		8 | 6<<8:  true,  // SQLITE_READONLY_DIRECTORY
		10:        true,  // SQLITE_IOERR
		10 | 3<<8: true,  // SQLITE_IOERR_WRITE
		13:        true,  // SQLITE_FULL
		14:        true,  // SQLITE_CANTOPEN
		19:        false, // SQLITE_CONSTRAINT
		1:         false, // SQLITE_ERROR
		9:         false, // SQLITE_INTERRUPT
	} {
		if got := unavailableCode(code); got != want {
			t.Errorf("unavailableCode(%d) = %v, want %v", code, got, want)
		}
	}
}
