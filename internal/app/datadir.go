package app

import (
	"fmt"
	"os"
	"runtime"
)

// checkDataDir refuses a data directory that group or others may write:
// they could replace master.key or the database (or pre-create them) and
// so mint sessions or plant signing keys. master.key itself is refused
// when others may read it (token.LoadOrCreateMasterKey), the database
// files when others may write them (sqlite.Open).
func checkDataDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // ACLs, not mode bits
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("data directory %s has mode %04o: it must not be writable by group or others (chmod 700 it)", dir, perm)
	}
	return nil
}
