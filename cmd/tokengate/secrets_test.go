package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// serveDemo runs `serve --data dataDir --listen addr` with args and waits
// until it is listening (startServe).
func serveDemo(t *testing.T, bin, dataDir, addr string, args []string, env ...string) *gateway {
	t.Helper()
	return startServe(t, bin, "http://"+addr, append([]string{"serve", "--data", dataDir, "--listen", addr}, args...), env...)
}

var (
	shownAdmin = regexp.MustCompile(`Created user "admin" with password (\S+) \(shown once`)
	shownDemo  = regexp.MustCompile(`Demo users' password \(shown once[^)]*\): (\S+)`)
)

// TestPasswordsShownOnlyWhenGenerated runs `serve --demo` as a process:
// a password the operator chose (TOKENGATE_ADMIN_PASSWORD,
// TOKENGATE_DEMO_PASSWORD) is never printed nor written to disk; one the
// gateway generated is shown once, on the first start, and works.
func TestPasswordsShownOnlyWhenGenerated(t *testing.T) {
	bin := buildTokengate(t)
	const adminPW, demoPW = "chosen-admin-Secret-7f3a", "chosen-demo-Secret-91c2"

	t.Run("chosen in the environment", func(t *testing.T) {
		dir := t.TempDir()
		g := serveDemo(t, bin, dir, freeAddr(t), []string{"--demo"}, "TOKENGATE_ADMIN_PASSWORD="+adminPW, "TOKENGATE_DEMO_PASSWORD="+demoPW)
		for _, u := range [][2]string{{"admin", adminPW}, {"sumo", demoPW}, {"broker", demoPW}} {
			if a := g.password(u[0], u[1]); a.status != 200 {
				t.Fatalf("%s with the chosen password: %d %s", u[0], a.status, a.raw)
			}
		}
		g.kill()
		out := g.stdout.String() + g.stderr.String()
		for _, pw := range []string{adminPW, demoPW} {
			if strings.Contains(out, pw) {
				t.Errorf("a chosen password is printed:\n%s", out)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "demo-password")); !os.IsNotExist(err) {
			t.Errorf("the chosen demo password was written to disk (%v)", err)
		}
	})

	t.Run("generated", func(t *testing.T) {
		dir := t.TempDir()
		addr := freeAddr(t)
		g := serveDemo(t, bin, dir, addr, []string{"--demo"})
		out := g.stdout.String()
		am, dm := shownAdmin.FindStringSubmatch(out), shownDemo.FindStringSubmatch(out)
		if am == nil || dm == nil {
			t.Fatalf("a generated password is not shown:\n%s", out)
		}
		if a := g.password("admin", am[1]); a.status != 200 {
			t.Errorf("admin with the shown password: %d %s", a.status, a.raw)
		}
		if a := g.password("sumo", dm[1]); a.status != 200 {
			t.Errorf("sumo with the shown password: %d %s", a.status, a.raw)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "demo-password")); err != nil || strings.TrimSpace(string(b)) != dm[1] {
			t.Errorf("demo-password file %q, %v", b, err)
		}
		g.kill()

		again := serveDemo(t, bin, dir, addr, []string{"--demo"})
		again.kill()
		out2 := again.stdout.String() + again.stderr.String()
		if strings.Contains(out2, am[1]) || strings.Contains(out2, dm[1]) {
			t.Errorf("a generated password is shown again on the second start:\n%s", out2)
		}
	})
}
