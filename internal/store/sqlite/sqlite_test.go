package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/store/sqlite"
	"github.com/tokengate/tokengate/internal/store/storetest"
)

func open(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := open(t, filepath.Join(t.TempDir(), "tg.db"))
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	})
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tg.db")
	s := open(t, path)
	tn := store.Tenant{ID: "t", Name: "acme", CreatedAt: time.UnixMilli(1700000000123).UTC()}
	if err := s.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t, path) // migrations already applied: a no-op
	defer s.Close()
	got, err := s.GetTenant(ctx, tn.ID)
	if err != nil {
		t.Fatalf("after reopen: %v", err)
	}
	if got != tn {
		t.Fatalf("after reopen got %+v, want %+v", got, tn)
	}
}

func TestOpenRefusesMemory(t *testing.T) {
	if _, err := sqlite.Open(context.Background(), ":memory:"); err == nil {
		t.Fatal("Open(:memory:) succeeded")
	}
}

// BenchmarkRefreshTx measures one refresh's transaction (see
// storetest.BenchRefreshTx).
func BenchmarkRefreshTx(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "tg.db"))
	defer s.Close()
	storetest.BenchRefreshTx(b, s)
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// TestTxAfterClose: a transaction on a closed store fails (every queued
// caller gets an answer) rather than hanging, and the store is not left
// locked for the next caller.
func TestTxAfterClose(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "tg.db"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() {
			errs <- s.Tx(ctx, func(q store.Queries) error { return q.SetMeta(ctx, "k", "v") })
		}()
	}
	for range cap(errs) {
		if err := <-errs; err == nil {
			t.Fatal("Tx on a closed store succeeded")
		}
	}
}

// TestMigrateDryRunAndNoMigrate: a dry run lists what a new file needs and
// creates nothing; opening without migrating refuses a file that is behind
// (or missing), naming the command that fixes it; after Migrate it opens.
func TestMigrateDryRunAndNoMigrate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tg.db")
	res, err := sqlite.Migrate(ctx, path, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied || res.From != 0 || len(res.Pending) == 0 || res.Pending[0].Name != "0001_init.sql" {
		t.Fatalf("dry run of a new file: %+v", res)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("dry run created the file: %v", err)
	}
	if _, err := sqlite.OpenWith(ctx, path, sqlite.Options{NoMigrate: true}); err == nil || !strings.Contains(err.Error(), "tokengate migrate") {
		t.Fatalf("OpenWith(NoMigrate) of a missing file: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenWith(NoMigrate) created the file: %v", err)
	}

	// An empty database file is behind too.
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE unrelated (x)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.OpenWith(ctx, path, sqlite.Options{NoMigrate: true}); err == nil || !strings.Contains(err.Error(), "version 0") {
		t.Fatalf("OpenWith(NoMigrate) of an unmigrated file: %v", err)
	}

	res, err = sqlite.Migrate(ctx, path, false)
	if err != nil {
		t.Fatal(err)
	}
	// Every migration, from the first to the latest (migrate.Load keeps
	// their numbers without a gap).
	if !res.Applied || res.From != 0 || len(res.Pending) != res.Latest || res.Pending[0].Version != 1 || res.Pending[len(res.Pending)-1].Version != res.Latest {
		t.Fatalf("migrate: %+v", res)
	}
	fresh := filepath.Join(t.TempDir(), "new.db")
	if _, err := sqlite.Migrate(ctx, fresh, false); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(fresh); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("migrate created the database with mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	res, err = sqlite.Migrate(ctx, path, true)
	if err != nil || len(res.Pending) != 0 || res.From != res.Latest {
		t.Fatalf("dry run after migrating: %+v, %v", res, err)
	}
	res, err = sqlite.Migrate(ctx, path, false)
	if err != nil || len(res.Pending) != 0 {
		t.Fatalf("second migrate: %+v, %v", res, err)
	}
	s, err := sqlite.OpenWith(ctx, path, sqlite.Options{NoMigrate: true})
	if err != nil {
		t.Fatalf("OpenWith(NoMigrate) after migrating: %v", err)
	}
	s.Close()
}
