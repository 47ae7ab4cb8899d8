package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/store/sqlite"
)

// TestFilesCreatedPrivate opens a new database under a permissive umask
// and writes to it, so that SQLite creates its -wal and -shm files: the
// database and both are 0600, readable and writable by the owner alone.
func TestFilesCreatedPrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tg.db")
	s := open(t, path)
	defer s.Close()
	if err := s.CreateTenant(context.Background(), store.Tenant{ID: "t", Name: "acme", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", filepath.Base(p), perm)
		}
	}
}

// TestOpenRefusesWritableByOthers checks that a database, -wal or -shm
// file, or a directory holding them, that group or others may write is
// refused with a message naming the file and the fix; readable-only modes
// and the owner's own are accepted.
func TestOpenRefusesWritableByOthers(t *testing.T) {
	cases := []struct {
		name          string
		file, dirMode os.FileMode
		suffix        string // which file gets the mode
		refused       bool
	}{
		{"private", 0o600, 0o700, "", false},
		{"world-readable database", 0o644, 0o755, "", false},
		{"world-writable database", 0o666, 0o700, "", true},
		{"group-writable database", 0o620, 0o700, "", true},
		{"others-writable only", 0o602, 0o700, "", true},
		{"world-writable wal", 0o666, 0o700, "-wal", true},
		{"group-writable shm", 0o660, 0o700, "-shm", true},
		{"world-writable directory", 0o600, 0o777, "", true},
		{"group-writable directory", 0o600, 0o770, "", true},
		{"sticky world-writable directory", 0o600, 0o1777, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "tg.db")
			s := open(t, path)
			if err := s.CreateTenant(context.Background(), store.Tenant{ID: "t", Name: "acme", CreatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			target := path + tc.suffix
			if tc.suffix != "" {
				// Close checkpoints and removes the WAL files: leave one
				// behind as a crashed process would.
				if err := os.WriteFile(target, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chmod(target, tc.file); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.dirMode); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(dir, 0o700) })
			s, err := sqlite.Open(context.Background(), path)
			if !tc.refused {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			named, fix := target, "chmod 600"
			if tc.dirMode&0o022 != 0 {
				named, fix = dir, "chmod 700"
			}
			if msg := err.Error(); !strings.Contains(msg, named) || !strings.Contains(msg, fix) || !strings.Contains(msg, "group or others") {
				t.Errorf("message %q does not name %s and %q", msg, named, fix)
			}
		})
	}
}
