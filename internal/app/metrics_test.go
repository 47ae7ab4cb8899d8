package app_test

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/obs"
	"github.com/tokengate/tokengate/internal/token"
)

// TestMetricsAfterTraffic sends real traffic through every surface and
// reads /metrics back as Prometheus does: a latency histogram per engine
// operation and service (with buckets that tell a 100 µs refresh from a
// 200 ms password sign-on), the proxy's token check and upstream round
// trip, the live sessions per tenant (maintained, and equal to the
// store's count), the password-hashing pool and the signing key's age.
func TestMetricsAfterTraffic(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "{}") }))
	t.Cleanup(up.Close)
	s := apptest.New(t, func(c *config.Config) {
		c.Proxy.Routes = []config.ProxyRoute{{Prefix: "/risk/", Upstream: up.URL + "/"}}
	})
	ctx := context.Background()
	const pw = "alice-pass-1"
	s.User(t, "", "alice", pw, true)
	if _, err := s.App.Engine.CreateTenant(ctx, engine.NewTenant{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	s.User(t, "acme", "bob", pw, true)
	_, secret, err := s.App.Engine.CreateClient(ctx, engine.NewClient{ID: "svc", GrantTypes: []string{"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	ok := func(r apptest.Response, what string) map[string]any {
		t.Helper()
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", what, r.Status, r.Body)
		}
		return r.JSON(t)
	}
	form := func(v url.Values) apptest.Response {
		return s.Send(t, apptest.Request{Path: "/oauth2/token", Form: v})
	}
	password := url.Values{"grant_type": {"password"}, "client_id": {"tokengate"}, "username": {"alice"}, "password": {pw}}
	first := ok(form(password), "password grant")
	second := ok(form(password), "password grant")
	rt := first["refresh_token"].(string)
	for range 3 {
		rt = ok(form(url.Values{"grant_type": {"refresh_token"}, "client_id": {"tokengate"}, "refresh_token": {rt}}), "refresh")["refresh_token"].(string)
	}
	core := ok(s.Do(t, "POST", "/api/login", nil, `{"username":"alice","password":"`+pw+`"}`), "core login")
	ok(s.Do(t, "GET", "/api/login/refresh", map[string]string{"Authorization": "Bearer " + core["refresh_token"].(string)}, ""), "core refresh")
	ok(s.Do(t, "POST", "/api/login", map[string]string{"Authorization": "Bearer " + s.ExternalToken(t, "auth0|alice", nil)}, ""), "core external login")
	agsParams := `{"parameters":[{"name":"username","value":"alice"},{"name":"password","value":"` + pw + `"}]}`
	ags := ok(s.Do(t, "POST", "/ags/signOn", map[string]string{"x-auth-service-id": "password"}, agsParams), "ags sign-on")
	ok(s.Do(t, "POST", "/ags/refresh", map[string]string{"x-auth-service-id": "password", "Authorization": ags["refresh_token"].(string)}, ""), "ags refresh")
	ok(s.Do(t, "POST", "/ags/signOn", map[string]string{"x-auth-service-id": "password", "nv-tenant-id": "acme"},
		`{"parameters":[{"name":"username","value":"bob"},{"name":"password","value":"`+pw+`"}]}`), "ags sign-on in acme")
	api := s.APIToken(t, "", "alice", "laptop")
	ok(s.Do(t, "GET", "/whitespace/_oidc_refresh?refresh_token="+url.QueryEscape(api.RefreshToken), nil, ""), "sync gateway refresh")
	ok(s.Send(t, apptest.Request{Path: "/oauth2/introspect", BasicUser: "svc", BasicPass: secret,
		Form: url.Values{"token": {second["access_token"].(string)}}}), "introspect")
	if r := s.Send(t, apptest.Request{Path: "/oauth2/revoke", Form: url.Values{"client_id": {"tokengate"}, "token": {rt}}}); r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	ok(s.Send(t, apptest.Request{Path: "/oauth2/token", BasicUser: "svc", BasicPass: secret, Form: url.Values{"grant_type": {"client_credentials"}}}), "client credentials")
	for _, h := range []string{"Bearer " + second["access_token"].(string), "Bearer " + second["access_token"].(string), ""} {
		req, _ := http.NewRequest("GET", s.URL+"/risk/things", nil)
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	m := s.Metrics(t)
	const ops = "tokengate_operation_duration_seconds"
	for _, c := range []struct {
		op, service string
		n           uint64
	}{
		{"signon_password", "oauth2", 2},
		{"refresh", "oauth2", 3},
		{"signon_password", "core", 1},
		{"refresh", "core", 1},
		{"signon_external", "core", 1},
		{"signon_password", "ags:password", 2},
		{"refresh", "ags:password", 1},
		{"refresh", "apitoken", 1},
		{"introspect", "oauth2", 1},
		{"revoke", "unknown", 1},
		{"client_credentials", "oauth2", 1},
	} {
		if got := m.Count(ops, "operation", c.op, "service", c.service, "outcome", "ok"); got != c.n {
			t.Errorf("%s{operation=%s,service=%s,outcome=ok}: %d observations, want %d", ops, c.op, c.service, got, c.n)
		}
	}
	for _, series := range m.Series(ops) {
		h := series.GetHistogram()
		if h.GetSampleSum() <= 0 {
			t.Errorf("%s %v: sum %v", ops, series.GetLabel(), h.GetSampleSum())
		}
		var bounds []float64
		for _, b := range h.GetBucket() {
			if !math.IsInf(b.GetUpperBound(), 1) {
				bounds = append(bounds, b.GetUpperBound())
			}
		}
		if !slices.Equal(bounds, obs.LatencyBuckets) || bounds[0] != 0.0001 || bounds[len(bounds)-1] != 2 {
			t.Fatalf("%s buckets %v, want 100 µs … 2 s", ops, bounds)
		}
	}
	const px = "tokengate_proxy_duration_seconds"
	if c, u := m.Count(px, "route", "/risk/", "stage", "token_check"), m.Count(px, "route", "/risk/", "stage", "upstream"); c != 3 || u != 2 {
		t.Errorf("%s: token_check %d (want 3), upstream %d (want 2)", px, c, u)
	}

	// Live sessions: what the store counts, without a recount since the
	// start (the harness recounts once, as serve's background loop does).
	live := func() map[string]int {
		t.Helper()
		n, err := s.App.Store.CountLiveSessionsByTenant(ctx, s.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, tn := range []string{"default", "acme"} {
			tt, err := s.App.Engine.Tenant(ctx, tn)
			if err != nil {
				t.Fatal(err)
			}
			out[tn] = n[tt.ID]
		}
		return out
	}
	gauge := func(m apptest.Metrics) map[string]int {
		return map[string]int{"default": int(m.Value("tokengate_sessions_live", "tenant", "default")), "acme": int(m.Value("tokengate_sessions_live", "tenant", "acme"))}
	}
	want := live()
	// alice: two oauth2 (one revoked), core, ags, the API token; the
	// external identity's own user: one (5 in all); bob in acme: one.
	if want["default"] != 5 || want["acme"] != 1 {
		t.Fatalf("store counts %v, want default 5, acme 1", want)
	}
	if got := gauge(m); got["default"] != want["default"] || got["acme"] != want["acme"] {
		t.Errorf("tokengate_sessions_live %v, store %v", got, want)
	}
	// The gauge is maintained, not counted per scrape: a session another
	// process starts on the same data (as a CLI command does) shows only
	// at the next recount.
	other, err := app.Open(ctx, s.App.Config, nil, app.Options{MustExist: true, Now: s.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	alice, err := other.Engine.User(ctx, "", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Engine.CreateAPIToken(ctx, engine.APITokenRequest{User: alice.ID, Label: "from the CLI", ByAdministrator: true}); err != nil {
		t.Fatal(err)
	}
	other.Close()
	if got := gauge(s.Metrics(t)); got["default"] != want["default"] {
		t.Errorf("tokengate_sessions_live{tenant=default} = %d after another process's sign-on, want %d until the recount", got["default"], want["default"])
	}
	if err := s.App.Engine.RecountLiveSessions(ctx); err != nil {
		t.Fatal(err)
	}
	if got := gauge(s.Metrics(t)); got["default"] != want["default"]+1 || got["acme"] != 1 {
		t.Errorf("tokengate_sessions_live after the recount %v, want default %d, acme 1", got, want["default"]+1)
	}

	// The password-hashing pool, at rest after the traffic.
	m = s.Metrics(t)
	if w := m.Value("tokengate_password_hash_workers"); int(w) != s.App.Config.Password.WorkerCount() {
		t.Errorf("tokengate_password_hash_workers %v, want %d", w, s.App.Config.Password.WorkerCount())
	}
	if b, q := m.Value("tokengate_password_hash_busy"), m.Value("tokengate_password_hash_queue"); b != 0 || q != 0 {
		t.Errorf("hash pool at rest: busy %v, queue %v", b, q)
	}
	if len(m.Series("tokengate_password_hash_busy")) != 1 || len(m.Series("tokengate_password_hash_queue")) != 1 {
		t.Error("no hash pool gauges")
	}

	// The signing key's age follows the clock.
	s.Clock.Advance(90 * time.Minute)
	var cur token.KeyInfo
	for _, k := range s.App.Ring.Keys() {
		if k.State == token.StateCurrent {
			cur = k
		}
	}
	m = s.Metrics(t)
	age := m.Value("tokengate_signing_key_age_seconds", "kid", cur.ID)
	if wantAge := s.Clock.Now().Sub(cur.ActiveFrom).Seconds(); cur.ID == "" || age != wantAge || age < 5400 {
		t.Errorf("tokengate_signing_key_age_seconds{kid=%s} = %v, want %v", cur.ID, age, wantAge)
	}
}

// TestMetricsListen checks metrics.listen: /metrics on a listener of its
// own, and no longer on the public one.
func TestMetricsListen(t *testing.T) {
	s := apptest.New(t, func(c *config.Config) { c.Metrics.Listen = "127.0.0.1:0" })
	if s.MetricsURL == s.URL {
		t.Fatal("no metrics listener")
	}
	// (Around the harness's OpenAPI check, which knows /metrics as 200.)
	pub, err := s.Client.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	pub.Body.Close()
	if pub.StatusCode != http.StatusNotFound {
		t.Fatalf("public /metrics: %d", pub.StatusCode)
	}
	if n := s.Metrics(t).Codes("/")["404"]; n != 1 {
		t.Fatalf("metrics listener: the public 404 counted %v times", n)
	}
	resp, err := s.Client.Get(s.MetricsURL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("metrics listener serves the API: %d", resp.StatusCode)
	}
}
