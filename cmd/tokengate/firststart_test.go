package main

// These tests run the real binary on a first start and on data
// directories that are missing or incomplete: what is created, when, and
// what the user is told.

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestFirstStart(t *testing.T) {
	bin := buildTokengate(t)
	t.Run("busy port creates nothing", func(t *testing.T) { testBusyPort(t, bin) })
	t.Run("admin password not applied", func(t *testing.T) { testAdminPasswordNotApplied(t, bin) })
	t.Run("commands need existing data", func(t *testing.T) { testCommandsNeedData(t, bin) })
	t.Run("init", func(t *testing.T) { testInit(t, bin) })
	t.Run("all interfaces without public url", func(t *testing.T) { testListenAllInterfaces(t, bin) })
}

// testBusyPort starts on a port another listener holds: the start fails
// before anything exists, so no admin password is generated unseen.
func testBusyPort(t *testing.T, bin string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := filepath.Join(t.TempDir(), "data")
	out, errOut, err := run1(t, bin, "", nil, "serve", "--data", dir, "--listen", ln.Addr().String())
	if err == nil {
		t.Fatalf("serve on a busy port succeeded:\n%s%s", out, errOut)
	}
	if !strings.Contains(errOut, ln.Addr().String()) {
		t.Errorf("error does not name the address %s:\n%s", ln.Addr(), errOut)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		entries, _ := os.ReadDir(dir)
		t.Errorf("a failed first start left the data directory behind (%v): %v", err, entries)
	}
	if strings.Contains(out+errOut, "Created user") {
		t.Errorf("a failed first start created the admin:\n%s%s", out, errOut)
	}
}

// testAdminPasswordNotApplied restarts with another TOKENGATE_ADMIN_PASSWORD:
// the start says in one line that it was not applied and how to change the
// password, and that command works and ends the admin's sessions.
func testAdminPasswordNotApplied(t *testing.T, bin string) {
	dir := t.TempDir()
	addr := freeAddr(t)
	g := startGateway(t, bin, dir, addr, "", "TOKENGATE_ADMIN_PASSWORD=first-password")
	if out := g.stdout.String() + g.stderr.String(); strings.Contains(out, "not applied") {
		t.Errorf("first start says the password was not applied:\n%s", out)
	}
	g.kill()

	g = startGateway(t, bin, dir, addr, "", "TOKENGATE_ADMIN_PASSWORD=second-password")
	all := g.stdout.String() + g.stderr.String()
	var lines []string
	for _, l := range strings.Split(all, "\n") {
		if strings.Contains(l, "TOKENGATE_ADMIN_PASSWORD") && strings.Contains(l, "not applied") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "tokengate user set admin --password-stdin") {
		t.Fatalf("want one line saying TOKENGATE_ADMIN_PASSWORD was not applied, naming `tokengate user set admin --password-stdin`; got %q in:\n%s", lines, all)
	}
	if r := g.password("admin", "second-password"); r.status != 400 {
		t.Fatalf("the ignored password signs on: %d %s", r.status, r.raw)
	}
	before := g.password("admin", "first-password")
	if before.status != 200 || before.str("refresh_token") == "" {
		t.Fatalf("admin with the stored password: %d %s", before.status, before.raw)
	}

	// The command the line names changes the password and ends the
	// admin's sessions, as every password change does.
	out := mustCLI(t, bin, dir, "third-password\n", "user", "set", "admin", "--password-stdin")
	if !strings.Contains(out, "admin") {
		t.Errorf("user set admin: %s", out)
	}
	if r := g.password("admin", "third-password"); r.status != 200 {
		t.Fatalf("new password after user set: %d %s", r.status, r.raw)
	}
	if r := g.password("admin", "first-password"); r.status != 400 {
		t.Fatalf("old password after user set: %d %s", r.status, r.raw)
	}
	if r := g.refresh(before.str("refresh_token")); r.status != 400 || r.str("error") != "invalid_grant" {
		t.Fatalf("a session from before the password change still refreshes: %d %s", r.status, r.raw)
	}
}

// dataCommands are the commands that open the data directory, with
// arguments that would succeed on an initialised one. serve and init are
// the two that may create it.
var dataCommands = map[string][]string{
	"user add":              {"user", "add", "bob", "--password-stdin"},
	"user list":             {"user", "list"},
	"user set":              {"user", "set", "admin", "--disabled=false"},
	"user rename":           {"user", "rename", "admin", "root"},
	"user remove":           {"user", "remove", "admin"},
	"tenant remove":         {"tenant", "remove", "acme"},
	"bench --cleanup":       {"bench", "--cleanup"},
	"key revoke":            {"key", "revoke", "no-such-kid"},
	"client disable":        {"client", "disable", "tokengate"},
	"client enable":         {"client", "enable", "tokengate"},
	"client remove":         {"client", "remove", "svc"},
	"client secret rotate":  {"client", "secret", "rotate", "svc"},
	"user link":             {"user", "link", "admin", "--issuer", "auth0", "--subject", "auth0|admin"},
	"session list":          {"session", "list"},
	"session revoke":        {"session", "revoke", "--user", "admin"},
	"key rotate":            {"key", "rotate"},
	"key list":              {"key", "list"},
	"client add":            {"client", "add", "svc"},
	"client list":           {"client", "list"},
	"client show":           {"client", "show", "tokengate"},
	"client set":            {"client", "set", "tokengate", "--first-party"},
	"tenant add":            {"tenant", "add", "acme"},
	"tenant set":            {"tenant", "set", "default", "--max-sessions", "3"},
	"tenant list":           {"tenant", "list"},
	"org add":               {"org", "add", "gailbkr"},
	"org list":              {"org", "list"},
	"org remove":            {"org", "remove", "gailbkr"},
	"member add":            {"member", "add", "admin", "gailbkr"},
	"member list":           {"member", "list"},
	"member remove":         {"member", "remove", "MU00000000-0000-0000-0000-000000000000"},
	"member set-channels":   {"member", "set-channels", "MU00000000-0000-0000-0000-000000000000", "a"},
	"apitoken create":       {"apitoken", "create", "admin"},
	"apitoken list":         {"apitoken", "list"},
	"apitoken revoke":       {"apitoken", "revoke", "x"},
	"bench --seed-sessions": {"bench", "--seed-sessions", "1"},
	"bench (prepares)":      {"bench", "--server", "http://127.0.0.1:1", "--duration", "1s"},
}

// otherCommands open no data directory, or may create it (migrate creates
// the schema, and needs no master key).
var otherCommands = map[string]bool{"serve": true, "init": true, "migrate": true, "version": true, "token": true,
	"login": true, "api": true, "demo-api": true, "bench": true}

// testCommandsNeedData runs every data command on a directory that does
// not exist, one that is empty, and one whose master key is gone: each
// refuses, naming the directory and the way to create it, and creates
// nothing.
func testCommandsNeedData(t *testing.T, bin string) {
	// Every leaf command is either in dataCommands or known not to open
	// the data directory, so a command added later is covered here too.
	var walk func(prefix string, c *command)
	walk = func(prefix string, c *command) {
		for _, s := range c.sub {
			name := strings.TrimSpace(prefix + " " + s.name)
			if len(s.sub) > 0 {
				walk(name, s)
				continue
			}
			if _, ok := dataCommands[name]; !ok && !otherCommands[name] {
				t.Errorf("command %q is neither in dataCommands nor in otherCommands", name)
			}
		}
	}
	walk("", rootCommand())

	base := t.TempDir()
	empty := filepath.Join(base, "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	// A directory with a store but no master key (it was kept apart, or
	// TOKENGATE_MASTER_KEY is not set for this command): a new key would
	// make every sealed signing key unreadable.
	keyless := filepath.Join(base, "keyless")
	initData(t, bin, keyless)
	if err := os.Remove(filepath.Join(keyless, "master.key")); err != nil {
		t.Fatal(err)
	}
	for _, dc := range []struct {
		name, dir string
		want      []string
	}{
		{"missing", filepath.Join(base, "missing"), []string{"does not exist", "tokengate serve", "tokengate init"}},
		{"empty", empty, []string{"tokengate.db", "tokengate serve", "tokengate init"}},
		{"no master key", keyless, []string{"master.key", "TOKENGATE_MASTER_KEY"}},
	} {
		abs, _ := filepath.Abs(dc.dir)
		for name, args := range dataCommands {
			t.Run(dc.name+"/"+name, func(t *testing.T) {
				before, beforeErr := os.ReadDir(dc.dir)
				out, errOut, err := run1(t, bin, "pw\n", nil, append(args, "--data", dc.dir)...)
				if err == nil {
					t.Fatalf("succeeded:\n%s%s", out, errOut)
				}
				for _, w := range append([]string{abs}, dc.want...) {
					if !strings.Contains(errOut, w) {
						t.Errorf("message does not say %q:\n%s", w, errOut)
					}
				}
				if strings.Contains(out+errOut, "shown once") {
					t.Errorf("a refused command created an admin:\n%s%s", out, errOut)
				}
				after, afterErr := os.ReadDir(dc.dir)
				if len(after) != len(before) || (beforeErr == nil) != (afterErr == nil) {
					t.Errorf("the command created something: before %v (%v), after %v (%v)", before, beforeErr, after, afterErr)
				}
			})
		}
	}
}

// initData runs tokengate init on dir and returns its output.
func initData(t *testing.T, bin, dir string, env ...string) string {
	t.Helper()
	out, errOut, err := run1(t, bin, "", env, "init", "--data", dir)
	if err != nil {
		t.Fatalf("tokengate init: %v\n%s%s", err, out, errOut)
	}
	return out + errOut
}

// testInit creates a data directory explicitly, shows the generated admin
// password once, refuses to run twice, and leaves a directory that admin
// commands and serve use as it is.
func testInit(t *testing.T, bin string) {
	dir := filepath.Join(t.TempDir(), "data")
	out := initData(t, bin, dir)
	m := regexp.MustCompile(`password (\S+) \(shown once`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("init shows no generated admin password:\n%s", out)
	}
	for _, f := range []string{"tokengate.db", "master.key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("init: %v", err)
		}
	}
	if out, errOut, err := run1(t, bin, "", nil, "init", "--data", dir); err == nil || !strings.Contains(errOut, "already") {
		t.Errorf("second init: err %v\n%s%s", err, out, errOut)
	}
	mustCLI(t, bin, dir, "bob-password\n", "user", "add", "bob", "--password-stdin")

	g := startGateway(t, bin, dir, freeAddr(t), "")
	if out := g.stdout.String(); strings.Contains(out, "Created user") {
		t.Errorf("serve after init created the admin again:\n%s", out)
	}
	if r := g.password("admin", m[1]); r.status != 200 {
		t.Errorf("admin with the password init showed: %d %s", r.status, r.raw)
	}
	if r := g.password("bob", "bob-password"); r.status != 200 {
		t.Errorf("bob, added after init: %d %s", r.status, r.raw)
	}

	// An explicit password is used and not printed.
	dir2 := filepath.Join(t.TempDir(), "data")
	out = initData(t, bin, dir2, "TOKENGATE_ADMIN_PASSWORD=chosen-password")
	if strings.Contains(out, "chosen-password") || strings.Contains(out, "shown once") {
		t.Errorf("init printed the chosen password or generated one:\n%s", out)
	}
}

// testListenAllInterfaces listens on every interface without a public URL:
// the issuer would be http://0.0.0.0:PORT, which no client can reach, so
// the start warns and says what to set. Traffic stays on loopback.
func testListenAllInterfaces(t *testing.T, bin string) {
	for _, host := range []string{"0.0.0.0", ""} {
		t.Run("host "+host, func(t *testing.T) {
			_, port, _ := net.SplitHostPort(freeAddr(t))
			listen := net.JoinHostPort(host, port)
			g := startServe(t, bin, "http://127.0.0.1:"+port, []string{"serve", "--data", t.TempDir(), "--listen", listen},
				"TOKENGATE_ADMIN_PASSWORD=x-password")
			logs := g.stderr.String()
			if !strings.Contains(logs, "--public-url") || !strings.Contains(logs, "http://"+listen) {
				t.Errorf("no warning naming the issuer http://%s and --public-url:\n%s", listen, logs)
			}
		})
	}
	// With a public URL there is nothing to warn about.
	_, port, _ := net.SplitHostPort(freeAddr(t))
	pub := "http://127.0.0.1:" + port
	g := startServe(t, bin, pub, []string{"serve", "--data", t.TempDir(), "--listen", "0.0.0.0:" + port, "--public-url", pub},
		"TOKENGATE_ADMIN_PASSWORD=x-password")
	if logs := g.stderr.String(); strings.Contains(logs, "--public-url") {
		t.Errorf("warning despite --public-url:\n%s", logs)
	}
	if u, _ := url.Parse(pub); !strings.Contains(g.stdout.String(), "issuer "+u.String()) {
		t.Errorf("issuer is not the public URL:\n%s", g.stdout)
	}
}
