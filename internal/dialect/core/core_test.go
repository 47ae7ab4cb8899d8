package core_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/dialect/core"
	"github.com/tokengate/tokengate/internal/dialect/sentineltest"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

const pw = "alice-pass-1"

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// seedClaims are the claims of the Core seed's tokens.
var seedClaims = []string{"exi", "exp", "iat", "iss", "jti", "sub", "usefor"}

func checkClaims(t *testing.T, tok, use string, exi float64) map[string]any {
	t.Helper()
	c := apptest.Claims(t, tok)
	for _, k := range seedClaims {
		if _, ok := c[k]; !ok {
			t.Errorf("%s token lacks claim %q: %v", use, k, c)
		}
	}
	if c["usefor"] != use || c["exi"] != exi || c["sub"] != "alice" {
		t.Errorf("%s token: usefor %v exi %v sub %v", use, c["usefor"], c["exi"], c["sub"])
	}
	if c["exp"].(float64)-c["iat"].(float64) != exi {
		t.Errorf("%s token: exp-iat %v, want %v", use, c["exp"].(float64)-c["iat"].(float64), exi)
	}
	return c
}

func isFullAbout(t *testing.T, r apptest.Response) bool {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("GET /api: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	if m["app"] != "datarhei-core" {
		t.Fatalf("app %v", m["app"])
	}
	v := m["version"].(map[string]any)
	if v["number"] != "16.16.0" {
		t.Fatalf("version %v", v)
	}
	auths := m["auths"].([]any)
	if !slices.Contains(auths, any("localjwt")) || !slices.Contains(auths, any("auth0 example.eu.auth0.com")) {
		t.Fatalf("auths %v", auths)
	}
	_, full := m["id"]
	if full {
		if !strings.Contains(m["name"].(string), "tokengate") || m["created_at"] == nil || m["uptime_seconds"] == nil || v["arch"] == nil || v["compiler"] == nil {
			t.Fatalf("full about incomplete: %s", r.Body)
		}
	} else if len(m) != 3 {
		t.Fatalf("minimal about has extra fields: %s", r.Body)
	}
	return full
}

func TestCoreFlow(t *testing.T) {
	s := apptest.New(t, nil)
	s.User(t, "", "alice", pw, true)

	minimal := s.Do(t, "GET", "/api", nil, "")
	if isFullAbout(t, minimal) {
		t.Fatal("about without a token is the full shape")
	}
	apptest.Golden(t, "about_minimal", minimal.Body)
	login := s.Do(t, "POST", "/api/login", map[string]string{"X-Correlation-Id": "core-corr-1"}, `{"username":"alice","password":"`+pw+`"}`)
	if login.Status != http.StatusOK {
		t.Fatalf("login: %d %s", login.Status, login.Body)
	}
	if got := login.Header.Get("X-Correlation-Id"); got != "core-corr-1" {
		t.Fatalf("correlation id echoed %q", got)
	}
	apptest.Golden(t, "login", login.Body, "access_token", "refresh_token")
	lb := login.JSON(t)
	if len(lb) != 2 {
		t.Fatalf("login body %s", login.Body)
	}
	at, rt := lb["access_token"].(string), lb["refresh_token"].(string)
	checkClaims(t, at, "access", 600)
	checkClaims(t, rt, "refresh", 86400)

	full := s.Do(t, "GET", "/api/", bearer(at), "")
	if !isFullAbout(t, full) {
		t.Fatal("about with a valid access token is not the full shape")
	}
	apptest.Golden(t, "about_full", full.Body, "id", "created_at", "uptime_seconds", "repository_commit", "build_date", "arch", "compiler")
	if isFullAbout(t, s.Do(t, "GET", "/api", bearer(rt), "")) {
		t.Fatal("a refresh token was accepted as an access token")
	}
	s.Clock.Advance(700 * time.Second) // past exp (600 s) and the leeway
	if isFullAbout(t, s.Do(t, "GET", "/api", bearer(at), "")) {
		t.Fatal("an expired access token got the full about")
	}

	for i := range 2 {
		r := s.Do(t, "GET", "/api/login/refresh", bearer(rt), "")
		if r.Status != http.StatusOK {
			t.Fatalf("refresh %d: %d %s", i+1, r.Status, r.Body)
		}
		m := r.JSON(t)
		apptest.Golden(t, "refresh", r.Body, "access_token")
		if len(m) != 1 || m["access_token"] == nil {
			t.Fatalf("refresh %d body %s", i+1, r.Body)
		}
		at2 := m["access_token"].(string)
		checkClaims(t, at2, "access", 600)
		if !isFullAbout(t, s.Do(t, "GET", "/api", bearer(at2), "")) {
			t.Fatalf("refreshed access token %d not accepted", i+1)
		}
		s.Clock.Advance(time.Minute)
	}

	// Sign off: Core has no logout endpoint; the session is revoked (as
	// by the admin CLI or the profile page) and both tokens stop working.
	sid := apptest.Claims(t, rt)["sid"].(string)
	if err := s.App.Engine.RevokeSession(context.Background(), sid, "test"); err != nil {
		t.Fatal(err)
	}
	if r := s.Do(t, "GET", "/api/login/refresh", bearer(rt), ""); r.Status != http.StatusUnauthorized {
		t.Fatalf("refresh after sign-off: %d %s", r.Status, r.Body)
	}

	logs := s.Logs()
	for _, secret := range []string{pw, at, rt} {
		if strings.Contains(logs, secret) {
			t.Fatal("a password or token reached the log")
		}
	}
	if !strings.Contains(logs, "correlation_id=core-corr-1") {
		t.Fatalf("no log line carries the login's correlation id:\n%s", logs)
	}
	ev, err := s.App.Store.ListAudit(context.Background(), store.AuditFilter{CorrelationID: "core-corr-1"})
	if err != nil || len(ev) != 1 || ev[0].Type != "signon" {
		t.Fatalf("audit events of the login's correlation id: %v %+v", err, ev)
	}
}

func TestCoreExternalLogin(t *testing.T) {
	s := apptest.New(t, nil)
	r := s.Do(t, "POST", "/api/login", bearer(s.ExternalToken(t, "auth0|alice", nil)), "")
	if r.Status != http.StatusOK {
		t.Fatalf("external login: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	checkClaims(t, m["access_token"].(string), "access", 600)
	rt := m["refresh_token"].(string)
	checkClaims(t, rt, "refresh", 86400)
	if r := s.Do(t, "GET", "/api/login/refresh", bearer(rt), ""); r.Status != http.StatusOK {
		t.Fatalf("refresh of an external login: %d %s", r.Status, r.Body)
	}
}

func TestCoreErrors(t *testing.T) {
	s := apptest.New(t, nil)
	ctx := context.Background()
	s.User(t, "", "alice", pw, true)
	s.User(t, "", "nora", pw, false)
	s.User(t, "", "dora", pw, true)
	login := func(user string) map[string]any {
		r := s.Do(t, "POST", "/api/login", nil, `{"username":"`+user+`","password":"`+pw+`"}`)
		if r.Status != http.StatusOK {
			t.Fatalf("login %s: %d %s", user, r.Status, r.Body)
		}
		return r.JSON(t)
	}
	alice := login("alice")
	dora := login("dora")
	u, _ := s.App.Engine.User(ctx, "", "dora")
	yes := true
	if _, err := s.App.Engine.UpdateUser(ctx, u.ID, engine.UserUpdate{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	ags := s.Do(t, "POST", "/ags/signOn", map[string]string{"x-auth-service-id": "password"},
		`{"parameters":[{"name":"username","value":"alice"},{"name":"password","value":"`+pw+`"}]}`)
	if ags.Status != http.StatusOK {
		t.Fatalf("ags sign-on: %d %s", ags.Status, ags.Body)
	}
	agsRT := ags.JSON(t)["refresh_token"].(string)

	tests := []struct {
		name   string
		method string
		path   string
		header map[string]string
		body   string
		status int
	}{
		{"malformed JSON", "POST", "/api/login", nil, `{"username":`, 400},
		{"trailing data", "POST", "/api/login", nil, `{"username":"a","password":"b"} {}`, 400},
		{"missing password", "POST", "/api/login", nil, `{"username":"alice"}`, 400},
		{"not JSON", "POST", "/api/login", map[string]string{"Content-Type": "text/plain"}, `username=alice`, 400},
		{"a form", "POST", "/api/login", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, `username=alice&password=` + pw, 400},
		{"JSON as multipart", "POST", "/api/login", map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, `{"username":"alice","password":"` + pw + `"}`, 400},
		{"no body and no token", "POST", "/api/login", nil, "", 400},
		{"wrong password", "POST", "/api/login", nil, `{"username":"alice","password":"nope"}`, 401},
		{"unknown user", "POST", "/api/login", nil, `{"username":"zed","password":"nope"}`, 401},
		{"disabled user", "POST", "/api/login", nil, `{"username":"dora","password":"` + pw + `"}`, 401},
		{"external user not allowed", "POST", "/api/login", bearer(s.ExternalToken(t, "auth0|mallory", nil)), "", 401},
		{"external wrong audience", "POST", "/api/login", bearer(s.ExternalToken(t, "auth0|alice", map[string]any{"aud": "other"})), "", 401},
		{"external expired", "POST", "/api/login", bearer(s.ExternalToken(t, "auth0|alice", map[string]any{"exp": s.Clock.Now().Unix() - 3600})), "", 401},
		{"refresh without token", "GET", "/api/login/refresh", nil, "", 401},
		{"refresh with garbage", "GET", "/api/login/refresh", bearer("garbage"), "", 401},
		{"refresh with an access token", "GET", "/api/login/refresh", bearer(alice["access_token"].(string)), "", 401},
		{"refresh with a rotating AGS token", "GET", "/api/login/refresh", bearer(agsRT), "", 401},
		{"refresh of a disabled user", "GET", "/api/login/refresh", bearer(dora["refresh_token"].(string)), "", 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Do(t, tc.method, tc.path, tc.header, tc.body)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if tc.name == "wrong password" {
				apptest.Golden(t, "error_401", r.Body)
			}
			m := r.JSON(t)
			if m["code"] != float64(tc.status) || m["message"] == "" || m["details"] == nil {
				t.Fatalf("not Core's error shape: %s", r.Body)
			}
		})
	}

	t.Run("curl -d without a Content-Type", func(t *testing.T) {
		// curl -d sends application/x-www-form-urlencoded; a JSON object
		// body is still read as JSON.
		r := s.Do(t, "POST", "/api/login", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			`{"username":"alice","password":"`+pw+`"}`)
		if r.Status != http.StatusOK || r.JSON(t)["refresh_token"] == "" {
			t.Fatalf("login: %d %s", r.Status, r.Body)
		}
	})

	t.Run("no refresh token without refresh enabled", func(t *testing.T) {
		if rt := login("nora")["refresh_token"]; rt != "" {
			t.Fatalf("refresh_token %v", rt)
		}
	})
	t.Run("refresh token expires after 86400 s", func(t *testing.T) {
		s.Clock.Advance(86401 * time.Second)
		r := s.Do(t, "GET", "/api/login/refresh", bearer(alice["refresh_token"].(string)), "")
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
	})
}

// TestEverySentinelHasAStatusAndBody: every engine sentinel, bare or
// wrapped with internal text, gets Core's {code, message, details} and no
// internal text (sentineltest).
func TestEverySentinelHasAStatusAndBody(t *testing.T) {
	sentineltest.Run(t, func(w http.ResponseWriter, err error) { core.WriteError(context.Background(), w, err) },
		func(b map[string]any) bool {
			details, _ := b["details"].([]any)
			return b["code"] != nil && sentineltest.Text(b, "message") && len(details) > 0
		})
}

// TestCorePing checks the unauthenticated liveness check Core clients
// call: GET /ping answers "pong" as text, as datarhei Core does
// (http/handler/ping.go there), with or without a token.
func TestCorePing(t *testing.T) {
	s := apptest.New(t, nil)
	for _, h := range []map[string]string{nil, bearer("garbage")} {
		r := s.Do(t, "GET", "/ping", h, "")
		if r.Status != http.StatusOK || string(r.Body) != "pong" {
			t.Fatalf("GET /ping: %d %q", r.Status, r.Body)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Fatalf("GET /ping: Content-Type %q", ct)
		}
	}
	if r := s.Do(t, "POST", "/ping", nil, ""); r.Status != http.StatusMethodNotAllowed {
		t.Fatalf("POST /ping: %d %s", r.Status, r.Body)
	}
}
