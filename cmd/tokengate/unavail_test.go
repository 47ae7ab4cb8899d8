package main

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // a second process's connection, holding the lock
)

// TestServeRefusesUnwritableDatabase runs serve as a process on a data
// directory whose database it can read but not write: a read-only file
// (immutable for root, mode 0400 for anyone else), and a file another
// process holds the write lock of. serve must exit at once with a message
// that says what is wrong and what to do, and never listen: a gateway on
// a store it can't write would answer every sign-on 503.
func TestServeRefusesUnwritableDatabase(t *testing.T) {
	bin := buildTokengate(t)
	for _, tc := range []struct {
		name string
		// cut makes db unwritable for the serve process.
		cut  func(t *testing.T, db string)
		want string // in the message, beside the common part
	}{
		{"read-only file", readOnlyFile, "readonly database"},
		{"locked by another process", func(t *testing.T, db string) {
			other, err := sql.Open("sqlite", "file:"+db+"?_txlock=immediate")
			if err != nil {
				t.Fatal(err)
			}
			tx, err := other.Begin()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = tx.Rollback(); _ = other.Close() })
		}, "database is locked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			mustCLI(t, bin, dir, "", "init")
			db := filepath.Join(dir, "tokengate.db")
			tc.cut(t, db)

			ctx, cancel := context.WithTimeout(context.Background(), hangBound)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "serve", "--data", dir, "--listen", freeAddr(t))
			cmd.Env = hermeticEnv()
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("serve on an unwritable database: %v\n%s", err, out)
			}
			msg := string(out)
			for _, want := range []string{"can't write the database sqlite:" + db, tc.want, "make it writable"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message lacks %q:\n%s", want, msg)
				}
			}
			if strings.Contains(msg, "listening") {
				t.Errorf("serve listened:\n%s", msg)
			}
		})
	}
}

// readOnlyFile makes db read-only for a process of this test's user:
// mode 0400 stops anyone but root, and root only the immutable attribute
// (chattr +i, which needs CAP_LINUX_IMMUTABLE). A root without it can't
// make a file it may not write, and the case is skipped.
func readOnlyFile(t *testing.T, db string) {
	if os.Geteuid() != 0 {
		if err := os.Chmod(db, 0o400); err != nil {
			t.Fatal(err)
		}
		return
	}
	if out, err := exec.Command("chattr", "+i", db).CombinedOutput(); err != nil {
		t.Skipf("running as root, and chattr +i fails (%v: %s): no way to make a file root can't write", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("chattr", "-i", db).CombinedOutput(); err != nil {
			t.Errorf("chattr -i: %v: %s", err, out)
		}
	})
}
