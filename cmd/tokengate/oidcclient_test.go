package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// testOIDCClient registers a browser client with its redirect URIs, shows
// it, changes them, and sees bad registrations refused in words.
func testOIDCClient(t *testing.T, bin string) {
	dir := filepath.Join(t.TempDir(), "data")
	initData(t, bin, dir)
	out := mustCLI(t, bin, dir, "", "client", "add", "spa", "--public", "--first-party",
		"--redirect-uri", "https://spa.example/cb", "--redirect-uri", "http://127.0.0.1:8080/cb",
		"--post-logout-redirect-uri", "https://spa.example/", "--scope", "openid,profile")
	for _, want := range []string{"client_id:     spa\n", "kind:          public, first-party\n",
		"grant types:   authorization_code, refresh_token\n", "redirect URIs: https://spa.example/cb http://127.0.0.1:8080/cb\n",
		"post-logout:   https://spa.example/\n", "scopes:        openid profile\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("client add output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "client_secret") {
		t.Errorf("a public client got a secret:\n%s", out)
	}
	out = mustCLI(t, bin, dir, "", "client", "add", "web", "--redirect-uri", "https://app.example/oidc/callback")
	if !strings.Contains(out, "client_secret: ") || !strings.Contains(out, "kind:          confidential\n") {
		t.Errorf("a confidential browser client:\n%s", out)
	}
	out = mustCLI(t, bin, dir, "", "client", "set", "spa", "--redirect-uri", "https://spa.example/cb2", "--first-party=false")
	if !strings.Contains(out, "redirect URIs: https://spa.example/cb2\n") || !strings.Contains(out, "kind:          public\n") {
		t.Errorf("client set output:\n%s", out)
	}
	if out := mustCLI(t, bin, dir, "", "client", "show", "spa"); !strings.Contains(out, "https://spa.example/cb2") || strings.Contains(out, "8080") {
		t.Errorf("client show after set:\n%s", out)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"wildcard", []string{"client", "add", "w1", "--redirect-uri", "https://*.example/cb"}, "no wildcards"},
		{"fragment", []string{"client", "add", "w2", "--redirect-uri", "https://app.example/cb#x"}, "no fragment"},
		{"plain http", []string{"client", "add", "w3", "--redirect-uri", "http://app.example/cb"}, "http only to a loopback address"},
		{"relative", []string{"client", "add", "w4", "--redirect-uri", "/cb"}, "not an absolute URI"},
		{"code without redirect", []string{"client", "add", "w5", "--grant", "authorization_code"}, "needs at least one redirect URI"},
		{"clear the only redirect", []string{"client", "set", "web", "--redirect-uri", ""}, "needs at least one redirect URI"},
		{"bad post-logout", []string{"client", "set", "web", "--post-logout-redirect-uri", "javascript:alert(1)"}, "post-logout redirect URI"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := run1(t, bin, "", nil, append(tc.args, "--data", dir)...)
			if err == nil {
				t.Fatalf("accepted:\n%s", out)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q does not say %q", errOut, tc.want)
			}
		})
	}
}
