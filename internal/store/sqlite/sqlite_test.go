package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/store/sqlite"
	"github.com/tokengate/tokengate/internal/store/storetest"
)

func open(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := open(t, filepath.Join(t.TempDir(), "tg.db"))
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	})
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tg.db")
	s := open(t, path)
	tn := store.Tenant{ID: "t", Name: "acme", CreatedAt: time.UnixMilli(1700000000123).UTC()}
	if err := s.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t, path) // migrations already applied: a no-op
	defer s.Close()
	got, err := s.GetTenant(ctx, tn.ID)
	if err != nil {
		t.Fatalf("after reopen: %v", err)
	}
	if got != tn {
		t.Fatalf("after reopen got %+v, want %+v", got, tn)
	}
}

func TestOpenRefusesMemory(t *testing.T) {
	if _, err := sqlite.Open(context.Background(), ":memory:"); err == nil {
		t.Fatal("Open(:memory:) succeeded")
	}
}

// BenchmarkRefreshTx measures one refresh: a transaction that reads a
// session for update and writes it back with the next generation.
func BenchmarkRefreshTx(b *testing.B) {
	ctx := context.Background()
	s := open(b, filepath.Join(b.TempDir(), "tg.db"))
	defer s.Close()
	now := time.Now().UTC().Truncate(time.Millisecond)
	must(b, s.CreateTenant(ctx, store.Tenant{ID: "t", Name: "acme"}))
	must(b, s.CreateUser(ctx, store.User{ID: "u", TenantID: "t", Name: "alice"}))
	const sessions = 1000
	for i := range sessions {
		must(b, s.CreateSession(ctx, store.Session{
			ID: fmt.Sprintf("session-%04d", i), TenantID: "t", UserID: "u", Service: "oauth2",
			Policy: store.PolicyRotating, CreatedAt: now, LastUsedAt: now,
			IdleExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(24 * time.Hour),
		}))
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("session-%04d", i%sessions)
		must(b, s.Tx(ctx, func(q store.Queries) error {
			x, err := q.GetSessionForUpdate(ctx, id)
			if err != nil {
				return err
			}
			x.Generation++
			x.RotatedAt, x.LastUsedAt = now, now
			x.IdleExpiresAt = now.Add(time.Hour)
			return q.UpdateSession(ctx, x)
		}))
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// TestTxAfterClose: a transaction on a closed store fails (every queued
// caller gets an answer) rather than hanging, and the store is not left
// locked for the next caller.
func TestTxAfterClose(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "tg.db"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() {
			errs <- s.Tx(ctx, func(q store.Queries) error { return q.SetMeta(ctx, "k", "v") })
		}()
	}
	for range cap(errs) {
		if err := <-errs; err == nil {
			t.Fatal("Tx on a closed store succeeded")
		}
	}
}
