package app_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
)

// gateway is a whole node (app.Handler, as `serve` mounts it) with every
// surface enabled: OAuth 2.0, Core, AGS, Sync Gateway, the admin API and a
// proxy route to an upstream that answers without security headers.
type gateway struct {
	URL   string
	App   *app.App
	admin string // an admin's access token
}

// testMasterKey is the gateway's master key (TOKENGATE_MASTER_KEY).
var testMasterKey = strings.Repeat("k", 43) + "="

func newGateway(t *testing.T) *gateway {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "upstream says hi")
	}))
	t.Cleanup(up.Close)
	s := apptest.Start(t, apptest.Options{MasterKey: testMasterKey, Config: func(cfg *config.Config) {
		cfg.SyncGW.Enabled, cfg.SyncGW.Buckets = true, []string{"whitespace"}
		cfg.Proxy.Routes = []config.ProxyRoute{{Prefix: "/svc/", Upstream: up.URL + "/", Builtins: true}}
	}})
	return &gateway{URL: s.URL, App: s.App, admin: s.AdminToken(t)}
}

// probe is one request to the gateway.
type probe struct {
	name, method, path string
	header             map[string]string
	body               string
}

func (g *gateway) do(t *testing.T, p probe) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(p.method, g.URL+p.path, strings.NewReader(p.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range p.header {
		req.Header.Set(k, strings.ReplaceAll(v, "$ADMIN", g.admin))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var (
	form      = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	jsonBody  = map[string]string{"Content-Type": "application/json"}
	asAdmin   = map[string]string{"Authorization": "Bearer $ADMIN"}
	adminJSON = map[string]string{"Authorization": "Bearer $ADMIN", "Content-Type": "application/json"}
)

// TestEverySurfaceSendsNoSniff checks X-Content-Type-Options: nosniff on
// responses of every surface, successes and errors alike, proxied ones
// included.
func TestEverySurfaceSendsNoSniff(t *testing.T) {
	g := newGateway(t)
	probes := []probe{
		{"healthz", "GET", "/healthz", nil, ""},
		{"readyz", "GET", "/readyz", nil, ""},
		{"metrics", "GET", "/metrics", nil, ""},
		{"openapi", "GET", "/openapi.json", nil, ""},
		{"discovery", "GET", "/.well-known/openid-configuration", nil, ""},
		{"jwks", "GET", "/.well-known/jwks.json", nil, ""},
		{"oauth2 token ok", "POST", "/oauth2/token", form, "grant_type=password&client_id=tokengate&username=admin&password=" + apptest.AdminPassword},
		{"oauth2 token error", "POST", "/oauth2/token", form, "grant_type=password&client_id=tokengate&username=admin&password=wrong"},
		{"oauth2 introspect", "POST", "/oauth2/introspect", form, "token=x"},
		{"oauth2 revoke", "POST", "/oauth2/revoke", form, "token=x&client_id=tokengate"},
		{"core about", "GET", "/api", nil, ""},
		{"core login error", "POST", "/api/login", jsonBody, `{"username":"admin","password":"wrong"}`},
		{"core refresh error", "GET", "/api/login/refresh", nil, ""},
		{"ags discovery", "GET", "/ags/servicediscovery", nil, ""},
		{"ags signOn error", "POST", "/ags/signOn", jsonBody, `{}`},
		{"syncgw refresh error", "GET", "/whitespace/_oidc_refresh?refresh_token=x", nil, ""},
		{"proxied upstream response", "GET", "/svc/anything", asAdmin, ""},
		{"proxy builtin", "GET", "/svc/user/myDetails", asAdmin, ""},
		{"proxy error", "GET", "/svc/anything", nil, ""},
		{"admin api", "GET", "/admin/api/organisations", asAdmin, ""},
		{"admin api error", "GET", "/admin/api/organisations", nil, ""},
		{"profile", "GET", "/profile/api-tokens", asAdmin, ""},
		{"not found", "GET", "/no/such/thing", nil, ""},
		{"method not allowed", "DELETE", "/oauth2/token", nil, ""},
	}
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			resp, body := g.do(t, p)
			if v := resp.Header.Values("X-Content-Type-Options"); len(v) == 0 || v[0] != "nosniff" {
				t.Errorf("status %d, X-Content-Type-Options %q: %.200s", resp.StatusCode, v, body)
			}
		})
	}
}

// marker is the client input that must never come back: were it echoed, a
// browser sniffing the body as HTML would run it.
const marker = `zq7<script>alert(1)</script>`

// TestClientInputNeverEchoed sends the marker in every place a client
// controls (parameter values and names, headers, paths, JSON field names
// and values, token claims) to every surface and checks that no response
// carries it, raw or escaped.
func TestClientInputNeverEchoed(t *testing.T) {
	g := newGateway(t)
	q := url.QueryEscape(marker)
	jsonMarker := strings.NewReplacer(`"`, `\"`).Replace(marker)
	forged := "eyJhbGciOiJFZERTQSIsImtpZCI6Ing8c2NyaXB0PiIsInR5cCI6IkpXVCJ9." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+jsonMarker+`","sub":"`+jsonMarker+`","exp":4102444800}`)) + ".c2ln"
	probes := []probe{
		// OAuth 2.0
		{"unsupported grant_type", "POST", "/oauth2/token", form, "client_id=tokengate&grant_type=" + q},
		{"repeated unknown parameter", "POST", "/oauth2/token", form, "grant_type=password&" + q + "=1&" + q + "=2"},
		{"unknown client", "POST", "/oauth2/token", form, "grant_type=password&username=a&password=b&client_id=" + q},
		{"username", "POST", "/oauth2/token", form, "grant_type=password&client_id=tokengate&password=b&username=" + q},
		{"refresh_token", "POST", "/oauth2/token", form, "grant_type=refresh_token&client_id=tokengate&refresh_token=" + q},
		{"forged refresh_token", "POST", "/oauth2/token", form, "grant_type=refresh_token&client_id=tokengate&refresh_token=" + forged},
		{"token exchange", "POST", "/oauth2/token", form, "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&client_id=tokengate&subject_token_type=" + q + "&subject_token=" + forged},
		{"introspect", "POST", "/oauth2/introspect", form, "token=" + forged + "&token_type_hint=" + q},
		{"revoke", "POST", "/oauth2/revoke", form, "client_id=tokengate&token=" + q + "&token_type_hint=" + q},
		{"Basic client", "POST", "/oauth2/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded",
			"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(q+":"+q))}, "grant_type=client_credentials"},
		{"content type", "POST", "/oauth2/token", map[string]string{"Content-Type": marker}, "grant_type=password"},
		// Core
		{"core unknown field", "POST", "/api/login", jsonBody, `{"username":"a","password":"b","` + jsonMarker + `":1}`},
		{"core bad JSON", "POST", "/api/login", jsonBody, `{"username":` + marker},
		{"core username", "POST", "/api/login", jsonBody, `{"username":"` + jsonMarker + `","password":"b"}`},
		{"core bearer", "POST", "/api/login", map[string]string{"Authorization": "Bearer " + forged}, ""},
		{"core refresh", "GET", "/api/login/refresh", map[string]string{"Authorization": "Bearer " + forged}, ""},
		// AGS
		{"ags unknown parameter", "POST", "/ags/signOn", map[string]string{"Content-Type": "application/json", "x-auth-service-id": "password"},
			`{"parameters":[{"name":"` + jsonMarker + `","value":"x"}]}`},
		{"ags service id", "POST", "/ags/signOn", map[string]string{"Content-Type": "application/json", "x-auth-service-id": marker}, `{}`},
		{"ags tenant", "POST", "/ags/signOn", map[string]string{"Content-Type": "application/json", "x-auth-service-id": "password", "nv-tenant-id": marker},
			`{"parameters":[{"name":"username","value":"admin"},{"name":"password","value":"` + apptest.AdminPassword + `"}]}`},
		{"ags refresh tenant", "POST", "/ags/refresh", map[string]string{"Content-Type": "application/json", "x-auth-service-id": "password",
			"nv-tenant-id": marker, "Authorization": forged}, `{}`},
		{"ags correlation id", "POST", "/ags/signOn", map[string]string{"Content-Type": "application/json", "x-correlation-id": marker}, `{}`},
		{"ags validate", "GET", "/ags/validate", map[string]string{"Authorization": "Bearer " + forged}, ""},
		// Sync Gateway
		{"syncgw bucket", "GET", "/" + q + "/_oidc_refresh?refresh_token=x", nil, ""},
		{"syncgw refresh_token", "GET", "/whitespace/_oidc_refresh?refresh_token=" + q, nil, ""},
		{"syncgw forged", "POST", "/whitespace/_oidc_refresh", form, "refresh_token=" + forged},
		// Proxy
		{"proxy UserID", "GET", "/svc/anything", map[string]string{"Authorization": "Bearer $ADMIN", "UserID": marker}, ""},
		{"proxy token", "GET", "/svc/anything", map[string]string{"Authorization": "Bearer " + forged}, ""},
		{"proxy path", "GET", "/svc/%2e%2e/" + q, asAdmin, ""},
		{"proxy corporate search", "GET", "/svc/shared/corporate?search=" + q, asAdmin, ""},
		// Admin API and profile
		{"admin unknown field", "POST", "/admin/api/organisations", adminJSON, `{"name":"ok","` + jsonMarker + `":1}`},
		{"admin bad JSON", "POST", "/admin/api/organisations", adminJSON, `{"name":` + marker},
		{"admin bad name", "POST", "/admin/api/organisations", adminJSON, `{"name":"` + jsonMarker + `"}`},
		{"admin unknown organisation", "GET", "/admin/api/organisations/" + q, asAdmin, ""},
		{"admin membership user", "POST", "/admin/api/memberships", adminJSON, `{"user":"` + jsonMarker + `","organisation":"x"}`},
		{"admin membership organisation", "POST", "/admin/api/memberships", adminJSON, `{"user":"admin","organisation":"` + jsonMarker + `"}`},
		{"admin membership id", "POST", "/admin/api/memberships", adminJSON, `{"user":"admin","organisation":"x","id":"` + jsonMarker + `"}`},
		{"admin unknown membership", "GET", "/admin/api/memberships/" + q, asAdmin, ""},
		{"admin channels", "PUT", "/admin/api/memberships/" + q + "/channels", adminJSON, `{"channels":["` + jsonMarker + `"]}`},
		{"admin membership filter", "GET", "/admin/api/memberships?user=" + q + "&organisation=" + q, asAdmin, ""},
		{"profile revoke", "DELETE", "/profile/api-tokens/" + q, asAdmin, ""},
		{"profile token label", "POST", "/profile/api-tokens", adminJSON, `{"label":"` + jsonMarker + strings.Repeat("x", 100) + `"}`},
		{"admin link user", "POST", "/admin/api/users/" + q + "/identities", adminJSON, `{"issuer":"auth0","subject":"s"}`},
		{"admin link issuer", "POST", "/admin/api/users/admin/identities", adminJSON, `{"issuer":"` + jsonMarker + `","subject":"s"}`},
		{"admin link subject", "POST", "/admin/api/users/admin/identities", adminJSON, `{"issuer":"auth0","subject":"` + jsonMarker + strings.Repeat("x", 300) + `"}`},
		// The rest
		{"unknown path", "GET", "/" + q, nil, ""},
		{"unknown method", "PATCH", "/" + q, nil, ""},
	}
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			resp, body := g.do(t, p)
			lower := strings.ToLower(body)
			for _, form := range []string{"zq7", "<script", `\u003cscript`, "%3cscript", "alert(1)"} {
				if strings.Contains(lower, form) {
					t.Errorf("status %d echoes the input (%s): %.300s", resp.StatusCode, form, body)
					break
				}
			}
			for k, vs := range resp.Header {
				for _, v := range vs {
					if strings.Contains(strings.ToLower(v), "zq7") && !strings.EqualFold(k, "X-Correlation-Id") {
						t.Errorf("header %s echoes the input: %q", k, v)
					}
				}
			}
		})
	}
}
