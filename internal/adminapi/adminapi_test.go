package adminapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/adminapi"
	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/dialect/sentineltest"
	"github.com/tokengate/tokengate/internal/engine"
)

func TestAdminAndProfileAPI(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Password.MemoryKiB, cfg.Password.Iterations = 8192, 1
	a, err := app.Open(ctx, cfg, nil, app.Options{MasterKey: strings.Repeat("k", 43) + "="})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Engine.Bootstrap(ctx, "admin-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Engine.CreateUser(ctx, engine.NewUser{Name: "alice", Password: "alice-password", RefreshEnabled: true}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	token := func(user, pw string) string {
		g, err := a.Engine.SignOnPassword(ctx, engine.SignOnRequest{Service: "oauth2", ClientID: engine.DefaultClientID, Username: user, Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		return g.AccessToken
	}
	admin, alice := token("admin", "admin-password"), token("alice", "alice-password")
	call := func(tok, method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		_ = json.Unmarshal(b, &out)
		return resp.StatusCode, out
	}
	steps := []struct {
		name, tok, method, path, body string
		code                          int
		check                         func(map[string]any) bool
	}{
		{"no token", "", "GET", "/admin/api/organisations", "", 401, nil},
		{"not an admin", alice, "POST", "/admin/api/organisations", `{"name":"acme"}`, 403, nil},
		{"create organisation", admin, "POST", "/admin/api/organisations", `{"name":"acme","displayName":"Acme"}`, 201,
			func(m map[string]any) bool { return m["name"] == "acme" }},
		{"duplicate organisation", admin, "POST", "/admin/api/organisations", `{"name":"acme"}`, 409, nil},
		{"bad body", admin, "POST", "/admin/api/organisations", `{"nom":"x"}`, 400, nil},
		{"add membership", admin, "POST", "/admin/api/memberships", `{"user":"alice","organisation":"acme","channels":["acme_ALL"]}`, 201,
			func(m map[string]any) bool { return strings.HasPrefix(m["id"].(string), "MU") }},
		{"unknown organisation", admin, "POST", "/admin/api/memberships", `{"user":"alice","organisation":"nope"}`, 404, nil},
		{"organisation in use", admin, "DELETE", "/admin/api/organisations/acme", "", 409, nil},
		{"profile token", alice, "POST", "/profile/api-tokens", `{"label":"laptop"}`, 201,
			func(m map[string]any) bool {
				s, _ := m["refresh_token"].(string)
				return s != "" && m["label"] == "laptop"
			}},
	}
	var mu string
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			code, out := call(s.tok, s.method, s.path, s.body)
			if code != s.code || (s.check != nil && !s.check(out)) {
				t.Fatalf("%d %v", code, out)
			}
			if s.name == "add membership" {
				mu = out["id"].(string)
			}
		})
	}
	if code, out := call(admin, "PUT", "/admin/api/memberships/"+mu+"/channels", `{"channels":["a","b"]}`); code != 200 || len(out["channels"].([]any)) != 2 {
		t.Fatalf("set channels: %d %v", code, out)
	}
	if code, out := call(admin, "DELETE", "/admin/api/memberships/"+mu, ""); code != 200 || out["removedAt"] == nil {
		t.Fatalf("remove: %d %v", code, out)
	}
	if code, _ := call(admin, "DELETE", "/admin/api/organisations/acme", ""); code != 204 {
		t.Fatalf("delete organisation: %d", code)
	}
}

// TestEverySentinelHasAStatusAndBody: every engine sentinel, bare or
// wrapped with internal text, gets the admin API's {error, message} and no
// internal text (sentineltest).
func TestEverySentinelHasAStatusAndBody(t *testing.T) {
	sentineltest.Run(t, func(w http.ResponseWriter, err error) {
		adminapi.WriteError(w, httptest.NewRequest(http.MethodGet, "/admin/api/organisations", nil), err)
	}, func(b map[string]any) bool { return sentineltest.Text(b, "error") && sentineltest.Text(b, "message") })
}
