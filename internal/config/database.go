package config

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// Database selects where the records live.
type Database struct {
	// URL is empty for the embedded SQLite store in the data directory
	// (DataDir/tokengate.db); sqlite:PATH for a SQLite file elsewhere; or a
	// postgres:// (postgresql://) URL for a PostgreSQL database that
	// several nodes may share, e.g.
	// postgres://tokengate:PASSWORD@db.internal:5432/tokengate?sslmode=verify-full.
	URL string `yaml:"url"`
	// BusyTimeout is how long a SQLite write waits for a lock that
	// another process holds on the file before the store answers
	// unavailable (503 with Retry-After); 0 means 5s.
	BusyTimeout Duration `yaml:"busy_timeout"`
}

// Store kinds that Backend returns.
const (
	BackendSQLite   = "sqlite"
	BackendPostgres = "postgres"
)

// Backend says which store the URL selects and what to open: the SQLite
// file's path, or the PostgreSQL URL as given. Its errors never quote the
// URL, which may hold a password.
func (d Database) Backend(dataDir string) (kind, target string, err error) {
	u := strings.TrimSpace(d.URL)
	if u == "" {
		return BackendSQLite, filepath.Join(dataDir, "tokengate.db"), nil
	}
	scheme, rest, ok := strings.Cut(u, ":")
	if !ok {
		return "", "", fmt.Errorf("database.url is not a URL: want postgres://user:password@host:5432/database, or sqlite:PATH")
	}
	switch strings.ToLower(scheme) {
	case "sqlite":
		path := strings.TrimPrefix(rest, "//")
		if path == "" || path == ":memory:" {
			return "", "", fmt.Errorf("database.url sqlite: must name a file (sqlite:PATH)")
		}
		return BackendSQLite, path, nil
	case "postgres", "postgresql":
		p, err := url.Parse(u)
		if err != nil {
			// url's error quotes the input: say only what is wrong.
			return "", "", fmt.Errorf("database.url is not a valid postgres URL (%s): want postgres://user:password@host:5432/database", urlProblem(err))
		}
		if p.Opaque != "" || (p.Host == "" && p.Query().Get("host") == "") {
			return "", "", fmt.Errorf("database.url names no host: want postgres://user:password@host:5432/database")
		}
		if strings.Trim(p.Path, "/") == "" && p.Query().Get("dbname") == "" {
			return "", "", fmt.Errorf("database.url names no database: want postgres://user:password@host:5432/database")
		}
		return BackendPostgres, u, nil
	default:
		return "", "", fmt.Errorf("database.url scheme %q: want postgres, postgresql or sqlite", scheme)
	}
}

// Describe names the database for logs and messages: the SQLite file, or
// the PostgreSQL host, port and database, never the user or password.
func (d Database) Describe(dataDir string) string {
	kind, target, err := d.Backend(dataDir)
	switch {
	case err != nil:
		return "(invalid database.url)"
	case kind == BackendSQLite:
		return "sqlite:" + target
	}
	p, _ := url.Parse(target) // Backend parsed it
	q := p.Query()
	host := p.Host
	if host == "" {
		host = q.Get("host")
	}
	db := strings.Trim(p.Path, "/")
	if db == "" {
		db = q.Get("dbname")
	}
	out := "postgres://" + host + "/" + db
	if sp := q.Get("search_path"); sp != "" {
		out += " (schema " + sp + ")"
	}
	return out
}

// urlProblem is the part of a url.Parse error that does not repeat the
// input (parts of which, a port or an escape, the inner errors quote too).
func urlProblem(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch err.(type) {
	case url.EscapeError:
		return "a bad %-escape"
	case url.InvalidHostError:
		return "a bad character in the host"
	}
	msg, _, _ := strings.Cut(err.Error(), `"`)
	return strings.TrimSpace(msg)
}
