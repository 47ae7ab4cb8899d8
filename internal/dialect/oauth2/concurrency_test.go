package oauth2_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

// TestConcurrentRefreshOverHTTP sends one rotating refresh token 50 times
// at once: no response may be a 5xx, and every success carries the same
// successor.
func TestConcurrentRefreshOverHTTP(t *testing.T) {
	const workers = 50
	s := newServer(t, "")
	p := s.passwordGrant("bob")
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
		rts      = map[string]bool{}
	)
	start := make(chan struct{})
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := s.do(apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"refresh_token"}, "client_id": {"tokengate"}, "refresh_token": {p.RefreshToken}}})
			mu.Lock()
			defer mu.Unlock()
			statuses[r.Status]++
			if r.Status == http.StatusOK {
				var tp tokenPair
				if err := json.Unmarshal(r.Body, &tp); err == nil {
					rts[tp.RefreshToken] = true
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if statuses[http.StatusOK] != workers {
		t.Fatalf("statuses %v; want all %d answered 200 (inside the grace window)", statuses, workers)
	}
	if len(rts) != 1 {
		t.Fatalf("%d distinct successors, want 1", len(rts))
	}
	for rt := range rts {
		s.refreshGrant(rt)
	}
}

// TestSessionLimitOverHTTP signs one user on 20 times at once through the
// token endpoint, in a tenant that allows 5 live sessions under "reject".
func TestSessionLimitOverHTTP(t *testing.T) {
	const attempts, limit = 20, 5
	s := newServer(t, "")
	e := s.App.Engine
	if _, err := e.CreateTenant(s.ctx, engine.NewTenant{Name: "acme", MaxSessions: limit, SessionLimitPolicy: store.LimitReject}); err != nil {
		t.Fatal(err)
	}
	u, err := e.CreateUser(s.ctx, engine.NewUser{Tenant: "acme", Name: "zed", Password: password, RefreshEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.CreateClient(s.ctx, engine.NewClient{Tenant: "acme", ID: "acme-app", Public: true}); err != nil {
		t.Fatal(err)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[string]int{}
	)
	start := make(chan struct{})
	for range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := s.do(apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"password"}, "client_id": {"acme-app"}, "username": {"zed"}, "password": {password}}})
			key := "200"
			if r.Status != http.StatusOK {
				var body struct {
					Error string `json:"error"`
				}
				_ = json.Unmarshal(r.Body, &body)
				key = http.StatusText(r.Status) + " " + body.Error
			}
			mu.Lock()
			counts[key]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	if counts["200"] != limit || counts["Bad Request invalid_grant"] != attempts-limit {
		t.Fatalf("outcomes %v; want %d successes and %d invalid_grant", counts, limit, attempts-limit)
	}
	live, err := s.App.Store.ListSessions(s.ctx, store.SessionFilter{UserID: u.ID, LiveAt: s.Clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != limit {
		t.Fatalf("%d live sessions, want %d", len(live), limit)
	}
}
