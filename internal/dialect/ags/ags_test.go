package ags_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/dialect/ags"
	"github.com/tokengate/tokengate/internal/dialect/sentineltest"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

const pw = "alice-pass-1"

func params(kv ...string) string {
	s := `{"parameters":[`
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			s += ","
		}
		s += `{"name":"` + kv[i] + `","value":"` + kv[i+1] + `"}`
	}
	return s + "]}"
}

func hdr(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func signOn(t *testing.T, s *apptest.Server, tenant, user string) map[string]any {
	t.Helper()
	r := s.Do(t, "POST", "/ags/signOn", hdr("x-auth-service-id", "password", "nv-tenant-id", tenant), params("username", user, "password", pw))
	if r.Status != http.StatusOK {
		t.Fatalf("signOn %s/%s: %d %s", tenant, user, r.Status, r.Body)
	}
	return r.JSON(t)
}

func TestAGSDiscovery(t *testing.T) {
	s := apptest.New(t, nil)
	for _, path := range []string{"/servicediscovery", "/ags/servicediscovery"} {
		for _, tenant := range []string{"", "default"} {
			r := s.Do(t, "GET", path, hdr("nv-tenant-id", tenant), "")
			if r.Status != http.StatusOK {
				t.Fatalf("%s tenant %q: %d %s", path, tenant, r.Status, r.Body)
			}
			apptest.Golden(t, "discovery", r.Body)
			svcs := r.JSON(t)["availableServices"].([]any)
			if len(svcs) != 2 {
				t.Fatalf("services %s", r.Body)
			}
			pwd, oidc := svcs[0].(map[string]any), svcs[1].(map[string]any)
			if pwd["authServiceName"] != "password" || oidc["authServiceName"] != "auth0" ||
				oidc["displayAttributes"].(map[string]any)["name"] != "Example Auth0" {
				t.Fatalf("services %s", r.Body)
			}
			ep := pwd["endpoints"].([]any)[0].(map[string]any)
			pp := ep["parameterProperties"].([]any)
			if ep["name"] != "SIGNON" || ep["path"] != "/signOn" || len(pp) != 3 {
				t.Fatalf("SIGNON endpoint %v", ep)
			}
			if p := pp[1].(map[string]any); p["name"] != "password" || p["mandatory"] != true || p["isPassword"] != true {
				t.Fatalf("password parameter %v", p)
			}
			if ep := oidc["endpoints"].([]any)[0].(map[string]any); ep["parameterProperties"].([]any)[0].(map[string]any)["name"] != "id_token" {
				t.Fatalf("OIDC SIGNON endpoint %v", ep)
			}
		}
	}
	if r := s.Do(t, "GET", "/servicediscovery", hdr("nv-tenant-id", "nosuch"), ""); r.Status != http.StatusNotFound {
		t.Fatalf("unknown tenant: %d %s", r.Status, r.Body)
	}
}

func TestAGSFlow(t *testing.T) {
	s := apptest.New(t, nil)
	s.User(t, "", "alice", pw, true)
	u, _ := s.App.Engine.User(context.Background(), "", "alice")

	r := s.Do(t, "POST", "/ags/signOn", hdr("x-auth-service-id", "password", "nv-tenant-id", "default", "x-correlation-id", "ags-corr-1"),
		params("username", "alice", "password", pw, "deviceId", "PUB_989"))
	if r.Status != http.StatusOK {
		t.Fatalf("signOn: %d %s", r.Status, r.Body)
	}
	if got := r.Header.Get("X-Correlation-Id"); got != "ags-corr-1" {
		t.Fatalf("correlation id echoed %q", got)
	}
	apptest.Golden(t, "signon", r.Body, "access_token", "refresh_token", "accountId")
	m := r.JSON(t)
	want := map[string]any{"client_id": "PUB_989", "accountId": u.ID, "token_type": "bearer",
		"expires_in": 3600.0, "refresh_expires_in": 172800.0, "fixed_refresh_expires_in": 2592000.0}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	at, rt := m["access_token"].(string), m["refresh_token"].(string)
	ac := apptest.Claims(t, at)
	claimsJSON, _ := json.Marshal(ac)
	apptest.Golden(t, "access_claims", claimsJSON, "iss", "exp", "nbf", "iat", "jti", "sid", "sub", "accountId", "userId", "fixed_exp")
	// The seed shows no sub: AGS tokens carry the standard one, the
	// user's id, which AGS's own userId and accountId also are.
	if ac["sub"] != u.ID || ac["preferred_username"] != "alice" {
		t.Errorf("sub %v preferred_username %v, want %s and alice", ac["sub"], ac["preferred_username"], u.ID)
	}
	fixedExp := ac["iat"].(float64) + 2592000
	checkAGSClaims(t, ac, "DevAuthN", u.ID, fixedExp)
	checkAGSClaims(t, apptest.Claims(t, rt), "RefreshAuthN", u.ID, fixedExp)

	v := s.Do(t, "GET", "/ags/validate", hdr("Authorization", "Bearer "+at), "")
	if v.Status != http.StatusOK || v.JSON(t)["accountId"] != u.ID {
		t.Fatalf("validate: %d %s", v.Status, v.Body)
	}

	var latestAT string
	for i, auth := range []string{"bare", "Bearer"} {
		s.Clock.Advance(time.Hour)
		h := hdr("x-auth-service-id", "password", "nv-tenant-id", "default", "Authorization", rt)
		if auth == "Bearer" {
			h["Authorization"] = "Bearer " + rt
		}
		r := s.Do(t, "POST", "/ags/refresh", h, params("username", "alice"))
		if r.Status != http.StatusOK {
			t.Fatalf("refresh %d: %d %s", i+1, r.Status, r.Body)
		}
		m := r.JSON(t)
		if m["refresh_token"] == nil || m["refresh_token"] == rt {
			t.Fatalf("refresh %d did not rotate the refresh token", i+1)
		}
		if m["refresh_expires_in"] != 172800.0 || m["fixed_refresh_expires_in"] != float64(2592000-3600*(i+1)) || m["client_id"] != "PUB_989" {
			t.Fatalf("refresh %d lifetimes: %s", i+1, r.Body)
		}
		rt, latestAT = m["refresh_token"].(string), m["access_token"].(string)
		checkAGSClaims(t, apptest.Claims(t, latestAT), "DevAuthN", u.ID, fixedExp)
		checkAGSClaims(t, apptest.Claims(t, rt), "RefreshAuthN", u.ID, fixedExp)
	}

	if r := s.Do(t, "POST", "/ags/signOff", hdr("Authorization", "Bearer "+latestAT, "x-correlation-id", "ags-corr-2"), ""); r.Status != http.StatusNoContent {
		t.Fatalf("signOff: %d %s", r.Status, r.Body)
	}
	if r := s.Do(t, "GET", "/ags/validate", hdr("Authorization", "Bearer "+latestAT), ""); r.Status != http.StatusUnauthorized {
		t.Fatalf("validate after signOff: %d %s", r.Status, r.Body)
	}
	if r := s.Do(t, "POST", "/ags/refresh", hdr("x-auth-service-id", "password", "Authorization", rt), ""); r.Status != http.StatusUnauthorized {
		t.Fatalf("refresh after signOff: %d %s", r.Status, r.Body)
	}

	for corr, typ := range map[string]string{"ags-corr-1": "signon", "ags-corr-2": "session.revoke"} {
		ev, err := s.App.Store.ListAudit(context.Background(), store.AuditFilter{CorrelationID: corr})
		if err != nil || len(ev) != 1 || ev[0].Type != typ {
			t.Fatalf("audit events of %s: %v %+v", corr, err, ev)
		}
	}
}

func checkAGSClaims(t *testing.T, c map[string]any, typ, userID string, fixedExp float64) {
	t.Helper()
	for k, v := range map[string]any{"typ": typ, "tenantId": "default", "accountId": userID, "userId": userID, "deviceId": "PUB_989", "fixed_exp": fixedExp} {
		if c[k] != v {
			t.Errorf("%s claim %s = %v, want %v", typ, k, c[k], v)
		}
	}
	sc, _ := c["sessionControl"].(map[string]any)
	if sc["maxSessions"] != 0.0 || sc["sessionControlEnabled"] != false {
		t.Errorf("sessionControl %v", c["sessionControl"])
	}
	if c["jti"] == nil || c["exp"] == nil {
		t.Errorf("claims lack jti/exp: %v", c)
	}
}

func TestAGSOIDCService(t *testing.T) {
	s := apptest.New(t, nil)
	r := s.Do(t, "POST", "/ags/signOn", hdr("x-auth-service-id", "auth0"), params("id_token", s.ExternalToken(t, "auth0|alice", nil)))
	if r.Status != http.StatusOK {
		t.Fatalf("OIDC signOn: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	if m["client_id"] != "auth0" || m["fixed_refresh_expires_in"] != 2592000.0 {
		t.Fatalf("OIDC signOn body %s", r.Body)
	}
	rt := m["refresh_token"].(string)
	if r := s.Do(t, "POST", "/ags/refresh", hdr("x-auth-service-id", "password", "Authorization", rt), ""); r.Status != http.StatusForbidden {
		t.Fatalf("refresh under another service: %d %s", r.Status, r.Body)
	}
	if r := s.Do(t, "POST", "/ags/refresh", hdr("x-auth-service-id", "auth0", "Authorization", rt), ""); r.Status != http.StatusOK {
		t.Fatalf("OIDC refresh: %d %s", r.Status, r.Body)
	}
	for name, tc := range map[string]struct {
		tok    string
		status int
	}{
		"not allowed":    {s.ExternalToken(t, "auth0|mallory", nil), http.StatusForbidden},
		"wrong audience": {s.ExternalToken(t, "auth0|alice", map[string]any{"aud": "other"}), http.StatusUnauthorized},
		"garbage":        {"x.y.z", http.StatusUnauthorized},
	} {
		t.Run(name, func(t *testing.T) {
			r := s.Do(t, "POST", "/ags/signOn", hdr("x-auth-service-id", "auth0"), params("id_token", tc.tok))
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
		})
	}
}

func TestAGSErrors(t *testing.T) {
	s := apptest.New(t, nil)
	ctx := context.Background()
	eng := s.App.Engine
	for _, tn := range []string{"acme", "limited", "closed"} {
		if _, err := eng.CreateTenant(ctx, engine.NewTenant{Name: tn}); err != nil {
			t.Fatal(err)
		}
	}
	s.User(t, "", "alice", pw, true)
	s.User(t, "", "dora", pw, true)
	s.User(t, "limited", "lim", pw, true)
	s.User(t, "closed", "cole", pw, true)
	if _, err := eng.SetSessionLimit(ctx, "limited", 1, store.LimitReject); err != nil {
		t.Fatal(err)
	}
	lim := signOn(t, s, "limited", "lim")
	if sc := apptest.Claims(t, lim["access_token"].(string))["sessionControl"].(map[string]any); sc["maxSessions"] != 1.0 || sc["sessionControlEnabled"] != true {
		t.Fatalf("sessionControl of a limited tenant: %v", sc)
	}
	closed, _ := eng.Tenant(ctx, "closed")
	closed.Disabled = true
	if err := s.App.Store.UpdateTenant(ctx, closed); err != nil {
		t.Fatal(err)
	}
	alice := signOn(t, s, "", "alice")
	dora := signOn(t, s, "", "dora")
	d, _ := eng.User(ctx, "", "dora")
	yes := true
	if _, err := eng.UpdateUser(ctx, d.ID, engine.UserUpdate{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	core := s.Do(t, "POST", "/api/login", nil, `{"username":"alice","password":"`+pw+`"}`).JSON(t)
	// A rotated family: its first token is superseded once the grace
	// window has passed.
	reused := signOn(t, s, "", "alice")["refresh_token"].(string)
	if r := s.Do(t, "POST", "/ags/refresh", hdr("x-auth-service-id", "password", "Authorization", reused), ""); r.Status != 200 {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	s.Clock.Advance(time.Minute)

	rt, at := alice["refresh_token"].(string), alice["access_token"].(string)
	pwd := func(kv ...string) map[string]string {
		return hdr(append([]string{"x-auth-service-id", "password"}, kv...)...)
	}
	good := params("username", "alice", "password", pw)
	tests := []struct {
		name   string
		path   string
		header map[string]string
		body   string
		status int
	}{
		{"signOn without service header", "/ags/signOn", nil, good, 400},
		{"signOn unknown service", "/ags/signOn", hdr("x-auth-service-id", "github"), good, 400},
		{"signOn malformed JSON", "/ags/signOn", pwd(), `{"parameters":`, 400},
		{"signOn unknown body field", "/ags/signOn", pwd(), `{"params":[]}`, 400},
		{"signOn missing password", "/ags/signOn", pwd(), params("username", "alice"), 400},
		{"signOn empty password", "/ags/signOn", pwd(), params("username", "alice", "password", ""), 400},
		{"signOn unknown parameter", "/ags/signOn", pwd(), params("username", "alice", "password", pw, "role", "admin"), 400},
		{"signOn repeated parameter", "/ags/signOn", pwd(), params("username", "alice", "username", "bob", "password", pw), 400},
		{"signOn no body", "/ags/signOn", pwd(), "", 400},
		{"signOn wrong password", "/ags/signOn", pwd(), params("username", "alice", "password", "nope"), 401},
		{"signOn unknown user", "/ags/signOn", pwd(), params("username", "zed", "password", pw), 401},
		{"signOn unknown tenant", "/ags/signOn", pwd("nv-tenant-id", "nosuch"), good, 401},
		{"signOn disabled account", "/ags/signOn", pwd(), params("username", "dora", "password", pw), 403},
		{"signOn disabled tenant", "/ags/signOn", pwd("nv-tenant-id", "closed"), params("username", "cole", "password", pw), 403},
		{"signOn session limit", "/ags/signOn", pwd("nv-tenant-id", "limited"), params("username", "lim", "password", pw), 403},
		{"refresh without Authorization", "/ags/refresh", pwd(), "", 400},
		{"refresh without service header", "/ags/refresh", hdr("Authorization", rt), "", 400},
		{"refresh unknown parameter", "/ags/refresh", pwd("Authorization", rt), params("password", pw), 400},
		{"refresh garbage token", "/ags/refresh", pwd("Authorization", "garbage"), "", 401},
		{"refresh with an access token", "/ags/refresh", pwd("Authorization", at), "", 401},
		{"refresh reused token", "/ags/refresh", pwd("Authorization", reused), "", 401},
		{"refresh tenant mismatch", "/ags/refresh", pwd("Authorization", rt, "nv-tenant-id", "acme"), "", 403},
		{"refresh after the account was disabled", "/ags/refresh", pwd("Authorization", dora["refresh_token"].(string)), "", 403},
		{"refresh a Core token", "/ags/refresh", pwd("Authorization", core["refresh_token"].(string)), "", 403},
		{"signOff without Authorization", "/ags/signOff", nil, "", 400},
		{"signOff garbage token", "/ags/signOff", hdr("Authorization", "Bearer garbage"), "", 401},
		{"signOff tenant mismatch", "/ags/signOff", hdr("Authorization", rt, "nv-tenant-id", "acme"), "", 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.header
			if h == nil {
				h = map[string]string{}
			}
			h["x-correlation-id"] = "err-" + tc.name[:3]
			r := s.Do(t, "POST", tc.path, h, tc.body)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if tc.name == "signOn session limit" {
				apptest.Golden(t, "error_403", r.Body)
			}
			m := r.JSON(t)
			if m["status"] != float64(tc.status) || m["error"] != http.StatusText(tc.status) || m["message"] == "" || m["correlationId"] != h["x-correlation-id"] {
				t.Fatalf("not the AGS error shape: %s", r.Body)
			}
		})
	}
	t.Run("validate with a refresh token", func(t *testing.T) {
		if r := s.Do(t, "GET", "/ags/validate", hdr("Authorization", rt), ""); r.Status != http.StatusUnauthorized {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
	})
	t.Run("idle expiry after 172800 s", func(t *testing.T) {
		s.Clock.Advance(172801 * time.Second)
		if r := s.Do(t, "POST", "/ags/refresh", pwd("Authorization", rt), ""); r.Status != http.StatusUnauthorized {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
	})
}

// TestCorrelationHeaderCase sends the AGS header spelled in lower case on
// the wire (a non-canonical header key is sent as is) and finds it echoed
// and on the audit event of the sign-on.
func TestCorrelationHeaderCase(t *testing.T) {
	s := apptest.New(t, nil)
	s.User(t, "", "alice", pw, true)
	req, err := http.NewRequest("POST", s.URL+"/ags/signOn", strings.NewReader(params("username", "alice", "password", pw)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header["x-correlation-id"] = []string{"lower-case-1"}
	req.Header["x-auth-service-id"] = []string{"password"}
	req.Header["content-type"] = []string{"application/json"}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Correlation-Id") != "lower-case-1" {
		t.Fatalf("status %d, echoed %q", resp.StatusCode, resp.Header.Get("X-Correlation-Id"))
	}
	ev, err := s.App.Store.ListAudit(context.Background(), store.AuditFilter{CorrelationID: "lower-case-1"})
	if err != nil || len(ev) != 1 || ev[0].Type != "signon" {
		t.Fatalf("audit: %v %+v", err, ev)
	}
	// A correlation id with unsafe characters is replaced, not echoed.
	r := s.Do(t, "GET", "/servicediscovery", hdr("x-correlation-id", "evil\"id"), "")
	if got := r.Header.Get("X-Correlation-Id"); got == "" || strings.Contains(got, "evil") {
		t.Fatalf("unsafe correlation id echoed as %q", got)
	}
}

// TestAGSPerTenantLifetimes: a tenant's own lifetimes (services."ags@acme")
// apply to its sign-ons and refreshes; other tenants keep the defaults.
func TestAGSPerTenantLifetimes(t *testing.T) {
	s := apptest.New(t, func(c *config.Config) {
		base := c.Services["ags"]
		base.AccessTTL, base.IdleTTL, base.AbsoluteTTL = config.Duration(600*time.Second), config.Duration(3600*time.Second), config.Duration(86400*time.Second)
		c.Services["ags@acme"] = base
	})
	if _, err := s.App.Engine.CreateTenant(context.Background(), engine.NewTenant{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	s.User(t, "acme", "alice", pw, true)
	s.User(t, "", "bob", pw, true)

	check := func(what string, m map[string]any, access, idle, fixed float64) {
		t.Helper()
		if m["expires_in"] != access || m["refresh_expires_in"] != idle || m["fixed_refresh_expires_in"] != fixed {
			t.Errorf("%s: expires_in %v, refresh_expires_in %v, fixed_refresh_expires_in %v; want %v, %v, %v",
				what, m["expires_in"], m["refresh_expires_in"], m["fixed_refresh_expires_in"], access, idle, fixed)
		}
	}
	acme := signOn(t, s, "acme", "alice")
	check("acme sign-on", acme, 600, 3600, 86400)
	if c := apptest.Claims(t, acme["access_token"].(string)); c["exp"].(float64)-c["iat"].(float64) != 600 {
		t.Errorf("acme access token lives %v s, want 600", c["exp"].(float64)-c["iat"].(float64))
	} else if c["typ"] != "DevAuthN" || c["tenantId"] == nil {
		t.Errorf("acme access token lacks the AGS claims its service adds: %v", c)
	}
	check("default tenant sign-on", signOn(t, s, "default", "bob"), 3600, 172800, 2592000)

	s.Clock.Advance(30 * time.Minute)
	r := s.Do(t, "POST", "/ags/refresh", hdr("x-auth-service-id", "password", "nv-tenant-id", "acme", "Authorization", acme["refresh_token"].(string)), params("username", "alice"))
	if r.Status != http.StatusOK {
		t.Fatalf("acme refresh: %d %s", r.Status, r.Body)
	}
	check("acme refresh", r.JSON(t), 600, 3600, 86400-1800)

	// The acme idle lifetime (1 h) ends the session; the default's (48 h)
	// would not have.
	s.Clock.Advance(61 * time.Minute)
	r = s.Do(t, "POST", "/ags/refresh", hdr("x-auth-service-id", "password", "nv-tenant-id", "acme", "Authorization", r.JSON(t)["refresh_token"].(string)), params("username", "alice"))
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("refresh after acme's idle lifetime: %d %s", r.Status, r.Body)
	}
}

// TestAGSSignOnWithCurlDefaultContentType: `curl -d '{...}'` sends
// application/x-www-form-urlencoded; a JSON object body is read as JSON,
// while a real form body is refused in the AGS shape.
func TestAGSSignOnWithCurlDefaultContentType(t *testing.T) {
	s := apptest.New(t, nil)
	s.User(t, "", "alice", pw, true)
	h := hdr("x-auth-service-id", "password", "Content-Type", "application/x-www-form-urlencoded")
	if r := s.Do(t, "POST", "/ags/signOn", h, params("username", "alice", "password", pw)); r.Status != http.StatusOK {
		t.Fatalf("JSON body with curl's default type: %d %s", r.Status, r.Body)
	}
	r := s.Do(t, "POST", "/ags/signOn", h, "username=alice&password="+pw)
	if r.Status != http.StatusBadRequest || r.JSON(t)["status"] != 400.0 {
		t.Fatalf("form body: %d %s", r.Status, r.Body)
	}
}

// TestEverySentinelHasAStatusAndBody: every engine sentinel, bare or
// wrapped with internal text, gets an AGS status and body of its own and no
// internal text (sentineltest).
func TestEverySentinelHasAStatusAndBody(t *testing.T) {
	sentineltest.Run(t, func(w http.ResponseWriter, err error) { ags.WriteError(context.Background(), w, err) },
		func(b map[string]any) bool {
			return b["status"] != nil && sentineltest.Text(b, "error") && sentineltest.Text(b, "message")
		})
}
