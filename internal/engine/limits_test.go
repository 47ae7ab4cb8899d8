package engine_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

// TestSessionLimitConcurrentSignOns signs one user on 20 times at once in a
// tenant that allows 5 live sessions per user.
func TestSessionLimitConcurrentSignOns(t *testing.T) {
	const (
		limit    = 5
		attempts = 20
	)
	for _, tc := range []struct {
		policy store.LimitPolicy
		wantOK int
	}{
		{store.LimitReject, limit},
		{store.LimitEndOldest, attempts},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			e := newEnv(t)
			if _, err := e.eng.CreateTenant(e.ctx, engine.NewTenant{Name: "acme", MaxSessions: limit, SessionLimitPolicy: tc.policy}); err != nil {
				t.Fatal(err)
			}
			u := e.userIn("acme", "hank", true)
			var (
				wg          sync.WaitGroup
				mu          sync.Mutex
				ok, limited int
				unexpected  []error
				grants      []*engine.Grant
			)
			start := make(chan struct{})
			for range attempts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					g, err := e.eng.SignOnPassword(e.ctx, engine.SignOnRequest{Tenant: "acme", Service: "oauth2", Username: "hank", Password: password})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						ok++
						grants = append(grants, g)
					case errors.Is(err, engine.ErrSessionLimit):
						limited++
					default:
						unexpected = append(unexpected, err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if len(unexpected) > 0 {
				t.Fatalf("unexpected errors: %v", unexpected)
			}
			if ok != tc.wantOK || ok+limited != attempts {
				t.Fatalf("%d sign-ons succeeded and %d hit the limit; want %d and %d", ok, limited, tc.wantOK, attempts-tc.wantOK)
			}
			if n := e.liveSessions(u.ID); n != limit {
				t.Fatalf("%d live sessions, want exactly %d", n, limit)
			}
			live := 0
			for _, g := range grants {
				if _, err := e.eng.SessionLive(e.ctx, g.Session.ID); err == nil {
					live++
				} else if !errors.Is(err, engine.ErrTokenRevoked) {
					t.Fatalf("session %s: %v", g.Session.ID, err)
				}
			}
			if live != limit {
				t.Fatalf("%d of the granted sessions are live, want %d", live, limit)
			}
		})
	}
}

func TestSessionLimitEndOldestKeepsNewest(t *testing.T) {
	e := newEnv(t)
	if _, err := e.eng.CreateTenant(e.ctx, engine.NewTenant{Name: "acme", MaxSessions: 2, SessionLimitPolicy: store.LimitEndOldest}); err != nil {
		t.Fatal(err)
	}
	e.userIn("acme", "ivy", true)
	var gs []*engine.Grant
	for range 3 {
		g, err := e.eng.SignOnPassword(e.ctx, engine.SignOnRequest{Tenant: "acme", Service: "oauth2", Username: "ivy", Password: password})
		if err != nil {
			t.Fatal(err)
		}
		gs = append(gs, g)
		e.clock.Advance(1e9)
	}
	_, err := e.eng.Refresh(e.ctx, engine.RefreshRequest{Token: gs[0].RefreshToken})
	wantErr(t, err, engine.ErrTokenRevoked)
	if s := e.session(gs[0].Session.ID); s.RevokeReason != "session_limit" {
		t.Fatalf("revoke reason %q", s.RevokeReason)
	}
	for _, g := range gs[1:] {
		if _, err := e.eng.Refresh(e.ctx, engine.RefreshRequest{Token: g.RefreshToken}); err != nil {
			t.Fatalf("newer session: %v", err)
		}
	}
}

// TestSessionLimitLeavesAPITokensAlone: API tokens neither count toward
// the limit nor are ended by it, and creating one is not limited by it.
func TestSessionLimitLeavesAPITokensAlone(t *testing.T) {
	for _, policy := range []store.LimitPolicy{store.LimitReject, store.LimitEndOldest} {
		t.Run(string(policy), func(t *testing.T) {
			e := newEnv(t)
			if _, err := e.eng.CreateTenant(e.ctx, engine.NewTenant{Name: "acme", MaxSessions: 1, SessionLimitPolicy: policy}); err != nil {
				t.Fatal(err)
			}
			u := e.userIn("acme", "ivy", true)
			var tokens []*engine.Grant
			for _, label := range []string{"ci", "laptop"} {
				g, err := e.eng.CreateAPIToken(e.ctx, engine.APITokenRequest{User: u.ID, Label: label, ByAdministrator: true})
				if err != nil {
					t.Fatalf("API token %s beyond the limit: %v", label, err)
				}
				tokens = append(tokens, g)
				e.clock.Advance(1e9)
			}
			signOn := func() (*engine.Grant, error) {
				return e.eng.SignOnPassword(e.ctx, engine.SignOnRequest{Tenant: "acme", Service: "oauth2", Username: "ivy", Password: password})
			}
			first, err := signOn()
			if err != nil {
				t.Fatalf("first sign-on with two API tokens live: %v", err)
			}
			e.clock.Advance(1e9)
			_, err = signOn()
			if policy == store.LimitReject {
				wantErr(t, err, engine.ErrSessionLimit)
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if s := e.session(first.Session.ID); s.RevokeReason != "session_limit" {
					t.Fatalf("first sign-on's session: revoke reason %q, want session_limit", s.RevokeReason)
				}
			}
			for _, g := range tokens {
				if s := e.session(g.Session.ID); !s.RevokedAt.IsZero() {
					t.Fatalf("API token %s ended by the limit (%s)", s.Label, s.RevokeReason)
				}
			}
		})
	}
}
