package postgres

import (
	"context"
	"embed"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

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
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return ms, nil
}

// Migrate applies the migrations the database at url lacks, or with dryRun
// only lists them, without taking the lock or writing anything.
func Migrate(ctx context.Context, url string, dryRun bool) (migrate.Result, error) {
	pool, err := connect(ctx, url)
	if err != nil {
		return migrate.Result{}, err
	}
	defer pool.Close()
	return migrateDB(ctx, pool, dryRun)
}

// lockKey is the advisory lock that migrations run under: one per schema,
// so that nodes sharing a schema migrate one at a time while installations
// (or tests) in other schemas of the same database do not wait for each
// other.
const lockKey = `hashtextextended('tokengate schema migrations ' || coalesce(current_schema(), ''), 0)`

// migrateDB applies the pending migrations, each in its own transaction
// together with its row in schema_migrations, while holding a session
// advisory lock. A second node starting at the same time waits for the lock
// and then finds nothing left to apply; a crash leaves the schema at a whole
// version and releases the lock with the connection.
func migrateDB(ctx context.Context, pool *pgxpool.Pool, dryRun bool) (res migrate.Result, err error) {
	ms, err := loadMigrations()
	if err != nil {
		return res, err
	}
	c, err := pool.Acquire(ctx)
	if err != nil {
		return res, fmt.Errorf("postgres: migrate: %w", asUnavailable(err))
	}
	defer c.Release()
	conn := c.Conn()
	if err := checkSearchPath(ctx, conn); err != nil {
		return res, err
	}
	if !dryRun {
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+lockKey+`)`); err != nil {
			return res, fmt.Errorf("postgres: migrate: take the migration lock: %w", asUnavailable(err))
		}
		defer func() {
			if _, uerr := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+lockKey+`)`); uerr != nil {
				// Ending the session is what releases the lock then.
				_ = conn.Close(context.WithoutCancel(ctx))
			}
		}()
		if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return res, fmt.Errorf("postgres: migrate: %w", asUnavailable(err))
		}
	}
	current, err := schemaVersion(ctx, conn)
	if err != nil {
		return res, err
	}
	res = migrate.Result{From: current, Latest: migrate.Latest(ms)}
	if res.Pending, err = migrate.Pending(ms, current); err != nil {
		return res, fmt.Errorf("postgres: %w", err)
	}
	if dryRun {
		return res, nil
	}
	for _, m := range res.Pending {
		if err := applyMigration(ctx, conn, m); err != nil {
			return res, err
		}
	}
	res.Applied = true
	return res, nil
}

func applyMigration(ctx context.Context, conn *pgx.Conn, m migrate.Migration) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migration %s: %w", m.Name, asUnavailable(err))
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	// Without arguments pgx sends the file as one simple query, which may
	// hold many statements.
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return fmt.Errorf("postgres: migration %s: %w", m.Name, asUnavailable(err))
	}
	if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
		return fmt.Errorf("postgres: migration %s: %w", m.Name, asUnavailable(err))
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: migration %s: %w", m.Name, asUnavailable(err))
	}
	return nil
}

// schemaVersion is the highest migration applied, 0 for a database that
// has none (not even the schema_migrations table).
func schemaVersion(ctx context.Context, conn *pgx.Conn) (int, error) {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return 0, wrapVersion(err)
	}
	var v int
	err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, wrapVersion(err)
}

func wrapVersion(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("postgres: read schema version: %w", err)
}

// checkSchema is Open's check when it must not migrate: the schema must be
// exactly this binary's.
func checkSchema(ctx context.Context, pool *pgxpool.Pool) error {
	res, err := migrateDB(ctx, pool, true)
	if err != nil {
		return err
	}
	if len(res.Pending) > 0 {
		return fmt.Errorf("postgres: %w", migrate.Behind(res.From, res.Pending))
	}
	return nil
}

// checkSearchPath makes sure the connection's search_path names a schema
// that exists, where the tables are (or will be) created. PostgreSQL would
// otherwise list the schema as empty and then fail the first CREATE with
// "no schema has been selected to create in".
func checkSearchPath(ctx context.Context, conn *pgx.Conn) error {
	var schema *string
	var path string
	if err := conn.QueryRow(ctx, `SELECT current_schema(), current_setting('search_path')`).Scan(&schema, &path); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	if schema != nil {
		return nil
	}
	first, _, _ := strings.Cut(path, ",")
	first = strings.Trim(strings.TrimSpace(first), `"`)
	return fmt.Errorf("postgres: the search_path %q names no schema that exists in this database: create it first (CREATE SCHEMA %s, as a user that may), or correct ?search_path= in the URL", path, first)
}
