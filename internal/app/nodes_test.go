package app_test

// Several nodes on one PostgreSQL database, in one process: each an
// app.App of its own (its own pool, engine, caches, proxy) over the same
// schema, with the same master key and public URL, and one fake clock
// that never moves unless a test moves it. Whatever reaches another node
// while the clock stands still was carried by the store's notifications:
// no cache of the node expired meanwhile.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/fakeclock"
	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/store/postgres/pgtest"
)

const nodesMasterKey = "8899aabbccddeeff00112233445566778899aabbccddeeff0011223344556677"

type node struct {
	a   *app.App
	url string
}

// startNodes opens n nodes on a new schema, runs their background work
// and waits until each listens to the store's notifications.
func startNodes(t *testing.T, n int, clock *fakeclock.Clock) []*node {
	t.Helper()
	ctx := context.Background()
	db := pgtest.URL(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"member": r.Header.Get("X-Tokengate-Membership")})
	}))
	t.Cleanup(up.Close)
	var nodes []*node
	for i := range n {
		cfg := config.Default()
		cfg.DataDir = t.TempDir()
		cfg.Database.URL = db
		cfg.PublicURL = "http://gateway.test"
		cfg.Password.MemoryKiB, cfg.Password.Iterations = 8192, 1
		cfg.Proxy.Routes = []config.ProxyRoute{{Prefix: "/risk/", Upstream: up.URL + "/"}}
		a, err := app.Open(ctx, cfg, nil, app.Options{Now: clock.Now, MasterKey: nodesMasterKey, Registerer: true})
		if err != nil {
			t.Fatalf("node %d: %v", i+1, err)
		}
		t.Cleanup(func() { a.Close() })
		if i == 0 {
			if _, err := a.Engine.Bootstrap(ctx, "admin-pass-1"); err != nil {
				t.Fatal(err)
			}
		}
		ts := httptest.NewServer(a.Handler())
		t.Cleanup(ts.Close)
		bg, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); a.Engine.Run(bg, a.KeyReload()) }()
		t.Cleanup(func() { cancel(); <-done })
		nodes = append(nodes, &node{a: a, url: ts.URL})
	}
	for _, nd := range nodes {
		eventually(t, "node listening", func() bool { return gauge(t, nd.a, "tokengate_store_listening") == 1 })
	}
	return nodes
}

// gauge reads an unlabelled gauge of a node's registry.
func gauge(t *testing.T, a *app.App, name string) float64 {
	t.Helper()
	mfs, err := a.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

// eventually polls cond until it holds, failing after a generous minute.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (n *node) token(t *testing.T, user, pass, client string) (access, refresh string) {
	t.Helper()
	resp, err := http.PostForm(n.url+"/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {client}, "username": {user}, "password": {pass}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("password grant at %s: %d %v", n.url, resp.StatusCode, m)
	}
	r, _ := m["refresh_token"].(string)
	return m["access_token"].(string), r
}

// proxied is the status of a request through the node's proxy.
func (n *node) proxied(t *testing.T, access, member string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", n.url+"/risk/x", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	if member != "" {
		req.Header.Set("UserID", member)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestNodesHearChanges: a revoked session, a disabled user, a disabled
// client, a removed membership and a revoked signing key reach the other
// node's proxy, its client records and its key ring while no clock moves,
// so through the store's notifications, and well within the revocation
// bound in real time (checked with a generous deadline, never asserted).
func TestNodesHearChanges(t *testing.T) {
	clock := fakeclock.New(time.Now().Truncate(time.Second))
	nodes := startNodes(t, 2, clock)
	a, b := nodes[0], nodes[1]
	ctx := context.Background()
	ea := a.a.Engine
	for _, name := range []string{"alice", "bob", "carol"} {
		if _, err := ea.CreateUser(ctx, engine.NewUser{Name: name, Password: name + "-pass-1", RefreshEnabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	for _, org := range []string{"north", "south"} {
		if _, err := ea.CreateOrganisation(ctx, "", org, ""); err != nil {
			t.Fatal(err)
		}
	}
	mNorth, err := ea.AddMembership(ctx, engine.NewMembership{User: "alice", Organisation: "north"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ea.AddMembership(ctx, engine.NewMembership{User: "alice", Organisation: "south"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ea.CreateClient(ctx, engine.NewClient{ID: "mobile", Public: true, GrantTypes: []string{"password", "refresh_token"}}); err != nil {
		t.Fatal(err)
	}

	alice, _ := a.token(t, "alice", "alice-pass-1", "tokengate")
	alice2, _ := a.token(t, "alice", "alice-pass-1", "tokengate")
	bob, _ := a.token(t, "bob", "bob-pass-1", "tokengate")
	carol, _ := a.token(t, "carol", "carol-pass-1", "mobile")
	for i, tok := range []string{alice, bob, carol} {
		member := ""
		if tok == alice {
			member = mNorth.ID
		}
		if got := b.proxied(t, tok, member); got != http.StatusOK {
			t.Fatalf("node 2's proxy before any change, token %d: %d", i, got)
		}
	}
	if got := b.proxied(t, alice2, mNorth.ID); got != http.StatusOK {
		t.Fatalf("node 2's proxy, alice as a member of north: %d", got)
	}
	refused := func(tok, member string) func() bool {
		return func() bool { return b.proxied(t, tok, member) == http.StatusUnauthorized }
	}

	// The session: revoked at node 1.
	sid := claims(t, alice)["sid"].(string)
	if err := ea.RevokeSession(ctx, sid, "test"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "node 2 refuses a session revoked at node 1", refused(alice, mNorth.ID))
	if got := b.proxied(t, alice2, mNorth.ID); got != http.StatusOK {
		t.Fatalf("node 2 refuses alice's other session too: %d", got)
	}

	// The membership: removed at node 1.
	// (With two memberships a request must name one; with one left, it
	// need not.)
	if got := b.proxied(t, alice2, ""); got != http.StatusUnauthorized {
		t.Fatalf("node 2's proxy, alice in two organisations naming none: %d", got)
	}
	if _, err := ea.RemoveMembership(ctx, mNorth.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "node 2 forgets a membership removed at node 1", func() bool { return b.proxied(t, alice2, "") == http.StatusOK })

	// The user: disabled at node 1.
	bobUser, err := ea.User(ctx, "", "bob")
	if err != nil {
		t.Fatal(err)
	}
	disabled := true
	if _, err := ea.UpdateUser(ctx, bobUser.ID, engine.UserUpdate{Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "node 2 refuses a user disabled at node 1", refused(bob, ""))

	// The client: disabled at node 1; its sessions' tokens stop at node 2,
	// and so does the client itself.
	if _, err := ea.DisableClient(ctx, "", "mobile"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "node 2 refuses the tokens of a client disabled at node 1", refused(carol, ""))
	if _, err := b.a.Engine.AuthenticateClient(ctx, "mobile", ""); !errors.Is(err, engine.ErrInvalidClient) && !errors.Is(err, engine.ErrUnauthorizedClient) {
		t.Fatalf("node 2 authenticates a client disabled at node 1: %v", err)
	}

	// The key: revoked at node 1, which signs with a new one at once.
	fresh, _ := a.token(t, "alice", "alice-pass-1", "tokengate")
	if got := b.proxied(t, fresh, ""); got != http.StatusOK {
		t.Fatalf("node 2's proxy with a fresh token: %d", got)
	}
	kid := header(t, fresh)["kid"].(string)
	if _, err := ea.RevokeKey(ctx, "", kid); err != nil {
		t.Fatal(err)
	}
	eventually(t, "node 2 refuses a token of a key revoked at node 1", refused(fresh, ""))
	after, _ := a.token(t, "alice", "alice-pass-1", "tokengate")
	if header(t, after)["kid"] == kid {
		t.Fatal("node 1 signs with the revoked key")
	}
	eventually(t, "node 2 trusts node 1's new key", func() bool { return b.proxied(t, after, "") == http.StatusOK })
	if !strings.Contains(string(b.a.Ring.JWKS()), header(t, after)["kid"].(string)) || strings.Contains(string(b.a.Ring.JWKS()), kid) {
		t.Fatalf("node 2's JWKS: %s; want the new key and not %s", b.a.Ring.JWKS(), kid)
	}
}

func jwtJSON(t *testing.T, tok string, part int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[part])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func claims(t *testing.T, tok string) map[string]any { return jwtJSON(t, tok, 1) }
func header(t *testing.T, tok string) map[string]any { return jwtJSON(t, tok, 0) }

// TestNodesSessionLimitRace: sign-ons of one user racing on two nodes
// never exceed the tenant's session limit, under either policy.
func TestNodesSessionLimitRace(t *testing.T) {
	clock := fakeclock.New(time.Now().Truncate(time.Second))
	nodes := startNodes(t, 2, clock)
	ctx := context.Background()
	e := nodes[0].a.Engine
	for _, tc := range []struct {
		user   string
		policy store.LimitPolicy
	}{{"rita", store.LimitReject}, {"olga", store.LimitEndOldest}} {
		t.Run(string(tc.policy), func(t *testing.T) {
			tenant := "t-" + tc.user
			if _, err := e.CreateTenant(ctx, engine.NewTenant{Name: tenant, MaxSessions: 2, SessionLimitPolicy: tc.policy}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.CreateUser(ctx, engine.NewUser{Tenant: tenant, Name: tc.user, Password: tc.user + "-pass-1", RefreshEnabled: true}); err != nil {
				t.Fatal(err)
			}
			const n = 8
			var wg sync.WaitGroup
			errs := make([]error, n)
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, errs[i] = nodes[i%2].a.Engine.SignOnPassword(ctx, engine.SignOnRequest{Tenant: tenant, Service: engine.ServiceOAuth2,
						ClientID: "tokengate", Username: tc.user, Password: tc.user + "-pass-1"})
				}()
			}
			close(start)
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case errors.Is(err, engine.ErrSessionLimit) && tc.policy == store.LimitReject:
				default:
					t.Errorf("sign-on: %v", err)
				}
			}
			u, err := e.User(ctx, tenant, tc.user)
			if err != nil {
				t.Fatal(err)
			}
			live, err := e.Sessions(ctx, engine.SessionQuery{Tenant: tenant, User: u.Name})
			if err != nil {
				t.Fatal(err)
			}
			want := 2
			if tc.policy == store.LimitEndOldest {
				want = n // every sign-on succeeds, ending the oldest
			}
			if ok != want || len(live) != 2 {
				t.Fatalf("%d sign-ons succeeded (want %d), %d sessions live (want 2)", ok, want, len(live))
			}
		})
	}
}

// TestNodesPurgeOneAtATime: while one node purges (holds the purge lock),
// another skips its round; once released, it purges.
func TestNodesPurgeOneAtATime(t *testing.T) {
	clock := fakeclock.New(time.Now().Truncate(time.Second))
	nodes := startNodes(t, 2, clock)
	ctx := context.Background()
	e := nodes[0].a.Engine
	if _, err := e.CreateUser(ctx, engine.NewUser{Name: "dora", Password: "dora-pass-1", RefreshEnabled: true}); err != nil {
		t.Fatal(err)
	}
	g, err := e.SignOnPassword(ctx, engine.SignOnRequest{Service: engine.ServiceOAuth2, ClientID: "tokengate", Username: "dora", Password: "dora-pass-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.RevokeSession(ctx, g.Session.ID, "test"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(engine.PurgeRetention + time.Hour)
	release, ok, err := nodes[0].a.Store.(store.Locker).TryLock(ctx, engine.PurgeLock)
	if err != nil || !ok {
		t.Fatalf("take the purge lock: %v %v", ok, err)
	}
	if nodes[1].a.Engine.Purge(ctx, 10, 10) {
		t.Fatal("node 2 purged while node 1 held the purge lock")
	}
	if _, err := nodes[1].a.Store.GetSession(ctx, g.Session.ID); err != nil {
		t.Fatalf("the dead session is gone while the lock was held: %v", err)
	}
	release()
	if !nodes[1].a.Engine.Purge(ctx, 10, 10) {
		t.Fatal("node 2 did not purge once the lock was free")
	}
	if _, err := nodes[1].a.Store.GetSession(ctx, g.Session.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the dead session after the purge: %v; want it deleted", err)
	}
}
