package main

// These tests build the real tokengate binary and run it as a process on
// loopback, with admin commands working on the same data directory while
// it serves, and a kill -9 followed by a restart.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	serveAdminPassword = "first-admin-password"
	serveBobPassword   = "bob-password-1"
)

// hermeticEnv is the test process's environment without TOKENGATE_*
// variables, plus extra.
func hermeticEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TOKENGATE_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// hangBound ends a process or a wait that hangs. It is far above how long
// anything here takes on a loaded machine under -race, so it never decides
// a test's outcome; it only turns a hang into a failure.
const hangBound = 5 * time.Minute

// syncBuffer is a bytes.Buffer safe for a process writing while a test
// reads, which a test can also wait on.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed at the next write, when someone waits
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor blocks until the buffer holds sub (true) or done is closed
// without it (false).
func (s *syncBuffer) waitFor(sub string, done <-chan struct{}) bool {
	for {
		s.mu.Lock()
		if strings.Contains(s.b.String(), sub) {
			s.mu.Unlock()
			return true
		}
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-done:
			return strings.Contains(s.String(), sub)
		}
	}
}

// gateway is a running `tokengate serve` process.
type gateway struct {
	t      *testing.T
	cmd    *exec.Cmd
	URL    string
	stdout *syncBuffer
	stderr *syncBuffer
	exited chan struct{}
}

// startGateway runs `tokengate serve` on a data directory and address.
func startGateway(t *testing.T, bin, dataDir, addr, configFile string, env ...string) *gateway {
	t.Helper()
	args := []string{"serve", "--data", dataDir, "--listen", addr}
	if configFile != "" {
		args = append(args, "--config", configFile)
	}
	return startServe(t, bin, "http://"+addr, args, env...)
}

// startServe runs tokengate with args (a serve command) and waits until it
// says it is listening, then checks that base/healthz answers. It waits on
// the process's own output, not on a clock, so a slow first start (an
// argon2id hash under -race on a loaded machine) is only slow. The process
// is always killed when the test ends.
func startServe(t *testing.T, bin, base string, args []string, env ...string) *gateway {
	t.Helper()
	return startServeClient(t, http.DefaultClient, bin, base, args, env...)
}

// startServeClient is startServe asking /healthz with hc (say, one that
// trusts the test's CA).
func startServeClient(t *testing.T, hc *http.Client, bin, base string, args []string, env ...string) *gateway {
	t.Helper()
	g := &gateway{t: t, URL: base, stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	g.cmd = exec.Command(bin, args...)
	g.cmd.Env = hermeticEnv(env...)
	g.cmd.Stdout, g.cmd.Stderr = g.stdout, g.stderr
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	go func() {
		_ = g.cmd.Wait()
		close(g.exited)
	}()
	t.Cleanup(g.kill)
	// "Discovery:" ends the welcome text, which serve writes at once.
	if !g.stdout.waitFor("Discovery: ", g.exited) {
		t.Fatalf("tokengate serve exited before listening:\nstdout:\n%s\nstderr:\n%s", g.stdout, g.stderr)
	}
	resp, err := hc.Get(g.URL + "/healthz")
	if err != nil {
		t.Fatalf("healthz: %v\nstderr:\n%s", err, g.stderr)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %s\nstderr:\n%s", resp.Status, g.stderr)
	}
	return g
}

// kill sends SIGKILL (kill -9) and waits for the process to be gone.
func (g *gateway) kill() {
	select {
	case <-g.exited:
		return
	default:
	}
	_ = g.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-g.exited:
	case <-time.After(hangBound):
		g.t.Errorf("tokengate serve (pid %d) did not die after SIGKILL", g.cmd.Process.Pid)
	}
}

// cli runs an admin command on dataDir and returns its stdout.
func cli(t *testing.T, bin, dataDir, stdin string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, "--data", dataDir)...)
	cmd.Env = hermeticEnv("TOKENGATE_ADMIN_PASSWORD=" + serveAdminPassword)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

func mustCLI(t *testing.T, bin, dataDir, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := cli(t, bin, dataDir, stdin, args...)
	if err != nil {
		t.Fatalf("tokengate %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

type httpAnswer struct {
	status     int
	body       map[string]any
	raw        string
	retryAfter string
}

func postForm(t *testing.T, u string, form url.Values, basic ...string) httpAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := httpAnswer{status: resp.StatusCode, raw: string(b), retryAfter: resp.Header.Get("Retry-After")}
	_ = json.Unmarshal(b, &a.body)
	return a
}

func (g *gateway) password(user, pw string) httpAnswer {
	g.t.Helper()
	return postForm(g.t, g.URL+"/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {"tokengate"}, "username": {user}, "password": {pw}})
}

func (g *gateway) refresh(rt string) httpAnswer {
	g.t.Helper()
	return postForm(g.t, g.URL+"/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"tokengate"}, "refresh_token": {rt}})
}

func (a httpAnswer) str(k string) string {
	s, _ := a.body[k].(string)
	return s
}

func (g *gateway) jwksKids() []string {
	g.t.Helper()
	resp, err := http.Get(g.URL + "/.well-known/jwks.json")
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		g.t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	slices.Sort(kids)
	return kids
}

func jwtPart(t *testing.T, jwt string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.16q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBinary(t *testing.T) {
	bin := buildTokengate(t)
	t.Run("help", func(t *testing.T) { testHelp(t, bin) })
	t.Run("admin commands while serving", func(t *testing.T) { testAdminWhileServing(t, bin) })
	t.Run("kill -9 and restart", func(t *testing.T) { testKillAndRestart(t, bin) })
	t.Run("lifecycle commands while serving", func(t *testing.T) { testLifecycleWhileServing(t, bin) })
	t.Run("offline tokens on another port and public URL", func(t *testing.T) { testOfflineTokensAgree(t, bin) })
}

var commandLine = regexp.MustCompile(`(?m)^  (\S+)\s`)

// testHelp runs --help on every command, discovering the tree from the
// groups' own help, so commands added later are covered too.
func testHelp(t *testing.T, bin string) {
	var walk func(path []string)
	seen := 0
	walk = func(path []string) {
		args := append(slices.Clone(path), "--help")
		cmd := exec.Command(bin, args...)
		cmd.Env = hermeticEnv()
		cmd.Dir = t.TempDir() // a stray data directory would land here
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Errorf("tokengate %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
			return
		}
		seen++
		if !strings.Contains(out.String(), "Usage: tokengate") {
			t.Errorf("tokengate %s printed no usage on stdout:\n%s", strings.Join(args, " "), out.String())
		}
		if !strings.Contains(out.String(), "Commands:") {
			return
		}
		_, cmds, _ := strings.Cut(out.String(), "Commands:")
		for _, m := range commandLine.FindAllStringSubmatch(cmds, -1) {
			walk(append(slices.Clone(path), m[1]))
		}
	}
	walk(nil)
	t.Logf("--help exits 0 with usage on %d commands", seen)
	// The root, its groups and the commands the issue names at the least.
	if seen < 20 {
		t.Errorf("--help ran on only %d commands", seen)
	}
}

func testAdminWhileServing(t *testing.T, bin string) {
	dir := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "tokengate.yaml")
	// Reload keys every second, so a rotation by the CLI shows quickly.
	if err := os.WriteFile(cfg, []byte("keys:\n  reload_interval: 1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, bin, dir, freeAddr(t), cfg, "TOKENGATE_ADMIN_PASSWORD="+serveAdminPassword)
	if out := g.stdout.String(); !strings.Contains(out, "tokengate listening on "+g.URL) || !strings.Contains(out, "curl") {
		t.Errorf("welcome text lacks the address or a first-token command:\n%s", out)
	}

	out := mustCLI(t, bin, dir, serveBobPassword+"\n", "user", "add", "bob", "--password-stdin", "--refresh-enabled")
	if !strings.Contains(out, "bob") {
		t.Fatalf("user add: %s", out)
	}
	if out := mustCLI(t, bin, dir, "", "user", "list"); !strings.Contains(out, "bob") || !strings.Contains(out, "admin") {
		t.Fatalf("user list lacks bob or admin:\n%s", out)
	}
	// The running server sees the user the CLI added.
	p := g.password("bob", serveBobPassword)
	if p.status != 200 || p.str("refresh_token") == "" {
		t.Fatalf("password grant for bob: %d %s", p.status, p.raw)
	}
	sid, _ := jwtPart(t, p.str("access_token"), 1)["sid"].(string)
	if out := mustCLI(t, bin, dir, "", "session", "list", "--user", "bob"); !strings.Contains(out, sid) {
		t.Fatalf("session list --user bob lacks session %s:\n%s", sid, out)
	}
	if out := mustCLI(t, bin, dir, "", "session", "revoke", "--user", "bob"); !strings.Contains(out, "revoked 1 session") {
		t.Fatalf("session revoke: %s", out)
	}
	if r := g.refresh(p.str("refresh_token")); r.status != 400 || r.str("error") != "invalid_grant" {
		t.Fatalf("refresh after the CLI revoked the session: %d %s", r.status, r.raw)
	}
	if out := mustCLI(t, bin, dir, "", "session", "list", "--user", "bob"); strings.Contains(out, sid) {
		t.Fatalf("revoked session still listed as live:\n%s", out)
	}

	before := g.jwksKids()
	oldKid, _ := jwtPart(t, p.str("access_token"), 0)["kid"].(string)
	out = mustCLI(t, bin, dir, "", "key", "rotate", "--now")
	m := regexp.MustCompile(`new key (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("key rotate: %s", out)
	}
	newKid := m[1]
	if out := mustCLI(t, bin, dir, "", "key", "list"); !strings.Contains(out, newKid) || !strings.Contains(out, oldKid) {
		t.Fatalf("key list lacks %s or %s:\n%s", newKid, oldKid, out)
	}
	// The server reloads the ring and publishes the new key; the old one stays.
	// Polling waits for the server's reload ticker, not for a guess of
	// how fast it runs.
	eventually(t, fmt.Sprintf("new key %s in JWKS (before: %v)", newKid, before), func() bool { return slices.Contains(g.jwksKids(), newKid) })
	if kids := g.jwksKids(); !slices.Contains(kids, oldKid) {
		t.Fatalf("old key left JWKS at rotation: %v", kids)
	}
	p2 := g.password("bob", serveBobPassword)
	if p2.status != 200 {
		t.Fatalf("password grant after rotation: %d %s", p2.status, p2.raw)
	}
	if k := jwtPart(t, p2.str("access_token"), 0)["kid"]; k != newKid {
		t.Fatalf("token after rotation carries kid %v, want %s", k, newKid)
	}

	out = mustCLI(t, bin, dir, "", "client", "add", "svc")
	m = regexp.MustCompile(`client_secret:\s+(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("client add printed no secret:\n%s", out)
	}
	cc := postForm(t, g.URL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, "svc", m[1])
	if cc.status != 200 || cc.str("access_token") == "" {
		t.Fatalf("client_credentials for the CLI-added client: %d %s", cc.status, cc.raw)
	}

	// Nothing secret reaches the server's logs.
	logs := g.stderr.String()
	for name, secret := range map[string]string{"bob's password": serveBobPassword, "admin password": serveAdminPassword,
		"refresh token": p.str("refresh_token"), "access token": p2.str("access_token"), "client secret": m[1]} {
		if strings.Contains(logs, secret) {
			t.Errorf("server log contains the %s", name)
		}
	}
}

func testKillAndRestart(t *testing.T, bin string) {
	dir := t.TempDir()
	addr := freeAddr(t)
	g := startGateway(t, bin, dir, addr, "", "TOKENGATE_ADMIN_PASSWORD="+serveAdminPassword)
	mustCLI(t, bin, dir, serveBobPassword+"\n", "user", "add", "bob", "--password-stdin", "--refresh-enabled")

	p0 := g.password("bob", serveBobPassword)
	if p0.status != 200 {
		t.Fatalf("password grant: %d %s", p0.status, p0.raw)
	}
	p1 := g.refresh(p0.str("refresh_token"))
	if p1.status != 200 || p1.str("refresh_token") == "" || p1.str("refresh_token") == p0.str("refresh_token") {
		t.Fatalf("refresh: %d %s", p1.status, p1.raw)
	}
	kids := g.jwksKids()
	firstOut := g.stdout.String()
	if !strings.Contains(firstOut, `Created user "admin"`) {
		t.Fatalf("first start did not report creating the admin:\n%s", firstOut)
	}

	// kill -9 right after the refresh was answered.
	g.kill()

	// Restart on the same data directory and address (the issuer), with a
	// different admin password in the environment: it must not replace the
	// stored one.
	g2 := startGateway(t, bin, dir, addr, "", "TOKENGATE_ADMIN_PASSWORD=a-different-password")
	if out := g2.stdout.String(); strings.Contains(out, "Created user") {
		t.Fatalf("restart created the admin again:\n%s", out)
	}
	if got := g2.jwksKids(); !slices.Equal(got, kids) {
		t.Fatalf("JWKS after restart %v, want %v", got, kids)
	}
	if r := g2.password("admin", serveAdminPassword); r.status != 200 {
		t.Fatalf("admin with the original password after restart: %d %s", r.status, r.raw)
	}
	if r := g2.password("admin", "a-different-password"); r.status != 400 || r.str("error") != "invalid_grant" {
		t.Fatalf("admin password was replaced on restart: %d %s", r.status, r.raw)
	}

	// The refresh answered before the kill survived: its token is current.
	p2 := g2.refresh(p1.str("refresh_token"))
	if p2.status != 200 || p2.str("refresh_token") == "" {
		t.Fatalf("refresh with the newest token after restart: %d %s", p2.status, p2.raw)
	}
	if k := jwtPart(t, p2.str("access_token"), 0)["kid"]; !slices.Contains(kids, fmt.Sprint(k)) {
		t.Fatalf("token after restart signed by unknown kid %v", k)
	}
	// The superseded token is recognised as reuse, not as an unknown token,
	// and it ends the family.
	r := g2.refresh(p0.str("refresh_token"))
	if r.status != 400 || r.str("error") != "invalid_grant" || !strings.Contains(r.str("error_description"), "reused") {
		t.Fatalf("superseded token after restart: %d %s; want invalid_grant for reuse", r.status, r.raw)
	}
	if r := g2.refresh(p2.str("refresh_token")); r.status != 400 || !strings.Contains(r.str("error_description"), "revoked") {
		t.Fatalf("successor after reuse: %d %s; want revoked", r.status, r.raw)
	}
	// bob, added by the CLI, survived too.
	if out := mustCLI(t, bin, dir, "", "user", "list"); !strings.Contains(out, "bob") {
		t.Fatalf("bob missing after restart:\n%s", out)
	}
}

// testOfflineTokensAgree: API tokens made by the offline `apitoken create`
// work on a server listening elsewhere than the default address, carry the
// issuer the server uses, and survive a restart on another port with a
// public URL. A refusal is explained in the server's log, without the token.
func testOfflineTokensAgree(t *testing.T, bin string) {
	dir := t.TempDir()
	g := startGateway(t, bin, dir, freeAddr(t), "", "TOKENGATE_ADMIN_PASSWORD="+serveAdminPassword)
	mustCLI(t, bin, dir, serveBobPassword+"\n", "user", "add", "bob", "--password-stdin", "--refresh-enabled")
	apiToken := func() (tok, id string) {
		t.Helper()
		out, errOut, err := cli(t, bin, dir, "", "apitoken", "create", "bob")
		m := regexp.MustCompile(`API token (\S+) `).FindStringSubmatch(errOut)
		if err != nil || m == nil {
			t.Fatalf("apitoken create: %v\n%s%s", err, out, errOut)
		}
		return strings.TrimSpace(out), m[1]
	}
	oidcRefresh := func(g *gateway, rt string) httpAnswer {
		t.Helper()
		resp, err := http.Get(g.URL + "/whitespace/_oidc_refresh?refresh_token=" + url.QueryEscape(rt))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		a := httpAnswer{status: resp.StatusCode, raw: string(b), retryAfter: resp.Header.Get("Retry-After")}
		_ = json.Unmarshal(b, &a.body)
		return a
	}
	wantIssuer := func(what, tok, iss string) {
		t.Helper()
		if got := jwtPart(t, tok, 1)["iss"]; got != iss {
			t.Errorf("%s carries iss %v, want %s", what, got, iss)
		}
	}
	// refreshBoth renews rt on _oidc_refresh and /oauth2/token and checks
	// that both answers carry the server's issuer.
	refreshBoth := func(g *gateway, rt, iss string) {
		t.Helper()
		if a := oidcRefresh(g, rt); a.status != 200 || a.str("id_token") == "" {
			t.Fatalf("_oidc_refresh on %s: %d %s", g.URL, a.status, a.raw)
		} else {
			wantIssuer("_oidc_refresh's id_token", a.str("id_token"), iss)
		}
		if a := g.refresh(rt); a.status != 200 || a.str("access_token") == "" {
			t.Fatalf("/oauth2/token refresh on %s: %d %s", g.URL, a.status, a.raw)
		} else {
			wantIssuer("/oauth2/token's access token", a.str("access_token"), iss)
		}
	}

	kept, _ := apiToken()
	wantIssuer("the offline API token", kept, g.URL)
	refreshBoth(g, kept, g.URL)

	// A refused refresh says why in the log; the client sees only Sync
	// Gateway's fixed text.
	dropped, id := apiToken()
	mustCLI(t, bin, dir, "", "apitoken", "revoke", id)
	if a := oidcRefresh(g, dropped); a.status != 401 || a.str("reason") != "Unable to refresh token." {
		t.Fatalf("revoked API token on _oidc_refresh: %d %s", a.status, a.raw)
	}
	line := regexp.MustCompile(`(?m)^.*msg="refresh refused".*session=` + regexp.QuoteMeta(id) + `.*$`)
	eventually(t, fmt.Sprintf("a \"refresh refused\" line for session %s in the server log", id), func() bool { return line.FindString(g.stderr.String()) != "" })
	if l := line.FindString(g.stderr.String()); !strings.Contains(l, "api_token_revoked") || !strings.Contains(l, "user=bob") {
		t.Errorf("refusal line lacks the reason or the user: %s", l)
	}

	// Restart on another port behind a public URL: the API token lives on,
	// and what the server mints carries the new issuer.
	g.kill()
	cfg := filepath.Join(t.TempDir(), "tokengate.yaml")
	const public = "https://tokens.example.test"
	if err := os.WriteFile(cfg, []byte("public_url: "+public+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g2 := startGateway(t, bin, dir, freeAddr(t), cfg, "TOKENGATE_ADMIN_PASSWORD="+serveAdminPassword)
	refreshBoth(g2, kept, public)
	fresh, _ := apiToken()
	wantIssuer("an offline API token made while the new server runs", fresh, public)
	refreshBoth(g2, fresh, public)
	g2.kill()
	later, _ := apiToken()
	wantIssuer("an offline API token made with no server running", later, public)

	for _, logs := range []string{g.stderr.String(), g2.stderr.String()} {
		for name, tok := range map[string]string{"kept": kept, "revoked": dropped, "fresh": fresh} {
			if strings.Contains(logs, tok) || strings.Contains(logs, tok[strings.LastIndex(tok, ".")+1:]) {
				t.Errorf("server log contains the %s API token", name)
			}
		}
	}
}
