package syncgw_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/dialect/sentineltest"
	"github.com/tokengate/tokengate/internal/dialect/syncgw"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

const (
	pw     = "alice-pass-1"
	bucket = "whitespace" // the default configuration's (and the demo's) bucket
	day    = 24 * time.Hour
)

// unableToRefresh is Sync Gateway's exact answer to a bad, expired or
// revoked refresh token.
const unableToRefresh = `{"error":"Unauthorized","reason":"Unable to refresh token."}`

var formHeader = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

// get calls GET /{b}/_oidc_refresh?refresh_token=tok, the form the
// Whitespace API documents.
func get(t *testing.T, s *apptest.Server, b, tok string) apptest.Response {
	t.Helper()
	return s.Do(t, "GET", "/"+b+"/_oidc_refresh?"+url.Values{"refresh_token": {tok}}.Encode(), nil, "")
}

// post calls POST /{b}/_oidc_refresh with the token in a form body, the
// form that keeps the token out of every URL.
func post(t *testing.T, s *apptest.Server, b, tok string) apptest.Response {
	t.Helper()
	return s.Do(t, "POST", "/"+b+"/_oidc_refresh", formHeader, url.Values{"refresh_token": {tok}}.Encode())
}

var methods = map[string]func(*testing.T, *apptest.Server, string, string) apptest.Response{"GET": get, "POST": post}

// checkHeaders asserts the headers every _oidc_refresh answer carries,
// success or error: the token (in the URL, and the id_token in the body)
// must stay out of caches and Referer headers.
func checkHeaders(t *testing.T, r apptest.Response) {
	t.Helper()
	for k, v := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "Content-Type": "application/json"} {
		if got := r.Header.Get(k); !strings.HasPrefix(got, v) {
			t.Errorf("%s: %q, want %q (status %d)", k, got, v, r.Status)
		}
	}
}

// wantError asserts an error answer: its status, its exact body (compared
// as JSON, with no other field) and its headers.
func wantError(t *testing.T, r apptest.Response, status int, code, reason string) {
	t.Helper()
	checkHeaders(t, r)
	m := r.JSON(t)
	if r.Status != status || len(m) != 2 || m["error"] != code || m["reason"] != reason {
		t.Fatalf("got %d %s, want %d {error:%q, reason:%q}", r.Status, r.Body, status, code, reason)
	}
	if got := r.Header.Get("WWW-Authenticate"); (status == http.StatusUnauthorized) != (got != "") {
		t.Errorf("status %d with WWW-Authenticate %q", status, got)
	}
}

func wantUnauthorized(t *testing.T, r apptest.Response) {
	t.Helper()
	wantError(t, r, http.StatusUnauthorized, "Unauthorized", "Unable to refresh token.")
	if string(r.Body) != unableToRefresh+"\n" && string(r.Body) != unableToRefresh {
		t.Errorf("body %q, want exactly %s", r.Body, unableToRefresh)
	}
}

// wantRefreshed asserts a 200 answer of the documented shape for user in
// session sid and returns its id_token, after checking that the engine
// accepts it as an access token of a live session.
func wantRefreshed(t *testing.T, s *apptest.Server, r apptest.Response, user, tenant, sid string) string {
	t.Helper()
	checkHeaders(t, r)
	if r.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	apptest.Golden(t, "refresh", r.Body, "id_token", "session_id", "name")
	m := r.JSON(t)
	if len(m) != 3 || m["session_id"] != sid || m["name"] != user {
		t.Fatalf("refresh body %s, want session_id %q and name %q only", r.Body, sid, user)
	}
	idt, _ := m["id_token"].(string)
	c := apptest.Claims(t, idt)
	// The id_token has the claims of its session's sign-on service: sub is
	// the user's immutable id, with the name in preferred_username (and the
	// response's name), except for a Core session, whose tokens keep
	// Core's own shape (sub is the user name).
	u, err := s.App.Engine.User(context.Background(), tenant, user)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := s.App.Engine.SessionLive(context.Background(), sid)
	if err != nil {
		t.Fatal(err)
	}
	sub := u.ID
	if sess.Service == "core" {
		sub = user
	}
	for k, v := range map[string]any{"usefor": "access", "sub": sub, "preferred_username": user, "sid": sid, "tenant": tenant} {
		if c[k] != v {
			t.Errorf("id_token claim %s = %v, want %v", k, c[k], v)
		}
	}
	vc, err := s.App.Engine.VerifyAccess(idt)
	if err != nil {
		t.Fatalf("id_token is not a valid access token: %v", err)
	}
	if vc.Subject != sub || vc.SessionID != sid {
		t.Fatalf("verified id_token: sub %q sid %q", vc.Subject, vc.SessionID)
	}
	if _, err := s.App.Engine.SessionLive(context.Background(), sid); err != nil {
		t.Fatalf("session of the id_token: %v", err)
	}
	return idt
}

func userID(t *testing.T, s *apptest.Server, tenant, name string) string {
	t.Helper()
	u, err := s.App.Engine.User(context.Background(), tenant, name)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// apiToken creates an API refresh token (as the profile page does) and
// returns it with its session id.
func apiToken(t *testing.T, s *apptest.Server, tenant, name string) (tok, sid string) {
	t.Helper()
	g := s.APIToken(t, tenant, name, "")
	if g.RefreshToken == "" || g.Session.Policy != store.PolicyStable {
		t.Fatalf("API token: %q, policy %q", g.RefreshToken, g.Session.Policy)
	}
	return g.RefreshToken, g.Session.ID
}

// coreLogin signs on through the Core dialect and returns its (stable)
// refresh token with its session id.
func coreLogin(t *testing.T, s *apptest.Server, name string) (tok, sid string) {
	t.Helper()
	r := s.Do(t, "POST", "/api/login", nil, `{"username":"`+name+`","password":"`+pw+`"}`)
	if r.Status != http.StatusOK {
		t.Fatalf("core login: %d %s", r.Status, r.Body)
	}
	tok, _ = r.JSON(t)["refresh_token"].(string)
	sid, _ = apptest.Claims(t, tok)["sid"].(string)
	return tok, sid
}

// oauth2Login signs on with the password grant of the default client,
// which issues rotating refresh tokens.
func oauth2Login(t *testing.T, s *apptest.Server, name string) string {
	t.Helper()
	f := url.Values{"grant_type": {"password"}, "client_id": {engine.DefaultClientID}, "username": {name}, "password": {pw}}
	r := s.Do(t, "POST", "/oauth2/token", formHeader, f.Encode())
	if r.Status != http.StatusOK {
		t.Fatalf("password grant: %d %s", r.Status, r.Body)
	}
	tok, _ := r.JSON(t)["refresh_token"].(string)
	if tok == "" {
		t.Fatalf("password grant gave no refresh token: %s", r.Body)
	}
	return tok
}

// checkLogs asserts that no secret reached the gateway's log, though the
// GET form carried refresh tokens in the query string.
func checkLogs(t *testing.T, s *apptest.Server, secrets ...string) {
	t.Helper()
	logs := s.Logs()
	for _, sec := range secrets {
		if sec != "" && strings.Contains(logs, sec) {
			t.Errorf("a token reached the log: %.20s…", sec)
		}
	}
	if !strings.Contains(logs, "/_oidc_refresh?refresh_token=REDACTED") {
		t.Errorf("no access log line with the redacted query:\n%s", logs)
	}
}

func TestSyncGWRefresh(t *testing.T) {
	s := apptest.New(t, nil)
	s.User(t, "", "alice", pw, true)
	var secrets []string
	for _, src := range []struct {
		name  string
		token func() (string, string)
	}{
		{"api token", func() (string, string) { return apiToken(t, s, "", "alice") }},
		{"core sign-on", func() (string, string) { return coreLogin(t, s, "alice") }},
	} {
		for _, method := range []string{"GET", "POST"} {
			t.Run(src.name+"/"+method, func(t *testing.T) {
				rt, sid := src.token()
				secrets = append(secrets, rt)
				before, err := s.App.Store.GetSession(context.Background(), sid)
				if err != nil {
					t.Fatal(err)
				}
				// Stable: the same token refreshes again and again, and
				// each id_token is fresh.
				var last string
				for i := range 3 {
					s.Clock.Advance(time.Minute)
					idt := wantRefreshed(t, s, methods[method](t, s, bucket, rt), "alice", "default", sid)
					if idt == last {
						t.Fatalf("refresh %d returned the previous id_token", i+1)
					}
					c := apptest.Claims(t, idt)
					if c["iat"] != float64(s.Clock.Now().Unix()) {
						t.Errorf("refresh %d: iat %v, want now %d", i+1, c["iat"], s.Clock.Now().Unix())
					}
					last = idt
					secrets = append(secrets, idt)
				}
				after, err := s.App.Store.GetSession(context.Background(), sid)
				if err != nil {
					t.Fatal(err)
				}
				if after.Generation != before.Generation || after.Policy != store.PolicyStable {
					t.Fatalf("a stable session rotated: generation %d → %d, policy %q", before.Generation, after.Generation, after.Policy)
				}
				if !after.LastUsedAt.Equal(s.Clock.Now()) {
					t.Errorf("last used %v, want %v", after.LastUsedAt, s.Clock.Now())
				}
			})
		}
	}
	checkLogs(t, s, secrets...)
}

func TestSyncGWOtherTenant(t *testing.T) {
	s := apptest.New(t, nil)
	if _, err := s.App.Engine.CreateTenant(context.Background(), engine.NewTenant{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	s.User(t, "acme", "carol", pw, true)
	rt, sid := apiToken(t, s, "acme", "carol")
	wantRefreshed(t, s, get(t, s, bucket, rt), "carol", "acme", sid)
}

// TestSyncGWExpiry: the stable policy slides the idle expiry on each
// refresh, up to the absolute one (apitoken: 90 days idle, 365 absolute;
// core: one day both).
func TestSyncGWExpiry(t *testing.T) {
	s := apptest.New(t, nil)
	s.User(t, "", "alice", pw, true)
	api, apiSID := apiToken(t, s, "", "alice")
	core, coreSID := coreLogin(t, s, "alice")

	s.Clock.Advance(80 * day)
	wantRefreshed(t, s, get(t, s, bucket, api), "alice", "default", apiSID)
	wantUnauthorized(t, get(t, s, bucket, core))
	wantUnauthorized(t, post(t, s, bucket, core))
	if _, err := s.App.Engine.SessionLive(context.Background(), coreSID); !errors.Is(err, engine.ErrTokenExpired) {
		t.Fatalf("core session after 80 days: %v, want expired", err)
	}

	s.Clock.Advance(80 * day) // 160 days: alive only because the refresh slid it
	wantRefreshed(t, s, post(t, s, bucket, api), "alice", "default", apiSID)

	s.Clock.Advance(90*day + time.Second) // idle for longer than 90 days
	for m, do := range methods {
		t.Run(m, func(t *testing.T) { wantUnauthorized(t, do(t, s, bucket, api)) })
	}
	checkLogs(t, s, api, core)
}

func TestSyncGWAbsoluteExpiry(t *testing.T) {
	s := apptest.New(t, nil)
	s.User(t, "", "alice", pw, true)
	api, sid := apiToken(t, s, "", "alice")
	for range 4 {
		s.Clock.Advance(89 * day)
		wantRefreshed(t, s, get(t, s, bucket, api), "alice", "default", sid)
	}
	s.Clock.Advance(9*day + time.Second) // 365 days and a second
	wantUnauthorized(t, get(t, s, bucket, api))
}

// TestSyncGWRefused: every token that can't be refreshed here gets the
// same 401, which tells an attacker nothing about why.
func TestSyncGWRefused(t *testing.T) {
	s := apptest.New(t, nil)
	ctx := context.Background()
	eng := s.App.Engine
	for _, name := range []string{"alice", "bob", "dora", "erin"} {
		s.User(t, "", name, pw, true)
	}
	if _, err := eng.CreateTenant(ctx, engine.NewTenant{Name: "closed"}); err != nil {
		t.Fatal(err)
	}
	s.User(t, "closed", "cole", pw, true)

	live, _ := apiToken(t, s, "", "alice")
	revokedSession, sid := apiToken(t, s, "", "alice")
	if err := eng.RevokeSession(ctx, sid, "test"); err != nil {
		t.Fatal(err)
	}
	revokedToken, _ := apiToken(t, s, "", "alice")
	if err := eng.RevokeToken(ctx, revokedToken, ""); err != nil {
		t.Fatal(err)
	}
	revokedCore, _ := coreLogin(t, s, "alice")
	if err := eng.RevokeToken(ctx, revokedCore, ""); err != nil {
		t.Fatal(err)
	}
	// Revoking through an access token ends its session too.
	viaAccess, _ := apiToken(t, s, "", "bob")
	at := wantRefreshed(t, s, get(t, s, bucket, viaAccess), "bob", "default", apptest.Claims(t, viaAccess)["sid"].(string))
	if err := eng.RevokeToken(ctx, at, ""); err != nil {
		t.Fatal(err)
	}
	disabledUser, _ := apiToken(t, s, "", "dora")
	yes, no := true, false
	if _, err := eng.UpdateUser(ctx, userID(t, s, "", "dora"), engine.UserUpdate{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	withdrawn, _ := apiToken(t, s, "", "erin")
	if _, err := eng.UpdateUser(ctx, userID(t, s, "", "erin"), engine.UserUpdate{RefreshEnabled: &no}); err != nil {
		t.Fatal(err)
	}
	disabledTenant, _ := apiToken(t, s, "closed", "cole")
	closed, err := eng.Tenant(ctx, "closed")
	if err != nil {
		t.Fatal(err)
	}
	closed.Disabled = true
	if err := s.App.Store.UpdateTenant(ctx, closed); err != nil {
		t.Fatal(err)
	}
	access := wantRefreshed(t, s, get(t, s, bucket, live), "alice", "default", apptest.Claims(t, live)["sid"].(string))
	parts := strings.Split(live, ".")
	tampered := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))

	tests := []struct{ name, tok string }{
		{"garbage", "not-a-token"},
		{"three garbage parts", "x.y.z"},
		{"bad signature", tampered},
		{"truncated", live[:len(live)-4]},
		{"access token", access},
		{"revoked session", revokedSession},
		{"revoked token", revokedToken},
		{"revoked core sign-on", revokedCore},
		{"revoked through its access token", viaAccess},
		{"disabled user", disabledUser},
		{"refresh withdrawn", withdrawn},
		{"disabled tenant", disabledTenant},
	}
	for _, tc := range tests {
		for m, do := range methods {
			t.Run(tc.name+"/"+m, func(t *testing.T) {
				r := do(t, s, bucket, tc.tok)
				wantUnauthorized(t, r)
				apptest.Golden(t, "error_401", r.Body)
			})
		}
	}
	// The refusals wrote nothing: the live token still works.
	wantRefreshed(t, s, post(t, s, bucket, live), "alice", "default", apptest.Claims(t, live)["sid"].(string))
	secrets := []string{access, at}
	for _, tc := range tests[2:] { // "not-a-token" and "x.y.z" are no secrets
		secrets = append(secrets, tc.tok)
	}
	checkLogs(t, s, secrets...)
}

// TestSyncGWRotatingRefused: a rotating refresh token's client expects a
// new refresh token with each refresh, which Sync Gateway's answer has no
// room for; the refusal says where the token belongs and does not spend it.
func TestSyncGWRotatingRefused(t *testing.T) {
	s := apptest.New(t, nil)
	s.User(t, "", "alice", pw, true)
	rt := oauth2Login(t, s, "alice")
	sig := s.Do(t, "POST", "/ags/signOn", map[string]string{"x-auth-service-id": "password"},
		`{"parameters":[{"name":"username","value":"alice"},{"name":"password","value":"`+pw+`"}]}`)
	if sig.Status != http.StatusOK {
		t.Fatalf("AGS signOn: %d %s", sig.Status, sig.Body)
	}
	ags, _ := sig.JSON(t)["refresh_token"].(string)
	for _, tc := range []struct{ name, tok, service string }{
		{"oauth2", rt, "oauth2"},
		{"ags", ags, "ags:password"},
	} {
		for m, do := range methods {
			t.Run(tc.name+"/"+m, func(t *testing.T) {
				wantError(t, do(t, s, bucket, tc.tok), http.StatusUnauthorized, "Unauthorized",
					"refresh token does not belong to this endpoint: this endpoint takes stable refresh tokens; this one is rotating and belongs to the "+tc.service+" sign-on")
			})
		}
	}
	f := url.Values{"grant_type": {"refresh_token"}, "client_id": {engine.DefaultClientID}, "refresh_token": {rt}}
	if r := s.Do(t, "POST", "/oauth2/token", formHeader, f.Encode()); r.Status != http.StatusOK {
		t.Fatalf("the refused token no longer refreshes at /oauth2/token: %d %s", r.Status, r.Body)
	}
	checkLogs(t, s, rt, ags)
}

func TestSyncGWBuckets(t *testing.T) {
	upstream := "http://127.0.0.1:1/"
	s := apptest.New(t, func(c *config.Config) {
		c.SyncGW.Buckets = []string{bucket, "db-2.test", "pct%b"}
		// /ws/ and /data/ are proxy prefixes overlapping /{bucket}/_oidc_refresh.
		c.Proxy.Routes = []config.ProxyRoute{{Prefix: "/ws/", Upstream: upstream}, {Prefix: "/data/", Upstream: upstream}}
		c.SyncGW.Buckets = append(c.SyncGW.Buckets, "ws")
	})
	s.User(t, "", "alice", pw, true)
	rt, sid := apiToken(t, s, "", "alice")

	for _, b := range []string{bucket, "db-2.test", "pct%25b", "ws"} {
		for m, do := range methods {
			t.Run(b+"/"+m, func(t *testing.T) { wantRefreshed(t, s, do(t, s, b, rt), "alice", "default", sid) })
		}
	}
	// Unknown buckets, also one inside a proxy prefix (/data/): the front
	// router sends every /{bucket}/_oidc_refresh here. The bucket is
	// checked before the token, so even a valid token gets the 404.
	for _, b := range []string{"nosuch", "Whitespace", "data", "pct%25x", "_all_dbs"} {
		for m, do := range methods {
			for tn, tok := range map[string]string{"valid": rt, "junk": "junk"} {
				t.Run(b+"/"+m+"/"+tn, func(t *testing.T) {
					r := do(t, s, b, tok)
					wantError(t, r, http.StatusNotFound, "not_found", "no such database")
					apptest.Golden(t, "error_404", r.Body)
				})
			}
		}
	}
	checkLogs(t, s, rt)
}

// TestSyncGWBadRequest: requests the dialect can't read get 400, and none
// of them refreshes.
func TestSyncGWBadRequest(t *testing.T) {
	s := apptest.New(t, nil)
	s.User(t, "", "alice", pw, true)
	rt, _ := apiToken(t, s, "", "alice")
	s.Clock.Advance(time.Minute) // so that a refresh would show in LastUsedAt
	path := "/" + bucket + "/_oidc_refresh"
	q := url.QueryEscape(rt)
	tests := []struct {
		name, method, path string
		header             map[string]string
		body, reason       string
	}{
		{"GET without token", "GET", path, nil, "", "Missing refresh_token"},
		{"GET empty token", "GET", path + "?refresh_token=", nil, "", "Missing refresh_token"},
		{"GET other parameter", "GET", path + "?token=" + q, nil, "", "Missing refresh_token"},
		{"GET repeated", "GET", path + "?refresh_token=" + q + "&refresh_token=" + q, nil, "", "refresh_token is repeated"},
		{"GET bad query", "GET", path + "?refresh_token=%zz", nil, "", "query string could not be parsed"},
		{"GET token in a form body", "GET", path, formHeader, "refresh_token=" + q, "Missing refresh_token"},
		{"POST empty body", "POST", path, formHeader, "", "Missing refresh_token"},
		{"POST empty token", "POST", path, formHeader, "refresh_token=", "Missing refresh_token"},
		{"POST repeated", "POST", path, formHeader, "refresh_token=" + q + "&refresh_token=" + q, "refresh_token is repeated"},
		{"POST bad body", "POST", path, formHeader, "refresh_token=%zz", "the body could not be parsed"},
		{"POST token in the URL", "POST", path + "?refresh_token=" + q, formHeader, "", "send refresh_token in the body only, not in the URL"},
		{"POST token in URL and body", "POST", path + "?refresh_token=" + q, formHeader, "refresh_token=" + q, "send refresh_token in the body only, not in the URL"},
		{"POST JSON", "POST", path, nil, `{"refresh_token":"` + rt + `"}`, "the body must be application/x-www-form-urlencoded"},
		{"POST no content type", "POST", path, map[string]string{"Content-Type": "text/plain"}, "refresh_token=" + q, "the body must be application/x-www-form-urlencoded"},
		{"POST too large", "POST", path, formHeader, "refresh_token=" + q + "&pad=" + strings.Repeat("x", 2<<20), "the body could not be parsed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, s.Do(t, tc.method, tc.path, tc.header, tc.body), http.StatusBadRequest, "Bad Request", tc.reason)
		})
	}
	sess, err := s.App.Store.GetSession(context.Background(), apptest.Claims(t, rt)["sid"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if sess.LastUsedAt.After(sess.CreatedAt) {
		t.Errorf("a refused request refreshed the session (last used %v)", sess.LastUsedAt)
	}
	checkLogs(t, s, rt, q)
}

func TestSyncGWRefreshNotEnabled(t *testing.T) {
	s := apptest.New(t, nil)
	s.User(t, "", "nora", pw, false)
	_, err := s.App.Engine.CreateAPIToken(context.Background(), engine.APITokenRequest{User: userID(t, s, "", "nora"), ByAdministrator: true})
	if !errors.Is(err, engine.ErrRefreshNotEnabled) {
		t.Fatalf("CreateAPIToken for a user without refresh: %v, want ErrRefreshNotEnabled", err)
	}
	r := s.Do(t, "POST", "/api/login", nil, `{"username":"nora","password":"`+pw+`"}`)
	if r.Status != http.StatusOK {
		t.Fatalf("core login: %d %s", r.Status, r.Body)
	}
	if rt, _ := r.JSON(t)["refresh_token"].(string); rt != "" {
		t.Fatalf("a user without refresh got a Core refresh token")
	}
}

// TestSyncGWOtherMethods: _oidc_refresh of a configured bucket takes GET
// and POST; any other method, HEAD included (a refresh whose answer
// nobody reads), gets 405 with Allow, in Sync Gateway's shape, and refreshes
// nothing.
func TestSyncGWOtherMethods(t *testing.T) {
	s := apptest.New(t, nil)
	s.User(t, "", "alice", pw, true)
	rt, sid := apiToken(t, s, "", "alice")
	before, err := s.App.Store.GetSession(context.Background(), sid)
	if err != nil {
		t.Fatal(err)
	}
	s.Clock.Advance(time.Minute)
	path := "/" + bucket + "/_oidc_refresh?" + url.Values{"refresh_token": {rt}}.Encode()
	for _, m := range []string{"PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"} {
		t.Run(m, func(t *testing.T) {
			r := s.Do(t, m, path, nil, "")
			if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, POST" {
				t.Fatalf("%s: %d, Allow %q: %s", m, r.Status, r.Header.Get("Allow"), r.Body)
			}
			if m != "HEAD" {
				wantError(t, r, http.StatusMethodNotAllowed, "method_not_allowed", "_oidc_refresh takes GET or POST")
			}
		})
	}
	after, err := s.App.Store.GetSession(context.Background(), sid)
	if err != nil {
		t.Fatal(err)
	}
	if !after.LastUsedAt.Equal(before.LastUsedAt) {
		t.Errorf("a refused method refreshed the session (last used %v -> %v)", before.LastUsedAt, after.LastUsedAt)
	}
}

// TestEverySentinelHasAStatusAndBody: every engine sentinel, bare or
// wrapped with internal text, gets Sync Gateway's {error, reason} and no
// internal text (sentineltest).
func TestEverySentinelHasAStatusAndBody(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/whitespace/_oidc_refresh", nil)
	sentineltest.Run(t, func(w http.ResponseWriter, err error) { syncgw.WriteError(w, r, slog.New(slog.DiscardHandler), err) },
		func(b map[string]any) bool { return sentineltest.Text(b, "error") && sentineltest.Text(b, "reason") })
}
