package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBinarySecurityRules runs the real binary for the rules its admin
// commands share with the gateway: new passwords of at least 8 characters
// (user add, user set, the bootstrap admin's from the environment), API
// token limits on the offline `apitoken create`, and `user link`.
func TestBinarySecurityRules(t *testing.T) {
	bin := buildTokengate(t)
	t.Run("minimum password length", func(t *testing.T) { testMinPasswordLength(t, bin) })
	t.Run("offline API token limits", func(t *testing.T) { testOfflineAPITokenLimits(t, bin) })
	t.Run("user link", func(t *testing.T) { testUserLink(t, bin) })
}

// initDir creates a data directory as `tokengate init` does.
func initDir(t *testing.T, bin string, configArgs ...string) string {
	t.Helper()
	dir := t.TempDir()
	mustCLI(t, bin, dir, "", append([]string{"init"}, configArgs...)...)
	return dir
}

func testMinPasswordLength(t *testing.T, bin string) {
	dir := initDir(t, bin)
	for _, args := range [][]string{
		{"user", "add", "carol", "--password-stdin"},
		{"user", "set", "admin", "--password-stdin"},
	} {
		_, errOut, err := cli(t, bin, dir, "short\n", args...)
		if err == nil || !strings.Contains(errOut, "at least 8 characters") || strings.Contains(errOut, "short") {
			t.Fatalf("tokengate %s with a 5-character password: %v\n%s", strings.Join(args, " "), err, errOut)
		}
	}
	mustCLI(t, bin, dir, "long-enough\n", "user", "add", "carol", "--password-stdin")
	mustCLI(t, bin, dir, "also-long-enough\n", "user", "set", "carol", "--password-stdin")

	// The bootstrap admin's password from the environment, on a fresh
	// data directory.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "init", "--data", t.TempDir())
	cmd.Env = hermeticEnv("TOKENGATE_ADMIN_PASSWORD=admin")
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Run(); err == nil || !strings.Contains(errOut.String(), "admin password") || !strings.Contains(errOut.String(), "at least 8 characters") {
		t.Fatalf("bootstrap with TOKENGATE_ADMIN_PASSWORD=admin: %v\n%s", err, errOut.String())
	}
}

func testOfflineAPITokenLimits(t *testing.T, bin string) {
	dir := initDir(t, bin)
	mustCLI(t, bin, dir, "alice-password\n", "user", "add", "alice", "--password-stdin", "--refresh-enabled")
	if _, errOut, err := cli(t, bin, dir, "", "apitoken", "create", "alice", "--label", strings.Repeat("x", 101)); err == nil ||
		!strings.Contains(errOut, "at most 100 characters") {
		t.Fatalf("101-character label: %v\n%s", err, errOut)
	}
	for i := range 10 {
		out := mustCLI(t, bin, dir, "", "apitoken", "create", "alice", "--label", fmt.Sprint("ci-", i))
		if strings.Count(out, ".") != 2 {
			t.Fatalf("apitoken create printed %q, want a JWT", out)
		}
	}
	_, errOut, err := cli(t, bin, dir, "", "apitoken", "create", "alice", "--label", "eleventh")
	if err == nil || !strings.Contains(errOut, "at most 10 live API tokens") || !strings.Contains(errOut, "apitoken revoke") {
		t.Fatalf("eleventh API token: %v\n%s", err, errOut)
	}
}

func testUserLink(t *testing.T, bin string) {
	cfg := filepath.Join(t.TempDir(), "tokengate.yaml")
	err := os.WriteFile(cfg, []byte(`oidc:
  issuers:
    - id: auth0
      issuer: https://tenant.eu.auth0.com/
      audience: https://api.example.test
      allowed_subjects: ["auth0|alice"]
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	dir := initDir(t, bin, "--config", cfg)
	mustCLI(t, bin, dir, "alice-password\n", "user", "add", "alice", "--password-stdin", "--config", cfg)
	out := mustCLI(t, bin, dir, "", "user", "link", "alice", "--issuer", "auth0", "--subject", "auth0|alice", "--config", cfg)
	if !strings.Contains(out, "auth0|alice") || !strings.Contains(out, "https://tenant.eu.auth0.com/") || !strings.Contains(out, "alice") {
		t.Fatalf("user link printed %q", out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "link", "alice", "--issuer", "auth0", "--subject", "auth0|alice", "--config", cfg}, "already exists"},
		{[]string{"user", "link", "alice", "--issuer", "github", "--subject", "x", "--config", cfg}, `no issuer "github"`},
		{[]string{"user", "link", "nobody", "--issuer", "auth0", "--subject", "y", "--config", cfg}, "unknown user"},
		{[]string{"user", "link", "alice", "--issuer", "auth0", "--config", cfg}, "Usage:"},
	} {
		_, errOut, err := cli(t, bin, dir, "", tc.args...)
		if err == nil || !strings.Contains(errOut, tc.want) {
			t.Fatalf("tokengate %s: %v\n%s, want %q", strings.Join(tc.args, " "), err, errOut, tc.want)
		}
	}
}
