package app_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/proxy"
)

// TestFrontRouter checks which surface answers each kind of path on a node
// where the surfaces overlap: Sync Gateway buckets "db" and "api", a proxy
// prefix /api/ (which contains the Core dialect's /api/login and the
// bucket api's _oidc_refresh) and a proxy prefix /data/ (which contains
// /data/_oidc_refresh of a bucket that does not exist).
func TestFrontRouter(t *testing.T) {
	var mu sync.Mutex
	var upstream []string // paths the upstream received
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		upstream = append(upstream, r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"upstream":true}`)
	}))
	t.Cleanup(up.Close)
	s := apptest.New(t, func(c *config.Config) {
		c.SyncGW = config.SyncGW{Enabled: true, Buckets: []string{"db", "api"}}
		c.Proxy.Routes = []config.ProxyRoute{{Prefix: "/api/", Upstream: up.URL + "/"}, {Prefix: "/data/", Upstream: up.URL + "/"}}
	})
	s.User(t, "", "alice", "alice-pass-1", true)
	g := s.APIToken(t, "", "alice", "laptop")
	rt := url.QueryEscape(g.RefreshToken)
	bearer := map[string]string{"Authorization": "Bearer " + g.AccessToken}

	// Routes the OpenAPI document describes, validated by the harness.
	for _, tc := range []struct {
		name, method, path string
		header             map[string]string
		body               string
		status             int
		// field and value: a top-level JSON field that shows which
		// surface answered.
		field, value string
	}{
		{"known bucket refreshes", "GET", "/db/_oidc_refresh?refresh_token=" + rt, nil, "", 200, "name", "alice"},
		{"known bucket inside a proxy prefix", "GET", "/api/_oidc_refresh?refresh_token=" + rt, nil, "", 200, "name", "alice"},
		{"known bucket, other method", "PUT", "/db/_oidc_refresh", nil, "", 405, "reason", "_oidc_refresh takes GET or POST"},
		{"unknown bucket", "GET", "/nosuch/_oidc_refresh?refresh_token=" + rt, nil, "", 404, "reason", "no such database"},
		{"unknown bucket inside a proxy prefix", "GET", "/data/_oidc_refresh?refresh_token=" + rt, nil, "", 404, "reason", "no such database"},
		{"Core route inside a proxy prefix", "POST", "/api/login", nil, `{"username":"alice","password":"wrong"}`, 401, "message", "Unauthorized"},
		{"proxied path without a token", "GET", "/api/shared/corporate", nil, "", 401, "reason", proxy.ReasonNoToken},
		{"oauth2 route", "GET", "/oauth2/token", nil, "", 405, "error", "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Do(t, tc.method, tc.path, tc.header, tc.body)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if tc.value != "" {
				if got := r.JSON(t)[tc.field]; got != tc.value {
					t.Fatalf("%s = %v, want %q: %s", tc.field, got, tc.value, r.Body)
				}
			}
		})
	}
	t.Run("HEAD of a known bucket", func(t *testing.T) {
		if r := s.Do(t, "HEAD", "/db/_oidc_refresh?refresh_token="+rt, nil, ""); r.Status != 405 || r.Header.Get("Allow") != "GET, POST" {
			t.Fatalf("HEAD: %d, Allow %q", r.Status, r.Header.Get("Allow"))
		}
	})

	// Routes only the proxy knows, answers the document does not list and
	// paths that are not clean: sent without validation and without
	// following redirects.
	raw := func(t *testing.T, method, path string, header map[string]string) (apptest.Response, string) {
		t.Helper()
		r := s.Raw(t, method, path, header)
		return r, string(r.Body)
	}
	t.Run("proxied path", func(t *testing.T) {
		resp, body := raw(t, "GET", "/api/risks", bearer)
		if resp.Status != 200 || !strings.Contains(body, `"upstream":true`) {
			t.Fatalf("%d %s", resp.Status, body)
		}
	})
	t.Run("proxied path ending in _oidc_refresh deeper down", func(t *testing.T) {
		resp, body := raw(t, "GET", "/api/x/_oidc_refresh", bearer)
		if resp.Status != 200 || !strings.Contains(body, `"upstream":true`) {
			t.Fatalf("%d %s", resp.Status, body)
		}
	})
	for _, tc := range []struct{ name, method, path, field, value string }{
		{"unknown bucket, other method", "DELETE", "/nosuch/_oidc_refresh", "reason", "no such database"},
		{"no surface", "GET", "/nowhere/at/all", "error", "not_found"},
		{"no surface, other method", "POST", "/healthz", "error", "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := raw(t, tc.method, tc.path, nil)
			if resp.Status != http.StatusNotFound || !strings.Contains(body, `"`+tc.field+`":"`+tc.value+`"`) {
				t.Fatalf("%d %s, want 404 with %s %q", resp.Status, body, tc.field, tc.value)
			}
		})
	}
	for p, clean := range map[string]string{"/../_oidc_refresh": "/_oidc_refresh", "/./_oidc_refresh": "/_oidc_refresh", "/db/../db/_oidc_refresh": "/db/_oidc_refresh"} {
		t.Run("unclean "+p, func(t *testing.T) {
			resp, body := raw(t, "GET", p, nil)
			if resp.Status/100 != 3 || resp.Header.Get("Location") != clean {
				t.Fatalf("%d, Location %q: %s; want the mux's redirect to %s", resp.Status, resp.Header.Get("Location"), body, clean)
			}
		})
	}
	mu.Lock()
	got := strings.Join(upstream, " ")
	mu.Unlock()
	if got != "/risks /x/_oidc_refresh" {
		t.Errorf("upstream received %q, want only the two proxied paths", got)
	}

	// Sync Gateway's requests are counted under one route, whatever the
	// bucket.
	_, metrics := raw(t, "GET", "/metrics", nil)
	if !strings.Contains(metrics, `tokengate_http_requests_total{code="200",route="/{bucket}/_oidc_refresh"} 2`) {
		t.Errorf("metrics lack the _oidc_refresh route:\n%s", grep(metrics, "tokengate_http_requests_total"))
	}
}

func grep(s, substr string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
