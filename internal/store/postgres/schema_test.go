package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/store/postgres"
	"github.com/tokengate/tokengate/internal/store/postgres/pgtest"
)

// TestSearchPathWithoutSchema migrates, lists and opens a database whose
// URL names, in ?search_path=, a schema that does not exist. Each must say
// so, naming the schema and how to create it, and agree: a dry run that
// listed migrations to apply, then an apply failing with PostgreSQL's "no
// schema has been selected to create in", told the operator nothing.
func TestSearchPathWithoutSchema(t *testing.T) {
	ctx := context.Background()
	u, err := pgtest.WithSearchPath(pgtest.Server(t), "tg_no_such_schema")
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		if msg := err.Error(); !strings.Contains(msg, `"tg_no_such_schema"`) || !strings.Contains(msg, "CREATE SCHEMA") {
			t.Errorf("%s: %q does not name the missing schema and how to create it", what, msg)
		}
	}
	_, err = postgres.Migrate(ctx, u, true)
	check("dry run", err)
	_, err = postgres.Migrate(ctx, u, false)
	check("migrate", err)
	s, err := postgres.Open(ctx, u, postgres.Options{})
	if err == nil {
		s.Close()
	}
	check("open", err)
}
