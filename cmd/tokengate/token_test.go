package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/engine"
)

// tokenGateway is a real node on loopback with users alice (refresh-enabled)
// and bob (not), plus an upstream under /upstream/ that checks bearer
// tokens with the engine; /upstream/sumo also wants a UserID, answering
// the proxy's WSAUTH error without one.
type tokenGateway struct {
	app *app.App
	url string

	mu      sync.Mutex
	signons int
}

func newTokenGateway(t *testing.T) *tokenGateway {
	t.Helper()
	ctx := context.Background()
	a := openTestApp(t, t.TempDir(), fastHashing)
	t.Cleanup(func() { a.Close() })
	if _, err := a.Engine.Bootstrap(ctx, "admin-password"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []engine.NewUser{{Name: "alice", Password: "pw-alice", RefreshEnabled: true}, {Name: "bob", Password: "pw-bobby"}} {
		if _, err := a.Engine.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	g := &tokenGateway{app: a}
	h := a.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/upstream/") {
			if r.URL.Path == "/oauth2/token" {
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				if strings.Contains(string(body), "grant_type=password") {
					g.mu.Lock()
					g.signons++
					g.mu.Unlock()
				}
			}
			h.ServeHTTP(w, r)
			return
		}
		if r.URL.Path == "/upstream/sumo" && r.Header.Get("UserID") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"reason":"Invalid WSAUTH: Valid UserID must be supplied","error":true}`)
			return
		}
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		c, err := a.Engine.VerifyAccess(tok)
		if err == nil {
			_, err = a.Engine.SessionLive(r.Context(), c.SessionID)
		}
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_token"}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"sub": c.Subject, "user": c.PreferredUsername, "userid": r.Header.Get("UserID"), "method": r.Method})
	}))
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

func (g *tokenGateway) signOns() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.signons
}

// cli runs the tokengate command in-process with its own config dir.
type tokenCLI struct {
	t         *testing.T
	configDir string
}

func newTokenCLI(t *testing.T) *tokenCLI {
	return &tokenCLI{t: t, configDir: filepath.Join(t.TempDir(), "cfg")}
}

func (c *tokenCLI) run(stdin string, args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(k string) string {
		if k == "TOKENGATE_CONFIG_DIR" {
			return c.configDir
		}
		return ""
	}}
	code = run(context.Background(), env, args)
	return out.String(), errb.String(), code
}

func TestTokenWithPassword(t *testing.T) {
	g := newTokenGateway(t)
	c := newTokenCLI(t)
	out, errOut, code := c.run("pw-alice\n", "token", "--server", g.url, "--username", "alice", "--password-stdin")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	tok := strings.TrimSuffix(out, "\n")
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") || strings.Count(tok, ".") != 2 || strings.ContainsAny(tok, " \t") {
		t.Fatalf("stdout %q is not one token and a newline", out)
	}
	if _, err := g.app.Engine.VerifyAccess(tok); err != nil {
		t.Errorf("printed token does not verify: %v", err)
	}
	if _, err := os.Stat(filepath.Join(c.configDir, "credentials.json")); !os.IsNotExist(err) {
		t.Error("token --username stored credentials; only login should")
	}
}

func TestLoginThenTokenAndAPI(t *testing.T) {
	g := newTokenGateway(t)
	c := newTokenCLI(t)
	if _, errOut, code := c.run("pw-alice\n", "login", "--server", g.url, "--username", "alice", "--password-stdin"); code != 0 {
		t.Fatalf("login: exit %d: %s", code, errOut)
	}
	path := filepath.Join(c.configDir, "credentials.json")
	for p, want := range map[string]os.FileMode{path: 0o600, c.configDir: 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), "pw-alice") {
		t.Fatal("the credentials file holds the password")
	}
	var stored struct {
		Server       string `json:"server"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(raw, &stored); err != nil || stored.Server != g.url || stored.RefreshToken == "" {
		t.Fatalf("stored login %s: %v", raw, err)
	}

	out, errOut, code := c.run("", "token")
	if code != 0 || out != stored.AccessToken+"\n" {
		t.Fatalf("token: exit %d, %q, %s; want the stored access token", code, out, errOut)
	}
	out, errOut, code = c.run("", "api", "GET", "/upstream/data")
	if code != 0 || !strings.Contains(out, `"user":"alice"`) {
		t.Fatalf("api: exit %d, %q, %s", code, out, errOut)
	}
	out, _, code = c.run("", "api", "POST", "/upstream/sumo", "--userid", "MU00000000-0000-0000-0000-000000000000", "--body", `{"a":1}`)
	if code != 0 || !strings.Contains(out, `"userid":"MU00000000-0000-0000-0000-000000000000"`) || !strings.Contains(out, `"method":"POST"`) {
		t.Fatalf("api with --userid: exit %d, %q", code, out)
	}
	if g.signOns() != 1 {
		t.Errorf("sign-ins = %d, want 1 (token and api use the stored login)", g.signOns())
	}

	// A revoked session: the next command renews by refresh and stores the
	// new tokens... but a revoked session's refresh token is refused too,
	// so the stored login is over.
	if err := g.app.Engine.RevokeSession(context.Background(), sessionID(t, stored.AccessToken), "test"); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = c.run("", "api", "GET", "/upstream/data")
	if code == 0 || !strings.Contains(errOut, "run `tokengate login` again") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("after revocation: exit %d, stderr %q", code, errOut)
	}
}

// A stored login whose access token is due is refreshed, and the rotated
// tokens are stored.
func TestStoredLoginIsRenewed(t *testing.T) {
	g := newTokenGateway(t)
	c := newTokenCLI(t)
	if _, errOut, code := c.run("pw-alice\n", "login", "--server", g.url, "--username", "alice", "--password-stdin"); code != 0 {
		t.Fatalf("login: %s", errOut)
	}
	path := filepath.Join(c.configDir, "credentials.json")
	var stored map[string]any
	raw, _ := os.ReadFile(path)
	json.Unmarshal(raw, &stored)
	// Make the stored access token look expired to the client by dropping
	// it: the client then refreshes.
	oldRT := stored["refresh_token"]
	delete(stored, "access_token")
	raw, _ = json.Marshal(stored)
	os.WriteFile(path, raw, 0o600)

	out, errOut, code := c.run("", "token")
	if code != 0 {
		t.Fatalf("token: exit %d: %s", code, errOut)
	}
	raw, _ = os.ReadFile(path)
	json.Unmarshal(raw, &stored)
	if stored["refresh_token"] == oldRT || stored["access_token"] != strings.TrimSpace(out) {
		t.Errorf("the renewed tokens were not stored: %s", raw)
	}
	if g.signOns() != 1 {
		t.Errorf("sign-ins = %d, want 1", g.signOns())
	}
}

func TestTokenFromRefreshTokenFile(t *testing.T) {
	g := newTokenGateway(t)
	c := newTokenCLI(t)
	// A rotating OAuth 2.0 refresh token, from a sign-in.
	dir := t.TempDir()
	file := filepath.Join(dir, "rt")
	out, errOut, code := c.run("pw-alice\n", "login", "--server", g.url, "--username", "alice", "--password-stdin")
	if code != 0 {
		t.Fatalf("login: %s", errOut)
	}
	var stored struct {
		RefreshToken string `json:"refresh_token"`
	}
	raw, _ := os.ReadFile(filepath.Join(c.configDir, "credentials.json"))
	json.Unmarshal(raw, &stored)
	if err := os.WriteFile(file, []byte(stored.RefreshToken+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	out, errOut, code = c.run("", "token", "--server", g.url, "--refresh-token-file", file)
	if code != 0 {
		t.Fatalf("token: exit %d: %s", code, errOut)
	}
	if _, err := g.app.Engine.VerifyAccess(strings.TrimSpace(out)); err != nil {
		t.Errorf("printed token does not verify: %v", err)
	}
	b, _ := os.ReadFile(file)
	rotated := strings.TrimSpace(string(b))
	if rotated == stored.RefreshToken || rotated == "" {
		t.Fatal("the refresh token file was not rewritten with the rotated token")
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("rewritten file mode %v, want 0600", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	// The rotated token works for the next run.
	if _, errOut, code = c.run("", "token", "--server", g.url, "--refresh-token-file", file); code != 0 {
		t.Fatalf("second run: %s", errOut)
	}
}

func TestClientCommandMessages(t *testing.T) {
	g := newTokenGateway(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	revoked := filepath.Join(t.TempDir(), "rt")
	os.WriteFile(revoked, []byte("not-a-refresh-token\n"), 0o600)

	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"unreachable server", "pw-alice\n", []string{"token", "--server", deadURL, "--username", "alice", "--password-stdin"}, "cannot reach the server at " + deadURL},
		{"bad credentials", "wrong\n", []string{"token", "--server", g.url, "--username", "alice", "--password-stdin"}, "sign-in refused: wrong username or password"},
		{"refresh not enabled", "pw-bobby\n", []string{"login", "--server", g.url, "--username", "bob", "--password-stdin"}, "refresh is not enabled for this login"},
		{"missing UserID", "", []string{"api", "GET", "/upstream/sumo"}, "this user belongs to several organisations: pass --userid MU"},
		{"password as argument refused", "", []string{"token", "--server", g.url, "--username", "alice"}, "--username needs --password-stdin"},
		{"bad refresh token file", "", []string{"token", "--server", g.url, "--refresh-token-file", revoked}, "has expired or was revoked"},
		{"not logged in", "", []string{"token"}, "not logged in"},
		{"wrong dialect", "pw-alice\n", []string{"token", "--server", g.url, "--dialect", "soap", "--username", "alice", "--password-stdin"}, "unknown dialect"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTokenCLI(t)
			if tc.name == "missing UserID" {
				if _, e, code := c.run("pw-alice\n", "login", "--server", g.url, "--username", "alice", "--password-stdin"); code != 0 {
					t.Fatal(e)
				}
			}
			out, errOut, code := c.run(tc.stdin, tc.args...)
			if code == 0 {
				t.Fatalf("exit 0, stdout %q", out)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing (it feeds $(...))", out)
			}
			line := strings.TrimSpace(errOut)
			if !strings.Contains(line, tc.want) || strings.Contains(line, "\n") {
				t.Errorf("stderr %q, want one line saying %q", errOut, tc.want)
			}
			if strings.Contains(errOut, "pw-") {
				t.Error("the message shows the password")
			}
		})
	}
	// Refresh not enabled: nothing was stored.
	c := newTokenCLI(t)
	c.run("pw-bobby\n", "login", "--server", g.url, "--username", "bob", "--password-stdin")
	if _, err := os.Stat(filepath.Join(c.configDir, "credentials.json")); !os.IsNotExist(err) {
		t.Error("a login without refresh token was stored")
	}
}

func sessionID(t *testing.T, tok string) string {
	t.Helper()
	g := strings.Split(tok, ".")
	if len(g) != 3 {
		t.Fatal("not a JWT")
	}
	b, err := base64URL(g[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Sid string `json:"sid"`
	}
	json.Unmarshal(b, &c)
	return c.Sid
}

func base64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
