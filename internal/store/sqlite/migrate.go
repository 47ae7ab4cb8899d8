package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"time"

	"github.com/tokengate/tokengate/internal/store/migrate"
)

// migrations holds the schema as numbered files, NNNN_name.sql, applied in
// order. A released file is never edited; a change is a new file.
//
//go:embed migrations/*.sql
var migrations embed.FS

func loadMigrations() ([]migrate.Migration, error) {
	ms, err := migrate.Load(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return ms, nil
}

// Migrate applies the migrations the database file at path lacks (creating
// the file if needed), or with dryRun only lists them, writing nothing.
func Migrate(ctx context.Context, path string, dryRun bool) (migrate.Result, error) {
	if path == "" || path == ":memory:" {
		return migrate.Result{}, errors.New("sqlite: migrate: the database must be a file")
	}
	if dryRun {
		return dryRunMigrate(ctx, path)
	}
	if err := prepareFiles(path); err != nil { // 0600, as Open creates it
		return migrate.Result{}, err
	}
	db, err := sql.Open("sqlite", dsn(path, 0, url.Values{"_txlock": {"immediate"}, "_journal_mode": {"WAL"}, "_foreign_keys": {"1"}}))
	if err != nil {
		return migrate.Result{}, fmt.Errorf("sqlite: open: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	return migrateDB(ctx, db)
}

// dryRunMigrate reads the schema version of the file at path, if it exists,
// on a read-only connection.
func dryRunMigrate(ctx context.Context, path string) (migrate.Result, error) {
	ms, err := loadMigrations()
	if err != nil {
		return migrate.Result{}, err
	}
	current := 0
	if _, err := os.Stat(path); err == nil {
		db, err := sql.Open("sqlite", dsn(path, 0, url.Values{"mode": {"ro"}}))
		if err != nil {
			return migrate.Result{}, fmt.Errorf("sqlite: open: %w", err)
		}
		defer db.Close()
		if current, err = schemaVersion(ctx, db); err != nil {
			return migrate.Result{}, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return migrate.Result{}, fmt.Errorf("sqlite: %w", err)
	}
	res := migrate.Result{From: current, Latest: migrate.Latest(ms)}
	if res.Pending, err = migrate.Pending(ms, current); err != nil {
		return res, fmt.Errorf("sqlite: %w", err)
	}
	return res, nil
}

// schemaVersion is the highest migration applied, 0 for a database that
// has none (not even the schema_migrations table).
func schemaVersion(ctx context.Context, db *sql.DB) (int, error) {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: read schema version: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	var v int
	if err := db.QueryRowContext(ctx, `SELECT ifnull(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlite: read schema version: %w", err)
	}
	return v, nil
}

// checkSchema is Open's check when it must not migrate: the schema must be
// exactly this binary's.
func checkSchema(ctx context.Context, db *sql.DB) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	current, err := schemaVersion(ctx, db)
	if err != nil {
		return err
	}
	pending, err := migrate.Pending(ms, current)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if len(pending) > 0 {
		return fmt.Errorf("sqlite: %w", migrate.Behind(current, pending))
	}
	return nil
}

// checkSchemaOf is checkSchema's error for a database file that does not
// exist yet.
func checkSchemaOf(path string) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	return fmt.Errorf("sqlite: %s does not exist: %w", path, migrate.Behind(0, ms))
}

// migrateDB applies the migrations the database has not seen yet, each in
// its own IMMEDIATE transaction together with its row in schema_migrations,
// so a crash leaves the schema at a whole version and two processes opening
// the same file at once apply each migration exactly once.
func migrateDB(ctx context.Context, db *sql.DB) (migrate.Result, error) {
	ms, err := loadMigrations()
	if err != nil {
		return migrate.Result{}, err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return migrate.Result{}, fmt.Errorf("sqlite: migrate: %w", asUnavailable(err))
	}
	res := migrate.Result{Latest: migrate.Latest(ms), Applied: true}
	if res.From, err = schemaVersion(ctx, db); err != nil {
		return res, err
	}
	for _, m := range ms {
		applied, err := applyMigration(ctx, db, m, res.Latest)
		if err != nil {
			return res, err
		}
		if applied {
			res.Pending = append(res.Pending, m)
		}
	}
	return res, nil
}

// applyMigration applies m unless the database already has it, deciding
// inside the transaction that applies it.
func applyMigration(ctx context.Context, db *sql.DB, m migrate.Migration, latest int) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("sqlite: migrate: %w", asUnavailable(err))
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit

	var current int
	if err := tx.QueryRowContext(ctx, `SELECT ifnull(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return false, fmt.Errorf("sqlite: migrate: %w", asUnavailable(err))
	}
	if current > latest {
		return false, fmt.Errorf("sqlite: migrate: database schema version %d is newer than this binary's %d: run a newer tokengate", current, latest)
	}
	if current >= m.Version {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("sqlite: migration %s: %w", m.Name, asUnavailable(err))
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		m.Version, time.Now().UnixMilli()); err != nil {
		return false, fmt.Errorf("sqlite: migration %s: %w", m.Name, asUnavailable(err))
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlite: migration %s: %w", m.Name, asUnavailable(err))
	}
	return true, nil
}
