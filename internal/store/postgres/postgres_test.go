package postgres_test

import (
	"context"
	"testing"

	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/store/postgres"
	"github.com/tokengate/tokengate/internal/store/postgres/pgtest"
	"github.com/tokengate/tokengate/internal/store/storetest"
)

func open(t testing.TB, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, pgtest.URL(t)) })
}

// BenchmarkRefreshTx measures one refresh's transaction (see
// storetest.BenchRefreshTx) on the server pgtest finds.
func BenchmarkRefreshTx(b *testing.B) {
	storetest.BenchRefreshTx(b, open(b, pgtest.URL(b)))
}
