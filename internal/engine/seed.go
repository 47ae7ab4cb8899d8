package engine

import (
	"context"
	"fmt"

	"github.com/tokengate/tokengate/internal/store"
)

// SessionSeed asks SeedSessions for live sessions of one user.
type SessionSeed struct {
	UserID   string
	Service  string // sign-on service whose policy the sessions follow
	ClientID string
	Count    int
	// Batch is the number of sessions written per transaction; 0 means
	// 5000.
	Batch int
	// Progress, when set, is called after each batch with the running
	// total.
	Progress func(done int)
}

// SeedSessions writes Count live sessions of a user as a sign-on to the
// service would start them now, so that a load test can measure against a
// store holding as many sessions as a large deployment. No token is ever
// minted for them, so nothing can use them: they only take up room. They
// are written in batches without an audit event each and without the
// session limit, which they would otherwise trip at once. It returns how
// many it wrote.
func (e *Engine) SeedSessions(ctx context.Context, sd SessionSeed) (int, error) {
	if sd.Count < 0 {
		return 0, invalidRequest("session count must not be negative")
	}
	if sd.Batch <= 0 {
		sd.Batch = 5000
	}
	u, err := e.UserByID(ctx, sd.UserID)
	if err != nil {
		return 0, err
	}
	t, err := e.st.GetTenant(ctx, u.TenantID)
	if err != nil {
		return 0, err
	}
	p, err := e.PolicyFor(sd.Service, t.Name)
	if err != nil {
		return 0, invalidRequest("%v", err)
	}
	now := e.now()
	tmpl := store.Session{
		TenantID: t.ID, UserID: u.ID, ClientID: sd.ClientID, Service: p.Name, Policy: p.Refresh,
		RotatedAt: now, CreatedAt: now, LastUsedAt: now,
		IdleExpiresAt: now.Add(p.IdleTTL), AbsoluteExpiresAt: now.Add(p.AbsoluteTTL),
	}
	done := 0
	e.live.name(t)
	for done < sd.Count {
		k := min(sd.Batch, sd.Count-done)
		err := e.txLive(ctx, func(q store.Queries, lc liveChange) error {
			for range k {
				s := tmpl
				s.ID = e.newID()
				if err := q.CreateSession(ctx, s); err != nil {
					return err
				}
				lc.started(t)
			}
			return nil
		})
		if err != nil {
			return done, fmt.Errorf("seed sessions: %w", err)
		}
		done += k
		if sd.Progress != nil {
			sd.Progress(done)
		}
	}
	e.log.InfoContext(ctx, "seeded sessions", "tenant", t.Name, "user", u.Name, "service", p.Name, "count", done)
	return done, nil
}
