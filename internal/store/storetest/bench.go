package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

// BenchRefreshTx measures one refresh as the engine runs it against s: a
// transaction that locks a session, reads its user and tenant, and writes
// it back with the next generation, one after another (the latency of a
// refresh's database work). s must be empty; the refreshes rotate over
// 1,000 sessions.
func BenchRefreshTx(b *testing.B, s store.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(s.CreateTenant(ctx, store.Tenant{ID: "t", Name: "acme"}))
	must(s.CreateUser(ctx, store.User{ID: "u", TenantID: "t", Name: "alice"}))
	const sessions = 1000
	for i := range sessions {
		must(s.CreateSession(ctx, store.Session{
			ID: fmt.Sprintf("session-%04d", i), TenantID: "t", UserID: "u", Service: "oauth2",
			Policy: store.PolicyRotating, CreatedAt: now, LastUsedAt: now,
			IdleExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(24 * time.Hour),
		}))
	}
	refresh := func(id string) error {
		return s.Tx(ctx, func(q store.Queries) error {
			x, err := q.GetSessionForUpdate(ctx, id)
			if err != nil {
				return err
			}
			if _, err := q.GetUser(ctx, x.UserID); err != nil {
				return err
			}
			if _, err := q.GetTenant(ctx, x.TenantID); err != nil {
				return err
			}
			x.Generation++
			x.RotatedAt, x.LastUsedAt = now, now
			x.IdleExpiresAt = now.Add(time.Hour)
			return q.UpdateSession(ctx, x)
		})
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		must(refresh(fmt.Sprintf("session-%04d", i%sessions)))
	}
}
