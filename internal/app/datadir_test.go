package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/config"
)

// TestDataDirectoryPrivate opens a node on a new data directory under a
// permissive umask: the directory is 0700, master.key and the database
// with its -wal and -shm files 0600.
func TestDataDirectoryPrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Password.MemoryKiB, cfg.Password.Iterations = 8192, 1
	a, err := app.Open(context.Background(), cfg, nil, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Engine.Bootstrap(context.Background(), "admin-password"); err != nil {
		t.Fatal(err)
	}
	want := map[string]os.FileMode{"": 0o700, "master.key": 0o600, "tokengate.db": 0o600, "tokengate.db-wal": 0o600, "tokengate.db-shm": 0o600}
	for name, mode := range want {
		fi, err := os.Stat(filepath.Join(cfg.DataDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%q has mode %04o, want %04o", name, fi.Mode().Perm(), mode)
		}
	}
}

// TestDataDirectoryWritableByOthersRefused checks that a node does not
// open on a data directory that group or others may write (they could
// replace master.key or the database), saying which and how to fix it.
func TestDataDirectoryWritableByOthersRefused(t *testing.T) {
	for _, tc := range []struct {
		mode        os.FileMode
		dbElsewhere bool
	}{{0o777, false}, {0o770, false}, {0o730, false}, {0o703, false}, {os.ModeSticky | 0o777, false}, {0o777, true}, {0o770, true}} {
		t.Run(fmt.Sprintf("%v db elsewhere %v", tc.mode, tc.dbElsewhere), func(t *testing.T) {
			mode := tc.mode
			cfg := config.Default()
			cfg.DataDir = filepath.Join(t.TempDir(), "data")
			if tc.dbElsewhere {
				cfg.Database.URL = "sqlite:" + filepath.Join(t.TempDir(), "tg.db")
			}
			if err := os.Mkdir(cfg.DataDir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(cfg.DataDir, mode); err != nil {
				t.Fatal(err)
			}
			a, err := app.Open(context.Background(), cfg, nil, app.Options{})
			if err == nil {
				a.Close()
				t.Fatal("opened")
			}
			if msg := err.Error(); !strings.Contains(msg, cfg.DataDir) || !strings.Contains(msg, "chmod 700") || !strings.Contains(msg, "group or others") {
				t.Errorf("message %q", msg)
			}
			if _, err := os.Stat(filepath.Join(cfg.DataDir, "master.key")); err == nil {
				t.Error("master.key was created in the refused directory")
			}
		})
	}
}
