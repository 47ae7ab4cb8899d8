package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/token"
)

// What NotInitialisedError finds missing.
const (
	MissingDataDir   = "data directory"
	MissingStore     = "database"
	MissingMasterKey = "master key"
)

// NotInitialisedError says that Open, asked to open existing data only
// (Options.MustExist), found part of it missing: the data directory, the
// SQLite database in it (or the tables in a PostgreSQL database), or the
// master key that unseals the signing keys.
type NotInitialisedError struct {
	// DataDir is the data directory, absolute when it could be made so.
	DataDir string
	// Missing is MissingDataDir, MissingStore or MissingMasterKey.
	Missing string
	// Path is the file or directory that does not exist.
	Path string
	// Database names a PostgreSQL database that holds no tokengate tables
	// (config.Database.Describe: no user or password).
	Database string
}

func (e *NotInitialisedError) Error() string {
	if e.Missing == MissingStore && e.Database != "" {
		return fmt.Sprintf("the database %s holds no tokengate data: run `tokengate serve` or `tokengate init` with the same --db to create it, or check --db (or TOKENGATE_DATABASE_URL, database.url)", e.Database)
	}
	switch e.Missing {
	case MissingMasterKey:
		// Neither serve nor init may make a new one here: it would not
		// unseal the signing keys already in the database.
		return fmt.Sprintf("the data directory %s has a database but no master key: %s does not exist and TOKENGATE_MASTER_KEY is not set; restore master.key from your backup or set TOKENGATE_MASTER_KEY to the key the server uses", e.DataDir, e.Path)
	case MissingStore:
		return fmt.Sprintf("%s holds no tokengate data (%s does not exist): run `tokengate serve` or `tokengate init` to create it, or pass --data (or set TOKENGATE_DATA) to the directory the server uses", e.DataDir, filepath.Base(e.Path))
	default:
		return fmt.Sprintf("the data directory %s does not exist: run `tokengate serve` or `tokengate init` to create it, or pass --data (or set TOKENGATE_DATA) to the directory the server uses", e.DataDir)
	}
}

// checkExisting reports, as a *NotInitialisedError, the first part of the
// data of cfg that does not exist yet. masterKey is the key given in the
// environment, if any; a key given there needs no file.
func checkExisting(cfg config.Config, masterKey string) error {
	dir := cfg.DataDir
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	missing := func(what, path string) error {
		return &NotInitialisedError{DataDir: dir, Missing: what, Path: path}
	}
	exists := func(path string) (bool, error) {
		_, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	if kind, path, err := cfg.Database.Backend(cfg.DataDir); err == nil && kind == config.BackendSQLite {
		ok, err := exists(path)
		if err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		if !ok {
			if ok, _ := exists(cfg.DataDir); !ok && cfg.Database.URL == "" {
				return missing(MissingDataDir, dir)
			}
			abs, _ := filepath.Abs(path)
			return missing(MissingStore, abs)
		}
	}
	if masterKey == "" {
		path := filepath.Join(dir, token.MasterKeyFile)
		ok, err := exists(path)
		if err != nil {
			return fmt.Errorf("master key: %w", err)
		}
		if !ok {
			if ok, _ := exists(cfg.DataDir); !ok {
				return missing(MissingDataDir, dir)
			}
			return missing(MissingMasterKey, path)
		}
	}
	return nil
}
