package engine_test

import (
	"testing"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

// TestSeedSessions: seeded sessions are live sessions of the user under the
// service's policy and lifetimes, written in batches.
func TestSeedSessions(t *testing.T) {
	e := newEnv(t)
	u := e.user("seed", true)
	var batches []int
	n, err := e.eng.SeedSessions(e.ctx, engine.SessionSeed{UserID: u.ID, Service: "oauth2", ClientID: engine.DefaultClientID,
		Count: 25, Batch: 10, Progress: func(done int) { batches = append(batches, done) }})
	if err != nil || n != 25 {
		t.Fatalf("SeedSessions = %d, %v", n, err)
	}
	if len(batches) != 3 || batches[0] != 10 || batches[2] != 25 {
		t.Errorf("progress %v, want 10 20 25", batches)
	}
	if live := e.liveSessions(u.ID); live != 25 {
		t.Fatalf("%d live sessions, want 25", live)
	}
	ss, err := e.eng.Sessions(e.ctx, engine.SessionQuery{User: "seed"})
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	for _, s := range ss {
		if s.Policy != store.PolicyRotating || s.Service != "oauth2" || s.ClientID != engine.DefaultClientID ||
			!s.AbsoluteExpiresAt.Equal(now.Add(absoluteTTL)) || !s.IdleExpiresAt.Equal(now.Add(idleTTL)) {
			t.Fatalf("seeded session %+v", s)
		}
	}
	_, err = e.eng.SeedSessions(e.ctx, engine.SessionSeed{UserID: "nobody", Service: "oauth2", Count: 1})
	wantErr(t, err, engine.ErrUnknownUser)
	_, err = e.eng.SeedSessions(e.ctx, engine.SessionSeed{UserID: u.ID, Service: "nope", Count: 1})
	wantErr(t, err, engine.ErrInvalidRequest)
}
