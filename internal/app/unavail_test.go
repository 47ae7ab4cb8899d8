package app_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/store/postgres/pgtest"
)

// outage makes a running node's database unwritable, or unreachable, for
// real, and back.
type outage struct {
	// cut makes the store fail; restore undoes it.
	cut, restore func(t *testing.T)
	// reads reports whether the store still answers reads while cut (a
	// SQLite file locked by another process does; a PostgreSQL server out
	// of reach does not).
	reads bool
}

// sqliteLocked is another process holding the SQLite file's write lock
// (a backup, a sqlite3 shell left in a transaction): the node's writes wait
// database.busy_timeout, then fail with SQLITE_BUSY.
func sqliteLocked(path string) *outage {
	var db *sql.DB
	var tx *sql.Tx
	return &outage{reads: true,
		cut: func(t *testing.T) {
			var err error
			if db, err = sql.Open("sqlite", "file:"+path+"?_txlock=immediate&_busy_timeout=10000"); err != nil {
				t.Fatal(err)
			}
			if tx, err = db.Begin(); err != nil { // BEGIN IMMEDIATE: the write lock
				t.Fatal(err)
			}
		},
		restore: func(t *testing.T) {
			_ = tx.Rollback()
			_ = db.Close()
		},
	}
}

// outageServer starts a node for an outage variant ("sqlite locked",
// "sqlite I/O error", "postgres cut off") with a short busy timeout;
// mutate adjusts the rest of its configuration.
func outageServer(t *testing.T, variant string, mutate func(*config.Config)) (*apptest.Server, *outage) {
	t.Helper()
	var out *outage
	dbURL := ""
	if variant == "postgres cut off" {
		out, dbURL = pgOutage(t)
	}
	dir := t.TempDir()
	s := apptest.New(t, func(c *config.Config) {
		c.DataDir, c.Database.URL = dir, dbURL
		c.Database.BusyTimeout = config.Duration(100 * time.Millisecond)
		if mutate != nil {
			mutate(c)
		}
	})
	switch variant {
	case "sqlite locked":
		out = sqliteLocked(filepath.Join(dir, "tokengate.db"))
	case "sqlite I/O error":
		out = sqliteImmutable(filepath.Join(dir, "tokengate.db"))
	}
	return s, out
}

// sqliteImmutable makes the open database's files immutable (chattr +i):
// the node's writes to them fail with EPERM, SQLITE_IOERR, as on a failing
// disk, while its reads of them go on. It needs CAP_LINUX_IMMUTABLE; the
// test is skipped without it (the locked variant runs everywhere, and the
// sqlite package's tests cover a full database and a read-only one).
func sqliteImmutable(db string) *outage {
	files := []string{db, db + "-wal"}
	chattr := func(t *testing.T, flag string) error {
		out, err := exec.Command("chattr", append([]string{flag}, files...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("chattr %s: %v: %s", flag, err, out)
		}
		return nil
	}
	return &outage{reads: true,
		cut: func(t *testing.T) {
			if err := chattr(t, "+i"); err != nil {
				t.Skipf("%v (it needs CAP_LINUX_IMMUTABLE)", err)
			}
			t.Cleanup(func() { _ = chattr(t, "-i") }) // before the temp directory goes
		},
		restore: func(t *testing.T) {
			if err := chattr(t, "-i"); err != nil {
				t.Fatal(err)
			}
		},
	}
}

// pgOutage routes the node's PostgreSQL connections through a forwarder
// the test cuts: the server is then out of reach (connections reset, new
// ones refused) as when the network or the server goes. It returns the URL
// to give the node.
func pgOutage(t *testing.T) (*outage, string) {
	f := pgtest.Forward(t, pgtest.URL(t))
	return &outage{cut: func(*testing.T) { f.Cut() }, restore: func(t *testing.T) { f.Restore(t) }}, f.URL
}

// unavailableShapes checks a 503 in each surface's own error shape.
var unavailableShapes = map[string]func(t *testing.T, body map[string]any){
	"oauth2": func(t *testing.T, b map[string]any) {
		if b["error"] != "temporarily_unavailable" || b["error_description"] != "service temporarily unavailable, try again" {
			t.Errorf("oauth2 503 body %v", b)
		}
	},
	"core": func(t *testing.T, b map[string]any) {
		if b["code"] != float64(503) || b["message"] != "Service Unavailable" || len(b["details"].([]any)) != 1 {
			t.Errorf("core 503 body %v", b)
		}
	},
	"ags": func(t *testing.T, b map[string]any) {
		if b["status"] != float64(503) || b["error"] != "Service Unavailable" || b["message"] == "" || b["correlationId"] == "" {
			t.Errorf("ags 503 body %v", b)
		}
	},
	"syncgw": func(t *testing.T, b map[string]any) {
		if b["error"] != "Service Unavailable" || b["reason"] != "service temporarily unavailable, try again" {
			t.Errorf("syncgw 503 body %v", b)
		}
	},
	"plain": func(t *testing.T, b map[string]any) { // the admin and profile API's, a plain proxy route's
		if b["error"] != "temporarily_unavailable" || b["message"] == "" {
			t.Errorf("503 body %v", b)
		}
	},
	"wsauth": func(t *testing.T, b map[string]any) {
		if b["error"] != true || b["reason"] != "service temporarily unavailable, try again" {
			t.Errorf("WSAUTH 503 body %v", b)
		}
	},
}

// TestStoreUnavailable is issue 11's item 7 and issue 13's "database
// unreachable" on both backends, over real HTTP: while the store can't
// write (SQLite locked by another process past the busy timeout) or can't
// be reached (PostgreSQL cut off), sign-on, refresh in every dialect,
// revoke, API-token creation, the web sign-in (and, with the store out of
// reach, introspection and the proxy) answer 503 with
// Retry-After in each dialect's own shape, and /readyz says not ready;
// nothing is issued or half-written; once the store is back the node
// answers again by itself, and the refresh tokens presented during the
// outage are still current: a transient failure is never taken for reuse,
// and no family is revoked.
func TestStoreUnavailable(t *testing.T) {
	for _, variant := range []string{"sqlite locked", "sqlite I/O error", "postgres cut off"} {
		t.Run(variant, func(t *testing.T) {
			upstream := httpEcho(t)
			s, out := outageServer(t, variant, func(c *config.Config) {
				c.SyncGW = config.SyncGW{Enabled: true, Buckets: []string{"db"}}
				c.Proxy.Routes = []config.ProxyRoute{{Prefix: "/data/", Upstream: upstream + "/", Errors: config.ErrorsPlain}}
			})
			s.User(t, "", "alice", "alice-password", true)

			// Tokens of every dialect, taken before the outage.
			signOn := oauth2SignOn(t, s)
			if signOn.Status != http.StatusOK {
				t.Fatalf("oauth2 sign-on: %d %s", signOn.Status, signOn.Body)
			}
			o := signOn.JSON(t)
			core := s.Do(t, "POST", "/api/login", nil, `{"username":"alice","password":"alice-password"}`).JSON(t)
			ags := agsSignOn(t, s).JSON(t)
			api := s.APIToken(t, "", "alice", "sync")
			_, rsSecret, err := s.App.Engine.CreateClient(context.Background(), engine.NewClient{ID: "rs", GrantTypes: []string{"client_credentials"}})
			if err != nil {
				t.Fatal(err)
			}
			introspect := func() apptest.Response {
				return s.Send(t, apptest.Request{Path: "/oauth2/introspect", Form: url.Values{"token": {ags["access_token"].(string)}}, BasicUser: "rs", BasicPass: rsSecret})
			}
			web := newBrowser(t, s)
			web.get(t, "/ui/signin")
			if r := s.Do(t, "GET", "/readyz", nil, ""); r.Status != http.StatusOK {
				t.Fatalf("readyz before: %d %s", r.Status, r.Body)
			}
			before := sessionCount(t, s)

			ok := func(r apptest.Response) bool { return r.Status/100 == 2 }
			calls := []struct {
				name, shape string
				do          func() apptest.Response
			}{
				{"oauth2 sign-on", "oauth2", func() apptest.Response { return oauth2SignOn(t, s) }},
				{"oauth2 refresh", "oauth2", func() apptest.Response { return oauth2Refresh(t, s, o["refresh_token"].(string)) }},
				{"core login", "core", func() apptest.Response {
					return s.Do(t, "POST", "/api/login", nil, `{"username":"alice","password":"alice-password"}`)
				}},
				{"core refresh", "core", func() apptest.Response {
					return s.Do(t, "GET", "/api/login/refresh", map[string]string{"Authorization": "Bearer " + core["refresh_token"].(string)}, "")
				}},
				{"ags sign-on", "ags", func() apptest.Response { return agsSignOn(t, s) }},
				{"ags refresh", "ags", func() apptest.Response {
					return s.Do(t, "POST", "/ags/refresh", map[string]string{"x-auth-service-id": "password", "Authorization": ags["refresh_token"].(string)}, `{}`)
				}},
				{"syncgw refresh", "syncgw", func() apptest.Response {
					return s.Do(t, "GET", "/db/_oidc_refresh?"+url.Values{"refresh_token": {api.RefreshToken}}.Encode(), nil, "")
				}},
				{"API token", "plain", func() apptest.Response {
					return s.Do(t, "POST", "/profile/api-tokens", map[string]string{"Authorization": "Bearer " + o["access_token"].(string)}, `{"label":"laptop"}`)
				}},
				// Last: once it works, o's session is over.
				{"oauth2 revoke", "oauth2", func() apptest.Response {
					return s.Send(t, apptest.Request{Path: "/oauth2/revoke", Form: url.Values{"client_id": {"tokengate"}, "token": {o["refresh_token"].(string)}}})
				}},
			}

			out.cut(t)
			for _, c := range calls {
				r := c.do()
				wantUnavailable(t, c.name, r)
				unavailableShapes[c.shape](t, r.JSON(t))
			}
			if p := web.signIn(t, "alice", "alice-password"); p.status != http.StatusServiceUnavailable || p.header.Get("Retry-After") == "" ||
				!strings.Contains(p.body, "temporarily unavailable") || web.signedIn(s) {
				t.Errorf("web sign-in: %d Retry-After %q, signed in %v\n%s", p.status, p.header.Get("Retry-After"), web.signedIn(s), p.body)
			}
			// The proxy answers only what it can establish: with reads
			// working, a live session's request goes through; with the
			// store out of reach it fails closed.
			// So does introspection.
			proxied := proxyGet(t, s, "/data/x", core["access_token"].(string))
			in := introspect()
			if out.reads {
				if proxied.Status != http.StatusOK {
					t.Errorf("proxy with reads working: %d %s", proxied.Status, proxied.Body)
				}
				if in.Status != http.StatusOK || in.JSON(t)["active"] != true {
					t.Errorf("introspection with reads working: %d %s", in.Status, in.Body)
				}
			} else {
				wantUnavailable(t, "proxy", proxied)
				unavailableShapes["plain"](t, proxied.JSON(t))
				wantUnavailable(t, "introspection", in) // never "active": false
				unavailableShapes["oauth2"](t, in.JSON(t))
			}
			if r := s.Do(t, "GET", "/readyz", nil, ""); r.Status != http.StatusServiceUnavailable {
				t.Errorf("readyz while the store can't write: %d %s", r.Status, r.Body)
			}
			if out.reads {
				if n := sessionCount(t, s); n != before {
					t.Errorf("sessions during the outage: %+v, before %+v", n, before)
				}
			}
			if strings.Contains(s.Logs(), "reused") {
				t.Errorf("an outage was taken for reuse:\n%s", s.Logs())
			}

			out.restore(t)
			// Recovery without a restart: readiness first (a pooled
			// connection that died with the outage may fail once).
			deadline := time.Now().Add(30 * time.Second)
			for {
				r := s.Do(t, "GET", "/readyz", nil, "")
				if r.Status == http.StatusOK {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("readyz after the store came back: %d %s", r.Status, r.Body)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if n := sessionCount(t, s); n != before {
				t.Errorf("sessions after the outage: %+v, before %+v: something was issued, rotated or revoked", n, before)
			}
			// The tokens presented during the outage are current: each
			// call works now, the refresh tokens rotating (or sliding)
			// from where they were.
			for _, c := range calls {
				if r := c.do(); !ok(r) {
					t.Errorf("%s after recovery: %d %s", c.name, r.Status, r.Body)
				}
			}
			if p := web.signIn(t, "alice", "alice-password"); p.status != http.StatusSeeOther || !web.signedIn(s) {
				t.Errorf("web sign-in after recovery: %d\n%s", p.status, p.body)
			}
		})
	}
}

func wantUnavailable(t *testing.T, what string, r apptest.Response) {
	t.Helper()
	if r.Status != http.StatusServiceUnavailable {
		t.Errorf("%s: status %d, want 503: %s", what, r.Status, r.Body)
		return
	}
	if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 1 || n > 30 {
		t.Errorf("%s: Retry-After %q, want a few seconds", what, r.Header.Get("Retry-After"))
	}
	for _, leak := range []string{"sqlite", "SQLITE", "postgres", "SQLSTATE", "locked", "connect", "127.0.0.1"} {
		if strings.Contains(string(r.Body), leak) {
			t.Errorf("%s: the body says %q: %s", what, leak, r.Body)
		}
	}
}

func oauth2SignOn(t *testing.T, s *apptest.Server) apptest.Response {
	return s.Send(t, apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"password"}, "client_id": {"tokengate"},
		"username": {"alice"}, "password": {"alice-password"}}})
}

func oauth2Refresh(t *testing.T, s *apptest.Server, rt string) apptest.Response {
	return s.Send(t, apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"refresh_token"}, "client_id": {"tokengate"}, "refresh_token": {rt}}})
}

func agsSignOn(t *testing.T, s *apptest.Server) apptest.Response {
	b, _ := json.Marshal(map[string]any{"parameters": []map[string]string{{"name": "username", "value": "alice"}, {"name": "password", "value": "alice-password"}}})
	return s.Do(t, "POST", "/ags/signOn", map[string]string{"x-auth-service-id": "password"}, string(b))
}

// sessions is what the store holds of sessions, so that one issued,
// rotated or revoked shows.
type sessions struct{ all, revoked, generations int64 }

func sessionCount(t *testing.T, s *apptest.Server) sessions {
	t.Helper()
	all, err := s.App.Store.ListSessions(context.Background(), store.SessionFilter{})
	if err != nil {
		t.Fatalf("list sessions: %v", err)
	}
	n := sessions{all: int64(len(all))}
	for _, x := range all {
		if !x.RevokedAt.IsZero() {
			n.revoked++
		}
		n.generations += x.Generation
	}
	return n
}

// httpEcho is an upstream that answers 200.
func httpEcho(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"upstream":true}`)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// browser is a browser on the web UI: cookies, and the CSRF token of the
// last page.
type browser struct {
	base string
	c    *http.Client
	csrf string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

type page struct {
	status int
	header http.Header
	body   string
}

func newBrowser(t *testing.T, s *apptest.Server) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{base: s.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(t *testing.T, req *http.Request) page {
	t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindStringSubmatch(string(body)); m != nil {
		b.csrf = html.UnescapeString(m[1])
	}
	return page{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func (b *browser) get(t *testing.T, path string) page {
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	return b.do(t, req)
}

func (b *browser) signIn(t *testing.T, user, password string) page {
	form := url.Values{"username": {user}, "password": {password}, "csrf": {b.csrf}}
	req, _ := http.NewRequest(http.MethodPost, b.base+"/ui/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(t, req)
}

// signedIn reports whether the browser holds a cookie of a sign-in.
func (b *browser) signedIn(s *apptest.Server) bool {
	u, _ := url.Parse(s.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "tokengate_session" && c.Value != "" {
			return true
		}
	}
	return false
}

// proxyGet sends a request to a proxied route, which the OpenAPI document
// does not describe.
func proxyGet(t *testing.T, s *apptest.Server, path, token string) apptest.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}
