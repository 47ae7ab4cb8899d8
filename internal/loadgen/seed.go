package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

// Seed inserts n live sessions modelled on tmpl (tenant, user, client,
// service, policy, lifetimes) directly through the store, batch rows per
// transaction, so that a bench can run against a store holding as many
// sessions as a large deployment. Each gets a random id. progress, when
// set, is called after each batch with the running total.
func Seed(ctx context.Context, st store.Store, tmpl store.Session, n, batch int, progress func(done int)) error {
	if batch <= 0 {
		batch = 5000
	}
	var raw [16]byte
	for done := 0; done < n; {
		k := min(batch, n-done)
		err := st.Tx(ctx, func(q store.Queries) error {
			for range k {
				s := tmpl
				if _, err := rand.Read(raw[:]); err != nil {
					return err
				}
				s.ID = base64.RawURLEncoding.EncodeToString(raw[:])
				if err := q.CreateSession(ctx, s); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("seed sessions: %w", err)
		}
		done += k
		if progress != nil {
			progress(done)
		}
	}
	return nil
}

// SeedTemplate is a live rotating session of user u in tenant t for client,
// as a password sign-on would start it at now.
func SeedTemplate(tenantID, userID, clientID, service string, now time.Time, idle, absolute time.Duration) store.Session {
	return store.Session{
		TenantID: tenantID, UserID: userID, ClientID: clientID, Service: service, Policy: store.PolicyRotating,
		RotatedAt: now, CreatedAt: now, LastUsedAt: now,
		IdleExpiresAt: now.Add(idle), AbsoluteExpiresAt: now.Add(absolute),
	}
}
