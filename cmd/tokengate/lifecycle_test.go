package main

// The lifecycle commands (client disable|enable|remove, client secret
// rotate, key revoke, user rename, tenant remove) run as processes on the
// data directory of a running server, which sees each change: a client
// change within the engine's client cache bound (2 s), a key change within
// keys.reload_interval (1 s here). The waits poll for the change, bounded
// only by hangBound: how soon it comes is never asserted.

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// eventually polls cond until it holds, failing after hangBound.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Since(start) > hangBound {
			t.Fatalf("%s: not after %s", what, hangBound)
		}
	}
}

func testLifecycleWhileServing(t *testing.T, bin string) {
	dir := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "tokengate.yaml")
	if err := os.WriteFile(cfg, []byte("keys:\n  reload_interval: 1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, bin, dir, freeAddr(t), cfg, "TOKENGATE_ADMIN_PASSWORD="+serveAdminPassword)
	secretOf := func(out string) string {
		t.Helper()
		m := regexp.MustCompile(`client_secret:\s+(\S+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no client_secret printed:\n%s", out)
		}
		return m[1]
	}
	cc := func(secret string) int {
		return postForm(t, g.URL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, "app", secret).status
	}
	var secrets []string

	// Secret rotation: with an overlap both work; without, the previous
	// one stops, once the server's remembered record has aged out.
	s1 := secretOf(mustCLI(t, bin, dir, "", "client", "add", "app"))
	if cc(s1) != 200 {
		t.Fatal("client credentials with the first secret")
	}
	out, errOut, err := cli(t, bin, dir, "", "client", "secret", "rotate", "app", "--overlap", "1h")
	if err != nil || strings.Count(out, "client_secret:") != 1 || !strings.Contains(out, "shown once") ||
		!strings.Contains(out, "previous secret works until") || errOut != "" {
		t.Fatalf("client secret rotate --overlap 1h: %v\n%s%s", err, out, errOut)
	}
	s2 := secretOf(out)
	for name, s := range map[string]string{"old secret within the overlap": s1, "new secret": s2} {
		if code := cc(s); code != 200 {
			t.Fatalf("%s: %d", name, code)
		}
	}
	out = mustCLI(t, bin, dir, "", "client", "secret", "rotate", "app")
	if !strings.Contains(out, "previous secret no longer works") {
		t.Fatalf("client secret rotate without overlap:\n%s", out)
	}
	s3 := secretOf(out)
	if code := cc(s3); code != 200 {
		t.Fatalf("newest secret: %d", code)
	}
	eventually(t, "the previous secret refused", func() bool { return cc(s2) == 401 })
	if code := cc(s1); code != 401 {
		t.Fatalf("the first secret after two rotations: %d", code)
	}
	secrets = append(secrets, s1, s2, s3)

	// Disable and enable.
	if out := mustCLI(t, bin, dir, "", "client", "disable", "app"); !strings.Contains(out, "client app disabled") {
		t.Fatalf("client disable: %s", out)
	}
	eventually(t, "the disabled client refused", func() bool { return cc(s3) == 401 })
	type listedClient struct {
		ID       string `json:"client_id"`
		Disabled bool   `json:"disabled"`
	}
	var listed []listedClient
	out = mustCLI(t, bin, dir, "", "client", "list", "--json")
	if err := json.Unmarshal([]byte(out), &listed); err != nil ||
		!slices.ContainsFunc(listed, func(c listedClient) bool { return c.ID == "app" && c.Disabled }) {
		t.Fatalf("client list after disable (%v): %s", err, out)
	}
	mustCLI(t, bin, dir, "", "client", "enable", "app")
	eventually(t, "the enabled client accepted", func() bool { return cc(s3) == 200 })

	// Remove: a client with sessions ends them.
	mustCLI(t, bin, dir, "", "client", "add", "web", "--grant", "password,refresh_token")
	out = mustCLI(t, bin, dir, serveBobPassword+"\n", "user", "add", "bob", "--password-stdin", "--refresh-enabled")
	if !strings.Contains(out, "bob") {
		t.Fatal(out)
	}
	if out := mustCLI(t, bin, dir, "", "client", "remove", "app"); !strings.Contains(out, "client app removed; 0 live session(s) ended") {
		t.Fatalf("client remove app: %s", out)
	}
	eventually(t, "the removed client refused", func() bool { return cc(s3) == 401 })
	if _, errOut, err := cli(t, bin, dir, "", "client", "remove", "tokengate"); err == nil || !strings.Contains(errOut, "built-in") {
		t.Fatalf("client remove tokengate: %v %s", err, errOut)
	}

	// Rename: the sub stays, the name changes.
	p := g.password("bob", serveBobPassword)
	if p.status != 200 {
		t.Fatalf("password grant for bob: %d %s", p.status, p.raw)
	}
	before := jwtPart(t, p.str("access_token"), 1)
	if out := mustCLI(t, bin, dir, "", "user", "rename", "bob", "robert"); !strings.Contains(out, "user bob renamed to robert") {
		t.Fatalf("user rename: %s", out)
	}
	if r := g.password("bob", serveBobPassword); r.status != 400 {
		t.Fatalf("password grant for the old name: %d %s", r.status, r.raw)
	}
	r := g.refresh(p.str("refresh_token"))
	if r.status != 200 {
		t.Fatalf("refresh after the rename: %d %s", r.status, r.raw)
	}
	after := jwtPart(t, r.str("access_token"), 1)
	if after["sub"] != before["sub"] || before["preferred_username"] != "bob" || after["preferred_username"] != "robert" {
		t.Fatalf("sub %v -> %v, preferred_username %v -> %v", before["sub"], after["sub"], before["preferred_username"], after["preferred_username"])
	}

	// Key revoke: the running server drops the key from its JWKS and
	// signs with another.
	oldKid, _ := jwtPart(t, r.str("access_token"), 0)["kid"].(string)
	out = mustCLI(t, bin, dir, "", "key", "revoke", oldKid)
	m := regexp.MustCompile(`key \S+ revoked; key (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("key revoke: %s", out)
	}
	eventually(t, "the revoked key out of the server's JWKS", func() bool { return !slices.Contains(g.jwksKids(), oldKid) })
	if kids := g.jwksKids(); !slices.Contains(kids, m[1]) {
		t.Fatalf("JWKS %v lacks the new signer %s", kids, m[1])
	}
	r = g.refresh(r.str("refresh_token"))
	if k := jwtPart(t, r.str("access_token"), 0)["kid"]; r.status != 200 || k != m[1] {
		t.Fatalf("refresh after the revocation: %d, kid %v, want %s", r.status, k, m[1])
	}
	if out := mustCLI(t, bin, dir, "", "key", "list"); !strings.Contains(out, "revoked") {
		t.Fatalf("key list after revoke:\n%s", out)
	}

	// Tenant remove: refused while it has users, unless forced.
	mustCLI(t, bin, dir, "", "tenant", "add", "acme")
	mustCLI(t, bin, dir, "carol-password\n", "user", "add", "carol", "--tenant", "acme", "--password-stdin")
	if _, errOut, err := cli(t, bin, dir, "", "tenant", "remove", "acme"); err == nil || !strings.Contains(errOut, "--force") {
		t.Fatalf("tenant remove with a user: %v %s", err, errOut)
	}
	if out := mustCLI(t, bin, dir, "", "tenant", "remove", "acme", "--force"); !strings.Contains(out, "tenant acme removed with 1 user(s)") {
		t.Fatalf("tenant remove --force: %s", out)
	}
	if out := mustCLI(t, bin, dir, "", "tenant", "list"); strings.Contains(out, "acme") {
		t.Fatalf("tenant list after remove:\n%s", out)
	}
	if _, errOut, err := cli(t, bin, dir, "", "tenant", "remove", "default", "--force"); err == nil || !strings.Contains(errOut, "default tenant") {
		t.Fatalf("tenant remove default: %v %s", err, errOut)
	}

	logs := g.stderr.String()
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Error("a client secret reached the server's log")
		}
	}
}
