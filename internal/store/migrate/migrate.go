// Package migrate holds what the store backends share about schema
// migrations: how the numbered files are named and loaded, and which of them
// a database still needs. Each backend applies them its own way (SQLite in
// IMMEDIATE transactions, PostgreSQL under an advisory lock).
package migrate

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one schema change: a file named NNNN_name.sql whose number is
// its version. A released file is never edited; a change is a new file.
type Migration struct {
	Version int
	Name    string // the file name, e.g. "0001_init.sql"
	SQL     string
}

// Load reads the migrations in dir of fsys, in version order. Every file
// must be named NNNN_name.sql, numbered 1, 2, 3… without a gap.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, p := range names {
		base := path.Base(p)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must be NNNN_name.sql", base)
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(b)})
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no migrations in %s", dir)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %q and %q share a version", ms[i-1].Name, ms[i].Name)
		}
	}
	// A database records one version, the last applied: a migration
	// numbered below it would never run. So versions count 1, 2, 3… with
	// no gap, and a new migration takes the next number.
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %q: versions must run 1, 2, 3… without a gap (want %04d here)", m.Name, i+1)
		}
	}
	return ms, nil
}

// Latest is the version the last migration brings a database to.
func Latest(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// Pending returns the migrations a database at version current still needs.
// A database newer than the last migration is an error: this binary is older
// than the schema and must not write to it.
func Pending(ms []Migration, current int) ([]Migration, error) {
	if latest := Latest(ms); current > latest {
		return nil, fmt.Errorf("database schema version %d is newer than this binary's %d: run a newer tokengate", current, latest)
	}
	var out []Migration
	for _, m := range ms {
		if m.Version > current {
			out = append(out, m)
		}
	}
	return out, nil
}

// Result is what a migration run found and did.
type Result struct {
	// From is the schema version the database was at (0: empty).
	From int
	// Latest is the version this binary's migrations reach.
	Latest int
	// Pending lists the migrations the database lacked: applied by a run,
	// or only listed by a dry run.
	Pending []Migration
	// Applied reports whether Pending was applied (false for a dry run).
	Applied bool
}

// Behind is the error a backend opened without migrating returns when the
// database lacks migrations this binary needs.
func Behind(current int, pending []Migration) error {
	names := make([]string, len(pending))
	for i, m := range pending {
		names[i] = m.Name
	}
	return fmt.Errorf("database schema is at version %d and this binary needs %d (missing %s): run `tokengate migrate`, or start serve without --no-migrate",
		current, pending[len(pending)-1].Version, strings.Join(names, ", "))
}
