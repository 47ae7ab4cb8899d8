package main

// Three `tokengate serve` processes on one PostgreSQL database, reaching it
// through a TCP forwarder the test can cut: a refresh family moves between
// nodes, a reuse is detected wherever it happens, a refresh race over the
// three nodes has one winner, a revocation at one node reaches another
// node's proxy within the revocation bound, a key rotated through one node
// is published by all before any signs with it, and the nodes outlive the
// database's absence.

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokengate/tokengate/internal/store/postgres/pgtest"
)

// pollUntil polls cond until it holds and returns how long that took,
// failing after a generous deadline (a loaded machine is only slow).
func pollUntil(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 90*time.Second {
			t.Fatalf("%s: not within 90 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// proxied is the status of GET /api/x through g's proxy with an access
// token.
func (g *gateway) proxied(access string) int {
	g.t.Helper()
	req, _ := http.NewRequest("GET", g.URL+"/api/x", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("GET %s/api/x: %v", g.URL, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestThreeNodesPostgres(t *testing.T) {
	db := pgtest.URL(t)
	fwd := pgtest.Forward(t, db)
	through := fwd.URL
	bin := buildTokengate(t)

	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"user":"`+r.Header.Get("X-Tokengate-User")+`"}`)
	}))
	t.Cleanup(up.Close)
	// Short key figures, so that a rotation signs within seconds; a long
	// grace window, so that a refresh race on a loaded machine stays
	// within it.
	cfgFile := filepath.Join(t.TempDir(), "tokengate.yaml")
	if err := os.WriteFile(cfgFile, []byte(`public_url: http://gateway.test
refresh:
  grace_window: 2m
keys:
  publish_lead: 4s
  reload_interval: 1s
  jwks_max_age: 1s
proxy:
  revocation_bound: 2s
  routes:
    - prefix: /api/
      upstream: `+up.URL+`/
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"TOKENGATE_MASTER_KEY=" + pgMasterKey, "TOKENGATE_ADMIN_PASSWORD=" + serveAdminPassword}
	run := func(stdin string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append(args, "--config", cfgFile, "--db", db, "--data", t.TempDir())...)
		cmd.Env = hermeticEnv(env...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("tokengate %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	var nodes []*gateway
	for range 3 {
		addr := freeAddr(t)
		nodes = append(nodes, startServe(t, bin, "http://"+addr,
			[]string{"serve", "--config", cfgFile, "--db", through, "--data", t.TempDir(), "--listen", addr}, env...))
	}
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	run(serveBobPassword+"\n", "user", "add", "bob", "--password-stdin", "--refresh-enabled")

	t.Run("reuse across nodes", func(t *testing.T) {
		p0 := n1.password("bob", serveBobPassword)
		if p0.status != 200 {
			t.Fatalf("sign-on at node 1: %d %s", p0.status, p0.raw)
		}
		p1 := n2.refresh(p0.str("refresh_token"))
		if p1.status != 200 || p1.str("refresh_token") == p0.str("refresh_token") {
			t.Fatalf("refresh at node 2: %d %s", p1.status, p1.raw)
		}
		// p0 is the immediately previous token, within the grace window:
		// a retry gets the same successor; the successor's successor makes
		// p0 two generations old, and then it is reuse.
		p2 := n1.refresh(p1.str("refresh_token"))
		if p2.status != 200 {
			t.Fatalf("refresh at node 1: %d %s", p2.status, p2.raw)
		}
		r := n3.refresh(p0.str("refresh_token"))
		if r.status != 400 || r.str("error") != "invalid_grant" || !strings.Contains(r.str("error_description"), "reused") {
			t.Fatalf("old token at node 3: %d %s; want invalid_grant for reuse", r.status, r.raw)
		}
		for _, g := range nodes {
			if r := g.refresh(p2.str("refresh_token")); r.status != 400 || !strings.Contains(r.str("error_description"), "revoked") {
				t.Fatalf("the family's newest token at %s after the reuse: %d %s; want revoked", g.URL, r.status, r.raw)
			}
		}
		pollUntil(t, "node 1's proxy refuses the reused family's access token", func() bool { return n1.proxied(p2.str("access_token")) == 401 })
	})

	t.Run("refresh race over three nodes", func(t *testing.T) {
		p0 := n2.password("bob", serveBobPassword)
		if p0.status != 200 {
			t.Fatalf("sign-on: %d %s", p0.status, p0.raw)
		}
		const n = 30
		answers := make([]httpAnswer, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				answers[i] = nodes[i%3].refresh(p0.str("refresh_token"))
			}()
		}
		close(start)
		wg.Wait()
		successors := map[string]bool{}
		for i, a := range answers {
			if a.status >= 500 {
				t.Errorf("refresh %d at node %d: %d %s", i, i%3+1, a.status, a.raw)
			}
			if a.status == 200 {
				successors[a.str("refresh_token")] = true
			}
		}
		if len(successors) != 1 {
			t.Fatalf("%d distinct successors, want exactly one", len(successors))
		}
		var rt string
		for rt = range successors {
		}
		if r := n3.refresh(rt); r.status != 200 {
			t.Fatalf("the one successor, refreshed at node 3: %d %s", r.status, r.raw)
		}
	})

	t.Run("revocation reaches another node's proxy", func(t *testing.T) {
		g := n1.password("bob", serveBobPassword)
		if g.status != 200 {
			t.Fatalf("sign-on: %d %s", g.status, g.raw)
		}
		at := g.str("access_token")
		if got := n3.proxied(at); got != 200 {
			t.Fatalf("node 3's proxy before the revocation: %d", got)
		}
		r := postForm(t, n1.URL+"/oauth2/revoke", url.Values{"token": {g.str("refresh_token")}, "client_id": {"tokengate"}})
		if r.status != 200 {
			t.Fatalf("revoke at node 1: %d %s", r.status, r.raw)
		}
		took := pollUntil(t, "node 3's proxy refuses the revoked session's access token", func() bool { return n3.proxied(at) == 401 })
		t.Logf("node 3's proxy refused the token %v after node 1 revoked it (bound 2s)", took.Round(time.Millisecond))
	})

	t.Run("key rotation through node 2", func(t *testing.T) {
		before := n1.password("bob", serveBobPassword)
		if before.status != 200 {
			t.Fatalf("sign-on: %d %s", before.status, before.raw)
		}
		oldKid, _ := jwtPart(t, before.str("access_token"), 0)["kid"].(string)
		out := run("", "key", "rotate")
		fields := strings.Fields(out)
		if len(fields) < 3 || fields[0] != "new" {
			t.Fatalf("key rotate: %s", out)
		}
		newKid := fields[2]
		// Published by every node before any signs with it: until each
		// node's JWKS lists the key, every token any node issues carries
		// the old one (the publish lead is 4 s; the nodes hear of the key
		// at once, or within their 1 s reload).
		i := 0
		pollUntil(t, "every node's JWKS lists the rotated key", func() bool {
			all := true
			for _, g := range nodes {
				all = all && slices.Contains(g.jwksKids(), newKid)
			}
			if !all {
				i++
				tok := nodes[i%3].password("bob", serveBobPassword)
				if kid, _ := jwtPart(t, tok.str("access_token"), 0)["kid"].(string); kid == newKid {
					t.Fatalf("node %d signs with key %s before every node publishes it", i%3+1, newKid)
				}
			}
			return all
		})
		var after httpAnswer
		pollUntil(t, "a node signs with the rotated key", func() bool {
			after = nodes[time.Now().Nanosecond()%3].password("bob", serveBobPassword)
			kid, _ := jwtPart(t, after.str("access_token"), 0)["kid"].(string)
			if kid != oldKid && kid != newKid {
				t.Fatalf("a token signed with key %q, neither the old nor the new", kid)
			}
			return kid == newKid
		})
		for _, g := range nodes {
			for name, tok := range map[string]string{"before": before.str("access_token"), "after": after.str("access_token")} {
				if got := g.proxied(tok); got != 200 {
					t.Errorf("%s's proxy with the token signed %s the rotation: %d", g.URL, name, got)
				}
			}
		}
	})

	t.Run("the database cut off and back", func(t *testing.T) {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, db) // the test's own way in, not cut
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		sessions := func() (n int) {
			t.Helper()
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM sessions`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		warm := n1.password("bob", serveBobPassword)
		if warm.status != 200 || n3.proxied(warm.str("access_token")) != 200 {
			t.Fatalf("sign-on and proxy before the cut: %d %s", warm.status, warm.raw)
		}
		had := sessions()
		fwd.Cut()
		unavailable := func(what string, g *gateway, a httpAnswer) {
			t.Helper()
			if a.status != http.StatusServiceUnavailable || a.retryAfter == "" || a.str("error") == "" {
				t.Fatalf("%s at %s without a database: %d (Retry-After %q) %s; want 503 with Retry-After in OAuth 2.0's shape\nthe node's log:\n%s",
					what, g.URL, a.status, a.retryAfter, a.raw, g.stderr)
			}
		}
		for _, g := range nodes {
			unavailable("sign-on", g, g.password("bob", serveBobPassword))
			unavailable("refresh", g, g.refresh(warm.str("refresh_token")))
		}
		unavailable("revocation", n2, postForm(t, n2.URL+"/oauth2/revoke", url.Values{"token": {warm.str("refresh_token")}, "client_id": {"tokengate"}}))
		// The proxy fails closed once it cannot establish that the session
		// is live: at the latest when its cached answer is older than the
		// bound.
		pollUntil(t, "node 3's proxy fails closed without a database", func() bool { return n3.proxied(warm.str("access_token")) == http.StatusServiceUnavailable })
		if got := sessions(); got != had {
			t.Fatalf("%d sessions after sign-ons without a database, had %d", got, had)
		}
		// Back, at the same address: the nodes' pools and listeners
		// connect again by themselves.
		fwd.Restore(t)
		if r := n2.refresh(warm.str("refresh_token")); r.status != 200 {
			t.Fatalf("the refresh token of before the cut, after it: %d %s", r.status, r.raw)
		}
		var g httpAnswer
		for _, node := range nodes {
			pollUntil(t, "the node signs on again", func() bool { g = node.password("bob", serveBobPassword); return g.status == 200 })
		}
		// Notifications flow again: a revocation reaches node 3's proxy.
		at := g.str("access_token")
		if got := n3.proxied(at); got != 200 {
			t.Fatalf("node 3's proxy after the database returned: %d", got)
		}
		if r := postForm(t, n1.URL+"/oauth2/revoke", url.Values{"token": {g.str("refresh_token")}, "client_id": {"tokengate"}}); r.status != 200 {
			t.Fatalf("revoke at node 1: %d %s", r.status, r.raw)
		}
		pollUntil(t, "node 3's proxy refuses the revoked token", func() bool { return n3.proxied(at) == 401 })
	})

	for _, g := range nodes {
		if logs := g.stderr.String(); strings.Contains(logs, serveBobPassword) {
			t.Errorf("%s logged a password", g.URL)
		}
	}
}
