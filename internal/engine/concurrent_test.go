package engine_test

import (
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

// TestConcurrentRefreshOfOneToken refreshes the same rotating token from 50
// goroutines at once. The family must never fork: every success carries the
// same successor and the generation advances exactly once.
func TestConcurrentRefreshOfOneToken(t *testing.T) {
	const workers = 50
	e := newEnv(t)
	e.user("alice", true)
	g := e.signOn("alice", "oauth2")
	e.clock.Advance(time.Minute)

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		rts  = map[string]int{}
		errs []error
	)
	start := make(chan struct{})
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			n, err := e.refresh(g.RefreshToken)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			rts[n.RefreshToken]++
		}()
	}
	close(start)
	wg.Wait()
	// All requests fall inside the grace window, so none may fail.
	if len(errs) > 0 {
		t.Fatalf("%d of %d refreshes failed, first: %v", len(errs), workers, errs[0])
	}
	if len(rts) != 1 {
		t.Fatalf("%d distinct successors, want 1", len(rts))
	}
	s := e.session(g.Session.ID)
	if s.Generation != 1 || !s.RevokedAt.IsZero() {
		t.Fatalf("generation %d revoked %v; want 1, live", s.Generation, s.RevokedAt)
	}
	for rt := range rts {
		if c := e.claims(rt); c.Generation != 1 {
			t.Fatalf("successor generation %d", c.Generation)
		}
		if _, err := e.refresh(rt); err != nil {
			t.Fatalf("the successor does not refresh: %v", err)
		}
	}
}

// TestConcurrentRefreshAfterGrace races 50 refreshes of a token that is one
// generation old and past the grace window: every one must see reuse or a
// revoked session, and the family must end.
func TestConcurrentRefreshAfterGrace(t *testing.T) {
	const workers = 50
	e := newEnv(t)
	e.user("alice", true)
	g := e.signOn("alice", "oauth2")
	g1 := e.mustRefresh(g.RefreshToken)
	e.clock.Advance(grace + time.Second)

	var wg sync.WaitGroup
	errs := make([]error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.refresh(g.RefreshToken)
		}()
	}
	wg.Wait()
	reused := 0
	for _, err := range errs {
		switch {
		case err == nil:
			t.Fatal("a superseded token outside the grace window refreshed")
		case errorIs(err, engine.ErrTokenReused):
			reused++
		case errorIs(err, engine.ErrTokenRevoked):
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if reused != 1 {
		t.Fatalf("%d requests reported reuse, want exactly 1 (the one that revoked)", reused)
	}
	_, err := e.refresh(g1.RefreshToken)
	wantErr(t, err, engine.ErrTokenRevoked)
	if s := e.session(g.Session.ID); s.RevokeReason != "reuse" || s.Policy != store.PolicyRotating {
		t.Fatalf("revoke reason %q", s.RevokeReason)
	}
}
