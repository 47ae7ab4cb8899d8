package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// The database holds password hashes, sessions and the sealed signing
// keys. Whoever may write it, its -wal or -shm file, or the directory that
// holds them (and so may replace or pre-create them) can mint sessions or
// plant keys, so such a database is refused at open, as master.key is
// (token.LoadOrCreateMasterKey). A new database is created 0600; SQLite
// gives its -wal and -shm files the database's own mode, so they are 0600
// too.

// prepareFiles checks the directory and the database files at path and
// creates the database file, empty and 0600, when it does not exist.
func prepareFiles(path string) error {
	if runtime.GOOS == "windows" {
		return nil // ACLs, not mode bits: nothing to check here
	}
	dir := filepath.Dir(path)
	if err := notWritableByOthers(dir, "directory", "chmod 700"); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		if err := f.Close(); err != nil {
			return fmt.Errorf("sqlite: create %s: %w", path, err)
		}
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := notWritableByOthers(p, "database file", "chmod 600"); err != nil {
			return err
		}
	}
	return nil
}

// notWritableByOthers refuses a file or directory that group or others
// may write; one that does not exist is fine.
func notWritableByOthers(path, what, fix string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("sqlite: %s %s has mode %04o: it must not be writable by group or others (%s it)", what, path, perm, fix)
	}
	return nil
}
