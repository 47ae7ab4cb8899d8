package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/demo"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/fakeclock"
	"github.com/tokengate/tokengate/internal/proxy"
)

type world struct {
	t      *testing.T
	ctx    context.Context
	a      *app.App
	clk    *fakeclock.Clock
	srv    *httptest.Server
	logs   *apptest.Buffer
	res    demo.Result
	seenMu sync.Mutex
	seen   []http.Header // headers the upstream received
}

// newWorld runs `serve --demo` in-process: a real SQLite store, the demo
// world, the risks service on loopback behind a recorder, and the gateway
// on an httptest server.
func newWorld(t *testing.T) *world {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w := &world{t: t, ctx: ctx, clk: fakeclock.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)), logs: &apptest.Buffer{}}
	up := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.seenMu.Lock()
		w.seen = append(w.seen, r.Header.Clone())
		w.seenMu.Unlock()
		demo.RisksHandler().ServeHTTP(rw, r)
	}))
	t.Cleanup(up.Close)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Password.MemoryKiB, cfg.Password.Iterations = 8192, 1
	log := slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := app.Open(ctx, cfg, log, app.Options{Now: w.clk.Now, MasterKey: strings.Repeat("k", 43) + "="})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := a.Engine.Bootstrap(ctx, "admin-password"); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{demo.PasswordEnv: "demo-password"}
	if w.res, err = demo.Load(ctx, a, demo.Options{Getenv: func(k string) string { return env[k] }, RisksURL: up.URL}); err != nil {
		t.Fatal(err)
	}
	// Idempotent: a second load changes nothing and creates nobody.
	if again, err := demo.Load(ctx, a, demo.Options{Getenv: func(k string) string { return env[k] }, RisksURL: up.URL}); err != nil || again.Created || len(a.Config.Proxy.Routes) != 1 {
		t.Fatalf("second load: %+v %v routes=%d", again, err, len(a.Config.Proxy.Routes))
	}
	w.a = a
	w.srv = httptest.NewServer(a.Handler())
	t.Cleanup(w.srv.Close)
	return w
}

func (w *world) do(method, path string, hdr map[string]string, body io.Reader) (int, http.Header, []byte) {
	w.t.Helper()
	req, err := http.NewRequestWithContext(w.ctx, method, w.srv.URL+path, body)
	if err != nil {
		w.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// renewable is the seed's RENEWABLE: an API refresh token of user.
func (w *world) renewable(user string) string {
	w.t.Helper()
	u, err := w.a.Engine.User(w.ctx, "", user)
	if err != nil {
		w.t.Fatal(err)
	}
	g, err := w.a.Engine.CreateAPIToken(w.ctx, engine.APITokenRequest{User: u.ID, Label: "test", ByAdministrator: true})
	if err != nil {
		w.t.Fatal(err)
	}
	return g.RefreshToken
}

// idToken is `curl $SYNC/$BUCKET/_oidc_refresh?refresh_token=$RENEWABLE | jq -r .id_token`.
func (w *world) idToken(renewable string) string {
	w.t.Helper()
	code, _, b := w.do("GET", "/whitespace/_oidc_refresh?refresh_token="+renewable, nil, nil)
	if code != 200 {
		w.t.Fatalf("_oidc_refresh: %d %s", code, b)
	}
	var out struct {
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.IDToken == "" {
		w.t.Fatalf("_oidc_refresh body %s: %v", b, err)
	}
	return out.IDToken
}

func bearer(tok string, extra ...string) map[string]string {
	h := map[string]string{"Authorization": "Bearer " + tok}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return h
}

const wantUserIDError = `{"reason":"Invalid WSAUTH: Valid UserID must be supplied","error":true}` + "\n"

func TestSeedWalkthrough(t *testing.T) {
	w := newWorld(t)
	renewable := w.renewable(demo.UserSUMO)

	// _oidc_refresh: the seed's three fields, no-store, no-referrer.
	code, hdr, b := w.do("GET", "/whitespace/_oidc_refresh?refresh_token="+renewable, nil, nil)
	var rr map[string]string
	if err := json.Unmarshal(b, &rr); code != 200 || err != nil {
		t.Fatalf("_oidc_refresh: %d %s", code, b)
	}
	if len(rr) != 3 || rr["id_token"] == "" || rr["session_id"] == "" || rr["name"] != demo.UserSUMO {
		t.Errorf("_oidc_refresh body = %s", b)
	}
	if hdr.Get("Cache-Control") != "no-store" || hdr.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("headers: %v", hdr)
	}
	token := rr["id_token"]

	t.Run("risks without UserID is the seed's error", func(t *testing.T) {
		code, _, b := w.do("GET", "/api/risks", bearer(token), nil)
		if code != 401 || string(b) != wantUserIDError {
			t.Fatalf("%d %q", code, b)
		}
	})
	for _, tc := range []struct {
		name, mu string
		want     int
	}{
		{"UIMU", demo.MUSumoBroker, 1528},
		{"UIMU2", demo.MUSumoUnderwr, 439},
	} {
		t.Run("risks with "+tc.name, func(t *testing.T) {
			code, _, b := w.do("GET", "/api/risks", bearer(token, "UserID", tc.mu), nil)
			var docs []map[string]any
			if err := json.Unmarshal(b, &docs); code != 200 || err != nil {
				t.Fatalf("%d %.200s", code, b)
			}
			if len(docs) != tc.want {
				t.Fatalf("jq length = %d, want %d", len(docs), tc.want)
			}
		})
	}
	t.Run("first document has the seed's shape", func(t *testing.T) {
		_, _, b := w.do("GET", "/api/risks", bearer(token, "UserID", demo.MUSumoBroker), nil)
		var docs []json.RawMessage
		if err := json.Unmarshal(b, &docs); err != nil {
			t.Fatal(err)
		}
		want := `{"ContractType":"Non-Bulking Line Slip","InsuredName":"AV Facility","IsFacility":true,"Status":"Signed","channels":["gailbkr_ALL","mcneillieuwr_ALL"],`
		if !strings.HasPrefix(string(docs[0]), want) {
			t.Fatalf("first document %s", docs[0])
		}
	})
	t.Run("a UserID of someone else is the same error", func(t *testing.T) {
		code, _, b := w.do("GET", "/api/risks", bearer(token, "UserID", demo.MUBroker), nil)
		if code != 401 || string(b) != wantUserIDError {
			t.Fatalf("%d %q", code, b)
		}
	})
	t.Run("shared/corporate needs no UserID and searches", func(t *testing.T) {
		code, _, b := w.do("GET", "/api/shared/corporate?search=sumo", bearer(token), nil)
		var orgs []struct {
			Organisation string
			Users        []struct{ UserID, Username string }
		}
		if err := json.Unmarshal(b, &orgs); code != 200 || err != nil {
			t.Fatalf("%d %s", code, b)
		}
		got := map[string]string{}
		for _, o := range orgs {
			for _, u := range o.Users {
				got[o.Organisation+"/"+u.Username] = u.UserID
			}
		}
		want := map[string]string{"gailbkr/sumo": demo.MUSumoBroker, "mcneillieuwr/sumo": demo.MUSumoUnderwr}
		if len(got) != len(want) || got["gailbkr/sumo"] != want["gailbkr/sumo"] || got["mcneillieuwr/sumo"] != want["mcneillieuwr/sumo"] {
			t.Fatalf("directory = %v (%s)", got, b)
		}
		_, _, all := w.do("GET", "/api/shared/corporate", bearer(token), nil)
		if !strings.Contains(string(all), demo.MUBroker) {
			t.Errorf("unfiltered directory lacks the broker user: %s", all)
		}
		if code, _, _ := w.do("GET", "/api/shared/corporate", nil, nil); code != 401 {
			t.Errorf("without a token: %d", code)
		}
	})
	t.Run("user/myDetails needs UserID for SUMO", func(t *testing.T) {
		code, _, b := w.do("GET", "/api/user/myDetails", bearer(token), nil)
		if code != 401 || string(b) != wantUserIDError {
			t.Fatalf("without UserID: %d %q", code, b)
		}
		code, _, b = w.do("GET", "/api/user/myDetails", bearer(token, "UserID", demo.MUSumoUnderwr), nil)
		var d struct {
			UserID, Username, Organisation string
			Channels                       []string
		}
		if err := json.Unmarshal(b, &d); code != 200 || err != nil {
			t.Fatalf("%d %s", code, b)
		}
		if d.UserID != demo.MUSumoUnderwr || d.Username != "sumo" || d.Organisation != "mcneillieuwr" || len(d.Channels) != 1 || d.Channels[0] != demo.ChannelUnderwriter {
			t.Fatalf("myDetails = %s", b)
		}
	})
	t.Run("single-organisation user needs no UserID", func(t *testing.T) {
		tok := w.idToken(w.renewable(demo.UserBroker))
		code, _, b := w.do("GET", "/api/user/myDetails", bearer(tok), nil)
		if code != 200 || !strings.Contains(string(b), demo.MUBroker) {
			t.Fatalf("%d %s", code, b)
		}
		code, _, b = w.do("GET", "/api/risks", bearer(tok, "UserID", demo.MUSumoBroker), nil)
		if code != 401 || string(b) != wantUserIDError {
			t.Fatalf("foreign UserID: %d %q", code, b)
		}
	})
	t.Run("POST form is accepted", func(t *testing.T) {
		code, _, b := w.do("POST", "/whitespace/_oidc_refresh", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			strings.NewReader(url.Values{"refresh_token": {renewable}}.Encode()))
		if code != 200 || !strings.Contains(string(b), `"id_token"`) {
			t.Fatalf("%d %s", code, b)
		}
	})
	t.Run("no token in any log line", func(t *testing.T) {
		logs := w.logs.String()
		if !strings.Contains(logs, "_oidc_refresh?refresh_token=REDACTED") {
			t.Fatalf("access log lacks the redacted refresh line:\n%s", logs)
		}
		for _, secret := range []string{renewable, token, strings.Split(renewable, ".")[2], strings.Split(token, ".")[2]} {
			if strings.Contains(logs, secret) {
				t.Fatalf("a token reached the logs")
			}
		}
	})
}

func TestSyncGatewayErrors(t *testing.T) {
	w := newWorld(t)
	renewable := w.renewable(demo.UserSUMO)
	g, err := w.a.Engine.SignOnPassword(w.ctx, engine.SignOnRequest{Service: "oauth2", ClientID: engine.DefaultClientID, Username: demo.UserSUMO, Password: "demo-password"})
	if err != nil {
		t.Fatal(err)
	}
	unauthorized := `{"error":"Unauthorized","reason":"Unable to refresh token."}` + "\n"
	tests := []struct {
		name, path string
		code       int
		body       string // exact, or a substring when prefixed with ~
	}{
		{"unknown bucket", "/nosuch/_oidc_refresh?refresh_token=" + renewable, 404, `~"error":"not_found"`},
		{"unknown bucket named like the proxy prefix", "/api/_oidc_refresh?refresh_token=" + renewable, 404, `~"error":"not_found"`},
		{"bad token", "/whitespace/_oidc_refresh?refresh_token=abc.def.ghi", 401, unauthorized},
		{"missing token", "/whitespace/_oidc_refresh", 400, `~Missing refresh_token`},
		{"access token instead", "/whitespace/_oidc_refresh?refresh_token=" + g.AccessToken, 401, unauthorized},
		{"rotating token says where it belongs", "/whitespace/_oidc_refresh?refresh_token=" + g.RefreshToken, 401, `~belongs to the oauth2 sign-on`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, b := w.do("GET", tc.path, nil, nil)
			ok := string(b) == tc.body
			if strings.HasPrefix(tc.body, "~") {
				ok = strings.Contains(string(b), tc.body[1:])
			}
			if code != tc.code || !ok {
				t.Fatalf("%d %s", code, b)
			}
			if hdr.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", hdr.Get("Cache-Control"))
			}
		})
	}
	t.Run("revoked and expired", func(t *testing.T) {
		u, _ := w.a.Engine.User(w.ctx, "", demo.UserSUMO)
		api, err := w.a.Engine.CreateAPIToken(w.ctx, engine.APITokenRequest{User: u.ID, Label: "x", ByAdministrator: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.a.Engine.RevokeAPIToken(w.ctx, u.ID, api.Session.ID); err != nil {
			t.Fatal(err)
		}
		if code, _, b := w.do("GET", "/whitespace/_oidc_refresh?refresh_token="+api.RefreshToken, nil, nil); code != 401 || string(b) != unauthorized {
			t.Fatalf("revoked: %d %s", code, b)
		}
		w.clk.Advance(400 * 24 * time.Hour)
		if code, _, b := w.do("GET", "/whitespace/_oidc_refresh?refresh_token="+renewable, nil, nil); code != 401 || string(b) != unauthorized {
			t.Fatalf("expired: %d %s", code, b)
		}
	})
}

func TestProxyIdentity(t *testing.T) {
	w := newWorld(t)
	token := w.idToken(w.renewable(demo.UserSUMO))
	bound := w.a.Config.Proxy.RevocationBound.D()

	t.Run("spoofed identity headers never reach the upstream", func(t *testing.T) {
		w.seenMu.Lock()
		w.seen = nil
		w.seenMu.Unlock()
		code, _, b := w.do("GET", "/api/risks", bearer(token, "UserID", demo.MUSumoUnderwr,
			"X-Tokengate-Channels", "gailbkr_ALL,otherbkr_ALL", "X-Tokengate-User", "admin", "x-tokengate-membership", demo.MUBroker,
			"X-Tokengate-Evil", "1", "Cookie", "tg_session=secret"), nil)
		var docs []any
		if err := json.Unmarshal(b, &docs); code != 200 || err != nil || len(docs) != demo.UnderwriterRisks {
			t.Fatalf("%d %d %.100s", code, len(docs), b)
		}
		w.seenMu.Lock()
		defer w.seenMu.Unlock()
		if len(w.seen) != 1 {
			t.Fatalf("upstream saw %d requests", len(w.seen))
		}
		h := w.seen[0]
		want := map[string]string{
			proxy.HeaderUser: "sumo", proxy.HeaderTenant: "default", proxy.HeaderMembership: demo.MUSumoUnderwr,
			proxy.HeaderOrganisation: "mcneillieuwr", proxy.HeaderChannels: demo.ChannelUnderwriter,
			"X-Tokengate-Evil": "", "Authorization": "", "Cookie": "", "Userid": "",
		}
		for k, v := range want {
			if got := h.Values(k); (v == "" && len(got) != 0) || (v != "" && (len(got) != 1 || got[0] != v)) {
				t.Errorf("upstream header %s = %q, want %q", k, got, v)
			}
		}
	})

	t.Run("a revoked session is refused within the bound", func(t *testing.T) {
		u, _ := w.a.Engine.User(w.ctx, "", demo.UserSUMO)
		api, err := w.a.Engine.CreateAPIToken(w.ctx, engine.APITokenRequest{User: u.ID, Label: "revoke-me", ByAdministrator: true})
		if err != nil {
			t.Fatal(err)
		}
		tok := w.idToken(api.RefreshToken)
		hdr := bearer(tok, "UserID", demo.MUSumoBroker)
		if code, _, _ := w.do("GET", "/api/user/myDetails", hdr, nil); code != 200 {
			t.Fatalf("before revocation: %d", code)
		}
		if err := w.a.Engine.RevokeSession(w.ctx, api.Session.ID, "test"); err != nil {
			t.Fatal(err)
		}
		w.clk.Advance(bound)
		code, _, b := w.do("GET", "/api/user/myDetails", hdr, nil)
		if code != 401 || !strings.Contains(string(b), `"error":true`) {
			t.Fatalf("after the bound: %d %s", code, b)
		}
	})

	t.Run("a removed membership stops working within the bound", func(t *testing.T) {
		hdr := bearer(token, "UserID", demo.MUSumoUnderwr)
		if code, _, _ := w.do("GET", "/api/user/myDetails", hdr, nil); code != 200 {
			t.Fatalf("before removal: %d", code)
		}
		if _, err := w.a.Engine.RemoveMembership(w.ctx, demo.MUSumoUnderwr); err != nil {
			t.Fatal(err)
		}
		w.clk.Advance(bound)
		if code, _, b := w.do("GET", "/api/user/myDetails", hdr, nil); code != 401 || string(b) != wantUserIDError {
			t.Fatalf("after the bound: %d %q", code, b)
		}
		// The remaining membership now needs no UserID.
		if code, _, b := w.do("GET", "/api/user/myDetails", bearer(token), nil); code != 200 || !strings.Contains(string(b), demo.MUSumoBroker) {
			t.Fatalf("remaining membership: %d %s", code, b)
		}
		// Removing the last one ends the user's sessions: refresh and proxy refuse.
		if _, err := w.a.Engine.RemoveMembership(w.ctx, demo.MUSumoBroker); err != nil {
			t.Fatal(err)
		}
		w.clk.Advance(bound)
		if code, _, _ := w.do("GET", "/api/risks", bearer(token), nil); code != 401 {
			t.Fatalf("after removing the last membership: %d", code)
		}
	})

	t.Run("concurrent requests share the caches", func(t *testing.T) {
		tok := w.idToken(w.renewable(demo.UserBroker))
		var wg sync.WaitGroup
		codes := make([]int, 16)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("GET", w.srv.URL+"/api/user/myDetails", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					codes[i] = resp.StatusCode
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		for i, c := range codes {
			if c != 200 {
				t.Fatalf("request %d: %d", i, c)
			}
		}
	})

	t.Run("missing and bad tokens", func(t *testing.T) {
		for name, hdr := range map[string]map[string]string{"none": nil, "garbage": bearer("x.y.z")} {
			code, _, b := w.do("GET", "/api/risks", hdr, nil)
			if code != 401 || !strings.HasSuffix(string(b), `,"error":true}`+"\n") || !strings.HasPrefix(string(b), `{"reason":"Invalid WSAUTH: `) {
				t.Errorf("%s: %d %s", name, code, b)
			}
		}
	})
}

func TestRisksCounts(t *testing.T) {
	a, b := demo.Risks(), demo.Risks()
	count := func(ch string) int {
		n := 0
		for _, d := range a {
			for _, c := range d.Channels {
				if c == ch {
					n++
				}
			}
		}
		return n
	}
	if count(demo.ChannelBroker) != demo.BrokerRisks || count(demo.ChannelUnderwriter) != demo.UnderwriterRisks {
		t.Fatalf("counts %d/%d", count(demo.ChannelBroker), count(demo.ChannelUnderwriter))
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Fatal("risk documents are not deterministic")
	}
}
