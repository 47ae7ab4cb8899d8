package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
)

// upstreamSignal is an upstream whose /slow and /stream paths tell the
// test they got the proxied request, then wait until the gateway gives up
// on it (its outbound request is canceled when the client goes away).
type upstreamSignal struct {
	mu      sync.Mutex
	arrived map[string]chan struct{}
}

func (u *upstreamSignal) ch(path string) chan struct{} {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.arrived[path] == nil {
		u.arrived[path] = make(chan struct{})
	}
	return u.arrived[path]
}

func (u *upstreamSignal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/slow":
		close(u.ch(r.URL.Path))
	case "/stream":
		// Headers and a first chunk reach the client; the rest never comes.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"risks":[`)
		w.(http.Flusher).Flush()
		close(u.ch(r.URL.Path))
	default:
		io.WriteString(w, `{}`)
		return
	}
	<-r.Context().Done()
}

// TestClientGone checks that a client that goes away mid-request (a load
// run ending, a browser closing) is not a server error on any surface:
// the request is counted with code 499 (nginx's "client closed request"),
// never as a 5xx, and logged at debug, never at error or warn.
func TestClientGone(t *testing.T) {
	up := &upstreamSignal{arrived: map[string]chan struct{}{}}
	ups := httptest.NewServer(up)
	t.Cleanup(ups.Close)
	s := apptest.New(t, func(c *config.Config) {
		c.Proxy.Routes = []config.ProxyRoute{{Prefix: "/risk/", Upstream: ups.URL + "/"}}
	})
	const pw = "alice-pass-1"
	s.User(t, "", "alice", pw, true)
	ctx := context.Background()
	admin, err := s.App.Engine.User(ctx, "", "admin")
	if err != nil {
		t.Fatal(err)
	}
	refresh := true
	if _, err := s.App.Engine.UpdateUser(ctx, admin.ID, engine.UserUpdate{RefreshEnabled: &refresh}); err != nil {
		t.Fatal(err)
	}
	_, secret, err := s.App.Engine.CreateClient(ctx, engine.NewClient{ID: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	grant := func(user, pass string) (access, refresh string) {
		t.Helper()
		r := s.Send(t, apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"password"}, "client_id": {"tokengate"},
			"username": {user}, "password": {pass}}})
		if r.Status != http.StatusOK {
			t.Fatalf("password grant: %d %s", r.Status, r.Body)
		}
		m := r.JSON(t)
		return m["access_token"].(string), m["refresh_token"].(string)
	}
	coreLogin := func() (access, refresh string) {
		t.Helper()
		r := s.Do(t, "POST", "/api/login", nil, `{"username":"alice","password":"`+pw+`"}`)
		if r.Status != http.StatusOK {
			t.Fatalf("core login: %d %s", r.Status, r.Body)
		}
		m := r.JSON(t)
		return m["access_token"].(string), m["refresh_token"].(string)
	}
	agsSignOn := func() (access, refresh string) {
		t.Helper()
		r := s.Do(t, "POST", "/ags/signOn", map[string]string{"x-auth-service-id": "password"},
			`{"parameters":[{"name":"username","value":"alice"},{"name":"password","value":"`+pw+`"}]}`)
		if r.Status != http.StatusOK {
			t.Fatalf("ags signOn: %d %s", r.Status, r.Body)
		}
		m := r.JSON(t)
		return m["access_token"].(string), m["refresh_token"].(string)
	}
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	adminAccess, _ := grant("admin", apptest.AdminPassword)
	api := s.APIToken(t, "", "alice", "laptop")
	// A token the proxy has verified and found live, so that the next
	// requests with it reach the upstream.
	warm, _ := grant("alice", pw)
	// (The route is not in the OpenAPI document, which describes the
	// demo's /api/ only, so this goes around the harness's validation.)
	wr, _ := http.NewRequest("GET", s.URL+"/risk/ok", nil)
	wr.Header.Set("Authorization", "Bearer "+warm)
	if resp, err := s.Client.Do(wr); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("proxy warm-up: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	type tc struct {
		name, route string
		req         func() apptest.Request
		leave       apptest.Leave
	}
	cases := []tc{
		{"oauth2 password grant", "POST /oauth2/token", func() apptest.Request {
			return apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"password"}, "client_id": {"tokengate"}, "username": {"alice"}, "password": {pw}}}
		}, apptest.Leave{}},
		{"oauth2 refresh grant", "POST /oauth2/token", func() apptest.Request {
			_, rt := grant("alice", pw)
			return apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"refresh_token"}, "client_id": {"tokengate"}, "refresh_token": {rt}}}
		}, apptest.Leave{}},
		{"oauth2 introspection", "POST /oauth2/introspect", func() apptest.Request {
			at, _ := grant("alice", pw)
			return apptest.Request{Path: "/oauth2/introspect", BasicUser: "svc", BasicPass: secret, Form: url.Values{"token": {at}}}
		}, apptest.Leave{}},
		{"oauth2 revocation", "POST /oauth2/revoke", func() apptest.Request {
			_, rt := grant("alice", pw)
			return apptest.Request{Path: "/oauth2/revoke", Form: url.Values{"client_id": {"tokengate"}, "token": {rt}}}
		}, apptest.Leave{}},
		{"core password login", "POST /api/login", func() apptest.Request {
			return apptest.Request{Path: "/api/login", Body: `{"username":"alice","password":"` + pw + `"}`}
		}, apptest.Leave{}},
		{"core external login", "POST /api/login", func() apptest.Request {
			return apptest.Request{Method: "POST", Path: "/api/login", Header: bearer(s.ExternalToken(t, "auth0|alice", nil))}
		}, apptest.Leave{}},
		{"core refresh", "GET /api/login/refresh", func() apptest.Request {
			_, rt := coreLogin()
			return apptest.Request{Path: "/api/login/refresh", Header: bearer(rt)}
		}, apptest.Leave{}},
		{"ags sign-on", "POST /ags/signOn", func() apptest.Request {
			return apptest.Request{Path: "/ags/signOn", Header: map[string]string{"x-auth-service-id": "password"},
				Body: `{"parameters":[{"name":"username","value":"alice"},{"name":"password","value":"` + pw + `"}]}`}
		}, apptest.Leave{}},
		{"ags refresh", "POST /ags/refresh", func() apptest.Request {
			_, rt := agsSignOn()
			return apptest.Request{Method: "POST", Path: "/ags/refresh", Header: map[string]string{"x-auth-service-id": "password", "Authorization": rt}}
		}, apptest.Leave{}},
		{"ags validate", "GET /ags/validate", func() apptest.Request {
			at, _ := agsSignOn()
			return apptest.Request{Path: "/ags/validate", Header: bearer(at)}
		}, apptest.Leave{}},
		{"sync gateway refresh", "/{bucket}/_oidc_refresh", func() apptest.Request {
			return apptest.Request{Path: "/whitespace/_oidc_refresh?refresh_token=" + url.QueryEscape(api.RefreshToken)}
		}, apptest.Leave{}},
		{"admin API", "GET /admin/api/organisations", func() apptest.Request {
			return apptest.Request{Path: "/admin/api/organisations", Header: bearer(adminAccess)}
		}, apptest.Leave{}},
		{"proxy token check", "/risk/", func() apptest.Request {
			at, _ := grant("alice", pw) // never seen by the proxy: its session is checked in the store
			return apptest.Request{Path: "/risk/ok", Header: bearer(at)}
		}, apptest.Leave{}},
		{"proxy upstream round trip", "/risk/", func() apptest.Request {
			return apptest.Request{Path: "/risk/slow", Header: bearer(warm)}
		}, apptest.Leave{When: up.ch("/slow")}},
		{"proxy response body", "/risk/", func() apptest.Request {
			return apptest.Request{Path: "/risk/stream", Header: bearer(warm)}
		}, apptest.Leave{When: up.ch("/stream"), AfterHeaders: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := c.req()
			before := s.Metrics(t).Codes(c.route)
			s.Abandon(t, req, c.leave)
			after := s.Metrics(t).Codes(c.route)
			if got := after["499"] - before["499"]; got != 1 {
				t.Errorf("%s: %v code 499 more, want 1 (before %v, after %v)", c.route, got, before, after)
			}
			for code, n := range after {
				if strings.HasPrefix(code, "5") && n != before[code] {
					t.Errorf("%s: a client gone counted as %s", c.route, code)
				}
			}
		})
	}
	logs := s.Logs()
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "level=ERROR") || (strings.Contains(line, "level=WARN") && strings.Contains(line, "cancel")) {
			t.Errorf("a client gone logged as a problem: %s", line)
		}
	}
	if !strings.Contains(logs, "client went away") {
		t.Error("no debug line says the client went away")
	}
	// One client that left during discovery of the external issuer does
	// not stop the next from signing on with it.
	if r := s.Do(t, "POST", "/api/login", bearer(s.ExternalToken(t, "auth0|alice", nil)), ""); r.Status != http.StatusOK {
		t.Errorf("external login after a client left during discovery: %d %s", r.Status, r.Body)
	}
}
