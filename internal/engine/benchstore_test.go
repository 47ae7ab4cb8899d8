package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/store/postgres"
	"github.com/tokengate/tokengate/internal/store/postgres/pgtest"
	"github.com/tokengate/tokengate/internal/store/sqlite"
)

// benchOpenStore opens the store the benchmarks run on: a SQLite file, or
// with TOKENGATE_BENCH_STORE=postgres a fresh schema on the PostgreSQL
// server of TOKENGATE_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/test):
//
//	TOKENGATE_BENCH_STORE=postgres go test -run '^$' -bench . ./internal/engine
func benchOpenStore(b *testing.B) store.Store {
	b.Helper()
	ctx := context.Background()
	var st store.Store
	var err error
	switch kind := os.Getenv("TOKENGATE_BENCH_STORE"); kind {
	case "", "sqlite":
		st, err = sqlite.Open(ctx, filepath.Join(b.TempDir(), "tokengate.db"))
	case "postgres":
		st, err = postgres.Open(ctx, pgtest.URL(b), postgres.Options{})
	default:
		b.Fatalf("TOKENGATE_BENCH_STORE=%q: want sqlite or postgres", kind)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}
