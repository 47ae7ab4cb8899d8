package config

import (
	"os"
	"strings"
	"testing"
)

func TestDatabaseBackend(t *testing.T) {
	for _, tc := range []struct {
		url, kind, target string
	}{
		{"", BackendSQLite, "data/tokengate.db"},
		{"sqlite:/var/lib/tg/tg.db", BackendSQLite, "/var/lib/tg/tg.db"},
		{"sqlite:///var/lib/tg/tg.db", BackendSQLite, "/var/lib/tg/tg.db"},
		{"sqlite:tg.db", BackendSQLite, "tg.db"},
		{"postgres://tg:pw@db.internal:5432/tokengate?sslmode=require", BackendPostgres, "postgres://tg:pw@db.internal:5432/tokengate?sslmode=require"},
		{"postgresql://db/tokengate", BackendPostgres, "postgresql://db/tokengate"},
		{"postgres:///tokengate?host=/run/postgresql", BackendPostgres, "postgres:///tokengate?host=/run/postgresql"},
	} {
		kind, target, err := Database{URL: tc.url}.Backend("data")
		if err != nil || kind != tc.kind || target != tc.target {
			t.Errorf("Backend(%q) = %s, %s, %v; want %s, %s", tc.url, kind, target, err, tc.kind, tc.target)
		}
	}
}

// TestDatabaseURLInvalid: Validate reports a bad database URL, saying what
// is wrong without repeating the URL (nor its password).
func TestDatabaseURLInvalid(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"mysql://tg:s3cret@db/tokengate", `scheme "mysql"`},
		{"postgres://tg:s3cret@db:54x2/tokengate", "not a valid postgres URL"},
		{"postgres://tg:s3cret@db%zz/tokengate", "not a valid postgres URL"},
		{"postgres://tg:s3cret@/tokengate", "names no host"},
		{"postgres://tg:s3cret@db", "names no database"},
		{"postgres:tg:s3cret", "names no host"},
		{"s3cret-without-scheme", "is not a URL"},
		{"sqlite:", "must name a file"},
		{"sqlite::memory:", "must name a file"},
	} {
		c := Default()
		c.Database.URL = tc.url
		err := c.Validate()
		if err == nil {
			t.Errorf("Validate accepted database.url %q", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("database.url %q: error %q, want it to say %q", tc.url, err, tc.want)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("database.url %q: error quotes the URL: %q", tc.url, err)
		}
	}
}

// TestDatabaseURLSources: the URL comes from the file's database.url, then
// TOKENGATE_DATABASE_URL over it.
func TestDatabaseURLSources(t *testing.T) {
	path := t.TempDir() + "/tg.yaml"
	if err := os.WriteFile(path, []byte("database:\n  url: postgres://file-host/tokengate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Default()
	if err := c.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if c.Database.URL != "postgres://file-host/tokengate" {
		t.Fatalf("from the file: %q", c.Database.URL)
	}
	env := map[string]string{"TOKENGATE_DATABASE_URL": "postgres://env-host/tokengate"}
	if err := c.LoadEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.Database.URL != "postgres://env-host/tokengate" {
		t.Fatalf("from the environment: %q", c.Database.URL)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
