package main

// These tests run the real binary and read what it tells a user who got a
// command wrong, or whose command met a condition it must explain.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// run1 runs the binary once with a hermetic environment plus env and
// returns its stdout, stderr and exit error.
func run1(t *testing.T, bin, stdin string, env []string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = hermeticEnv(env...)
	cmd.Dir = t.TempDir() // a stray ./tokengate-data would land here
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

func TestCLI(t *testing.T) {
	bin := buildTokengate(t)
	t.Run("wrong commands", func(t *testing.T) { testWrongCommands(t, bin) })
	t.Run("no store text", func(t *testing.T) { testNoStoreText(t, bin) })
	t.Run("oidc client", func(t *testing.T) { testOIDCClient(t, bin) })
	t.Run("tenant set changes only what is given", func(t *testing.T) { testTenantSet(t, bin) })
	t.Run("version", func(t *testing.T) { testVersion(t, bin) })
	t.Run("server down", func(t *testing.T) { testServerDown(t, bin) })
}

// testWrongCommands gives commands the user got wrong: the first line says
// what is wrong, the usage follows, and nothing is said twice.
func testWrongCommands(t *testing.T, bin string) {
	dir := filepath.Join(t.TempDir(), "data")
	initData(t, bin, dir)
	for _, tc := range []struct {
		name  string
		args  []string
		first string // what the first line of stderr says
		usage string // the usage that follows
	}{
		{"no password source", []string{"user", "add", "bob"}, "--password-stdin", "Usage: tokengate user add"},
		{"missing name", []string{"user", "add", "--password-stdin"}, "NAME", "Usage: tokengate user add"},
		{"unknown flag", []string{"user", "list", "--bogus"}, "flag provided but not defined: -bogus", "Usage: tokengate user list"},
		{"flag without value", []string{"user", "list", "--tenant"}, "flag needs an argument: -tenant", "Usage: tokengate user list"},
		{"bad limit policy on add", []string{"tenant", "add", "acme", "--limit-policy", "bogus"}, `"bogus"`, "Usage: tokengate tenant add"},
		{"bad limit policy on set", []string{"tenant", "set", "default", "--limit-policy", "bogus"}, "reject or end_oldest", "Usage: tokengate tenant set"},
		{"negative limit", []string{"tenant", "set", "default", "--max-sessions", "-1"}, "--max-sessions", "Usage: tokengate tenant set"},
		{"nothing to set", []string{"tenant", "set", "default"}, "--max-sessions", "Usage: tokengate tenant set"},
		{"unknown command", []string{"nosuch"}, `unknown command "tokengate nosuch"`, "Usage: tokengate <command>"},
		{"unknown subcommand", []string{"user", "nosuch"}, `unknown command "tokengate user nosuch"`, "Usage: tokengate user <command>"},
		{"missing subcommand", []string{"user"}, "tokengate user: ", "Usage: tokengate user <command>"},
		{"extra argument", []string{"user", "list", "extra"}, `"extra"`, "Usage: tokengate user list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := run1(t, bin, "pw\n", []string{"TOKENGATE_DATA=" + dir}, tc.args...)
			if err == nil {
				t.Fatalf("succeeded:\n%s%s", out, errOut)
			}
			first, rest, _ := strings.Cut(errOut, "\n")
			if !strings.HasPrefix(first, "tokengate") || !strings.Contains(first, tc.first) {
				t.Errorf("first line %q does not say %q; stderr:\n%s", first, tc.first, errOut)
			}
			if !strings.Contains(rest, tc.usage) {
				t.Errorf("no %q after the message; stderr:\n%s", tc.usage, errOut)
			}
			if n := strings.Count(errOut, "Usage:"); n != 1 {
				t.Errorf("usage printed %d times:\n%s", n, errOut)
			}
			sc := bufio.NewScanner(strings.NewReader(errOut))
			seen := map[string]bool{}
			for sc.Scan() {
				// The message itself must not come back (flag's own print and ours).
				l := strings.TrimPrefix(sc.Text(), "tokengate: ")
				if l != "" && seen[l] {
					t.Errorf("line said twice: %q\n%s", l, errOut)
				}
				seen[l] = true
			}
		})
	}
	// The refused tenant was not created.
	if out := mustCLI(t, bin, dir, "", "tenant", "list"); strings.Contains(out, "acme") || strings.Contains(out, "bogus") {
		t.Errorf("a refused tenant add created the tenant:\n%s", out)
	}
	// Help is output, not an error: stdout, exit 0, once.
	out, errOut, err := run1(t, bin, "", nil, "user", "add", "--help")
	if err != nil || strings.Count(out, "Usage:") != 1 || errOut != "" {
		t.Errorf("user add --help: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
}

var storeText = regexp.MustCompile(`(?i)sqlite|constraint|store:|\(\d{4}\)`)

// testNoStoreText creates what already exists, or names what does not:
// the message says so in the user's words, never the database's.
func testNoStoreText(t *testing.T, bin string) {
	dir := filepath.Join(t.TempDir(), "data")
	initData(t, bin, dir)
	mustCLI(t, bin, dir, "bob-password\n", "user", "add", "bob", "--password-stdin")
	mustCLI(t, bin, dir, "", "tenant", "add", "acme")
	mustCLI(t, bin, dir, "", "client", "add", "svc")
	mustCLI(t, bin, dir, "", "org", "add", "gailbkr")
	mustCLI(t, bin, dir, "", "member", "add", "bob", "gailbkr")
	for _, tc := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"user", "bob-password\n", []string{"user", "add", "bob", "--password-stdin"}, `a user named "bob" already exists in tenant "default"`},
		{"tenant", "", []string{"tenant", "add", "acme"}, `a tenant named "acme" already exists`},
		{"client", "", []string{"client", "add", "svc"}, `a client with client_id "svc" already exists`},
		{"organisation", "", []string{"org", "add", "gailbkr"}, `an organisation named "gailbkr" already exists in tenant "default"`},
		{"membership", "", []string{"member", "add", "bob", "gailbkr"}, `a membership of user "bob" in "gailbkr"`},
		{"unknown user", "", []string{"apitoken", "create", "nobody"}, `unknown user "nobody" in tenant "default"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := run1(t, bin, tc.stdin, nil, append(tc.args, "--data", dir)...)
			if err == nil {
				t.Fatalf("creating it twice succeeded:\n%s", out)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q does not say %q", errOut, tc.want)
			}
			if m := storeText.FindString(errOut); m != "" {
				t.Errorf("stderr carries the store's text %q: %s", m, errOut)
			}
		})
	}
}

// testTenantSet changes one setting at a time: a flag that was not given
// leaves its setting as it is.
func testTenantSet(t *testing.T, bin string) {
	dir := filepath.Join(t.TempDir(), "data")
	initData(t, bin, dir)
	limits := func() string {
		out := mustCLI(t, bin, dir, "", "tenant", "list")
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) >= 3 && f[0] == "default" {
				return f[1] + " " + f[2]
			}
		}
		t.Fatalf("no default tenant in:\n%s", out)
		return ""
	}
	mustCLI(t, bin, dir, "", "tenant", "set", "default", "--max-sessions", "2", "--limit-policy", "end_oldest")
	if got := limits(); got != "2 end_oldest" {
		t.Fatalf("after setting both: %s", got)
	}
	mustCLI(t, bin, dir, "", "tenant", "set", "default", "--max-sessions", "0")
	if got := limits(); got != "0 end_oldest" {
		t.Errorf("--max-sessions 0 alone: %s, want the policy kept (0 end_oldest)", got)
	}
	mustCLI(t, bin, dir, "", "tenant", "set", "default", "--limit-policy", "reject")
	if got := limits(); got != "0 reject" {
		t.Errorf("--limit-policy alone: %s, want 0 reject", got)
	}
	mustCLI(t, bin, dir, "", "tenant", "set", "default", "--max-sessions", "5")
	if got := limits(); got != "5 reject" {
		t.Errorf("--max-sessions 5 alone: %s, want 5 reject", got)
	}
}

// testVersion compares `version` and `--version` with the build
// information the go command itself reads from the binary.
func testVersion(t *testing.T, bin string) {
	m, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	info := map[string]string{}
	for _, l := range strings.Split(string(m), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) >= 3 && f[0] == "mod":
			info["version"] = f[2]
		case len(f) >= 2 && f[0] == "build":
			if k, v, ok := strings.Cut(f[1], "="); ok {
				info[k] = v
			}
		}
	}
	if info["version"] == "" {
		t.Fatalf("go version -m shows no module version:\n%s", m)
	}
	want := []string{"tokengate " + info["version"]}
	switch rev := info["vcs.revision"]; {
	case rev == "":
		want = append(want, "revision unknown")
	case info["vcs.modified"] == "true":
		want = append(want, "revision "+rev+" (modified)")
	default:
		want = append(want, "revision "+rev+"\n")
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, errOut, err := run1(t, bin, "", nil, args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%v prints %q; want it to contain %q (go version -m: %v)", args, out, w, info)
			}
		}
	}
}

// testServerDown uses a stored login while its server is down: the client
// commands say the server is not reachable at its URL, without the dial
// error's text.
func testServerDown(t *testing.T, bin string) {
	dir := filepath.Join(t.TempDir(), "data")
	initData(t, bin, dir, "TOKENGATE_ADMIN_PASSWORD=admin-password")
	g := startGateway(t, bin, dir, freeAddr(t), "")
	cfgDir := filepath.Join(t.TempDir(), "config")
	env := []string{"TOKENGATE_CONFIG_DIR=" + cfgDir}

	// login says where the tokens are and how they are protected.
	_, errOut, err := run1(t, bin, "admin-password\n", env, "login", "--server", g.URL, "--username", "admin", "--password-stdin")
	if err != nil {
		t.Fatalf("login: %v\n%s", err, errOut)
	}
	path := filepath.Join(cfgDir, "credentials.json")
	if !strings.Contains(errOut, path) || !strings.Contains(errOut, "0600") {
		t.Errorf("login does not say it stored the tokens in %s (mode 0600): %q", path, errOut)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials file: %v, mode %v", err, fi.Mode())
	}
	g.kill()

	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
	}{
		{"api", "", []string{"api", "GET", "/api/user/myDetails"}},
		{"token with credentials", "admin-password\n", []string{"token", "--server", g.URL, "--username", "admin", "--password-stdin"}},
		{"login", "admin-password\n", []string{"login", "--server", g.URL, "--username", "admin", "--password-stdin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := run1(t, bin, tc.stdin, env, tc.args...)
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("with the server down: %v\n%s%s", err, out, errOut)
			}
			if !strings.Contains(errOut, "cannot reach the server at "+g.URL) {
				t.Errorf("stderr %q does not say it cannot reach the server at %s", errOut, g.URL)
			}
			for _, dump := range []string{"dial tcp", "Get \"", "Post \"", "connect:"} {
				if strings.Contains(errOut, dump) {
					t.Errorf("stderr carries Go's transport error (%q): %s", dump, errOut)
				}
			}
		})
	}
}
