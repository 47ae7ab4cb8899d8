package main

// TestLostDatabaseFile is the threat model's "lost database file"
// (docs/SECURITY.md): after a server has signed users on, refreshed,
// issued a client secret and a web sign-in, and was killed (its WAL left
// as it was), no file of the database holds any password, token, client
// secret, browser cookie or the master key, in any common encoding; and a
// copy of the database under another master key does not start.

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestLostDatabaseFile(t *testing.T) {
	bin := buildTokengate(t)
	dir := t.TempDir()
	g := startGateway(t, bin, dir, freeAddr(t), "", "TOKENGATE_ADMIN_PASSWORD="+serveAdminPassword)
	mustCLI(t, bin, dir, serveBobPassword+"\n", "user", "add", "bob", "--password-stdin", "--refresh-enabled")
	secrets := map[string]string{"admin password": serveAdminPassword, "bob's password": serveBobPassword}

	p := g.password("bob", serveBobPassword)
	r := g.refresh(p.str("refresh_token"))
	if p.status != http.StatusOK || r.status != http.StatusOK {
		t.Fatalf("sign-on and refresh: %d %d", p.status, r.status)
	}
	secrets["access token"], secrets["refresh token"] = p.str("access_token"), p.str("refresh_token")
	secrets["rotated access token"], secrets["rotated refresh token"] = r.str("access_token"), r.str("refresh_token")

	m := regexp.MustCompile(`client_secret:\s+(\S+)`).FindStringSubmatch(mustCLI(t, bin, dir, "", "client", "add", "svc", "--grant", "client_credentials"))
	if m == nil {
		t.Fatal("client add printed no secret")
	}
	cc := postForm(t, g.URL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, "svc", m[1])
	if cc.status != http.StatusOK {
		t.Fatalf("client credentials: %d %s", cc.status, cc.raw)
	}
	secrets["client secret"], secrets["client's access token"] = m[1], cc.str("access_token")

	_, set := webSignIn(t, browserClient(nil), g.URL, "bob", serveBobPassword)
	for _, line := range set {
		if c, err := http.ParseSetCookie(line); err == nil && c.Name == "tokengate_session" {
			secrets["web session cookie"] = c.Value
		}
	}

	// master.key is base64 text of the 32-byte key.
	keyText, err := os.ReadFile(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(keyText)))
	if err != nil || len(key) != 32 {
		t.Fatalf("master.key: %d bytes, %v", len(key), err)
	}
	secrets["master key (raw)"], secrets["master key (base64)"] = string(key), base64.StdEncoding.EncodeToString(key)
	secrets["master key (base64url)"], secrets["master key (hex)"] = base64.RawURLEncoding.EncodeToString(key), hex.EncodeToString(key)

	g.kill() // kill -9: the WAL stays as the server left it
	files, err := filepath.Glob(filepath.Join(dir, "tokengate.db*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no database files in %s: %v", dir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for name, s := range secrets {
			if s == "" {
				t.Fatalf("%s is empty", name)
			}
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds the %s", filepath.Base(f), name)
			}
		}
	}

	// The copy, without master.key, under another master key: refused.
	copyDir := filepath.Join(t.TempDir(), "copy")
	if err := os.Mkdir(copyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if err := os.WriteFile(filepath.Join(copyDir, filepath.Base(f)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "serve", "--data", copyDir, "--listen", freeAddr(t))
	cmd.Env = hermeticEnv("TOKENGATE_MASTER_KEY=" + strings.Repeat("ab", 32))
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "wrong master key") {
		t.Fatalf("serve on a copy of the database under another master key: %v\n%s", err, out)
	}
}

// webSignIn signs in to the web UI at base with hc and returns the
// Set-Cookie lines of the sign-in page and of the sign-in's answer.
func webSignIn(t *testing.T, hc *http.Client, base, user, password string) (page, signIn []string) {
	t.Helper()
	resp, err := hc.Get(base + "/ui/signin")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page = resp.Header.Values("Set-Cookie")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on the sign-in page: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/ui/signin", strings.NewReader(url.Values{"csrf": {string(m[1])},
		"username": {user}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	if resp, err = hc.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("web sign-in: %s", resp.Status)
	}
	return page, resp.Header.Values("Set-Cookie")
}

// browserClient is a client with a cookie jar that does not follow
// redirects, over tr (nil: the default transport).
func browserClient(tr http.RoundTripper) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Timeout: hangBound, Jar: jar, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
