package proxy_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/fuzzseed"
	"github.com/tokengate/tokengate/internal/proxy"
)

// guarded reports whether a server would read the header name as one
// that only the gateway may set for the upstream: its identity headers,
// the forwarding headers it writes itself, the credentials it consumes,
// and the URL and method overrides. Names are compared folded as the
// most liberal server reads them (liberalFold).
func guarded(name string) bool {
	f := liberalFold(name)
	switch f {
	case "authorization", "proxy_authorization", "cookie", "userid", "forwarded", "x_forwarded", "x_real_ip",
		"true_client_ip", "x_client_ip", "client_ip", "x_http_method", "x_http_method_override", "x_method_override":
		return true
	}
	for _, p := range []string{"x_tokengate", "x_forwarded_", "x_original_", "x_rewrite_", "x_override_"} {
		if strings.HasPrefix(f, p) {
			return true
		}
	}
	return false
}

// liberalFold folds a header name as PHP or Apache's CGI reads it: lower
// case, each run of bytes other than letters and digits one '_', none at
// either end.
func liberalFold(name string) string {
	var b strings.Builder
	sep := false
	for _, c := range []byte(strings.ToLower(name)) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			sep = false
			b.WriteByte(c)
		} else {
			sep = true
		}
	}
	return b.String()
}

// FuzzProxyRequest sends through the whole gateway (app.Handler over
// loopback, the /api/ route to an echo upstream) a request with a fuzzed
// target below /api/ and one fuzzed header line, as raw bytes on the
// wire. Properties: never a 5xx; a refusal is a 4xx in an error shape
// (the route's WSAUTH JSON, or net/http's own 400 for what is not HTTP); a
// request that reaches the upstream reaches it below the upstream's base
// (its path, cleaned, stays under /base) and carries, under every name
// that folds to a guarded header, only what the gateway set: the signed-on
// user, the peer's address.
func FuzzProxyRequest(f *testing.F) {
	e := newEdge(f, func(c *config.Config) {
		s := c.Services["oauth2"]
		s.AccessTTL = config.Duration(24 * time.Hour) // outlives any fuzz run
		c.Services["oauth2"] = s
	})
	fuzzseed.Add(f, map[string]fuzzseed.Seed{
		"plain":         {"whoami", "Accept", "application/json"},
		"spoof-user":    {"whoami", "X_Tokengate_User", "root"},
		"spoof-dot":     {"whoami", "X.Tokengate.Tenant", "acme"},
		"xff":           {"whoami", "X-Forwarded-For", "203.0.113.9"},
		"override":      {"whoami", "X-Original-URL", "/admin"},
		"enc-traversal": {"%2e%2e/admin", "Accept", "*/*"},
		"double-enc":    {"a/%252e%252e/%252e%252e/admin", "Accept", "*/*"},
		"semicolon":     {"..;/admin", "Accept", "*/*"},
		"backslash":     {"a%5c..%5c..%5cadmin", "Accept", "*/*"},
		"query":         {"risks?x=../../admin&y=%2e%2e", "Accept", "*/*"},
		"userid":        {"whoami", "UserID", "MU123"},
		"cookie":        {"whoami", "Cookie", "tokengate_session=x"},
		"second-auth":   {"whoami", "Authorization", "Bearer x.y.z"},
		"unicode":       {"caf%C3%A9/%E2%80%AE", "X-Unicode", "é"},
	})
	addr := strings.TrimPrefix(e.URL, "http://")
	f.Fuzz(func(t *testing.T, rest, name, value string) {
		if strings.ContainsAny(rest+name+value, "\r\n") || strings.ContainsAny(rest, " \t") || name == "" {
			return // one request line, one header line
		}
		switch liberalFold(name) {
		case "content_length", "transfer_encoding", "expect", "connection", "te", "trailer", "upgrade", "host":
			return // framing and hop-by-hop headers: a body promised and never sent would wait forever
		}
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// Far above any answer's time on a loaded machine: it only turns
		// a request the gateway never answers into a failure.
		conn.SetDeadline(time.Now().Add(2 * time.Minute))
		fmt.Fprintf(conn, "GET /api/%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n%s: %s\r\nConnection: close\r\n\r\n",
			rest, addr, e.token, name, value)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no HTTP response: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		e.mu.Lock()
		e.seen = nil // the echo's record is not needed here, nor the log
		e.mu.Unlock()
		e.srv.TakeLogs()
		if resp.StatusCode >= 500 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if resp.StatusCode >= 400 {
			checkRefusal(t, resp, body)
			return
		}
		var got echoed
		if err := json.Unmarshal(body, &got); err != nil || got.RequestURI == "" {
			return // a builtin or a dialect answered, not the upstream
		}
		if !strings.HasPrefix(got.RequestURI, "/base/") {
			t.Fatalf("upstream reached at %q", got.RequestURI)
		}
		if c := path.Clean(got.Path); c != "/base" && !strings.HasPrefix(c, "/base/") {
			t.Fatalf("upstream path %q leads to %q", got.Path, c)
		}
		for k, vs := range got.Header {
			if !guarded(k) {
				continue
			}
			if guarded(name) && value != "" && len(vs) == 1 && vs[0] == strings.TrimSpace(value) && !gatewayValue(k, vs[0], addr) {
				t.Fatalf("the client's %s: %q reached the upstream as %s", name, value, k)
			}
			switch k {
			case proxy.HeaderUser, proxy.HeaderTenant, proxy.HeaderSession, proxy.HeaderUserID, proxy.HeaderMembership,
				proxy.HeaderOrganisation, proxy.HeaderChannels, "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto":
				if !gatewayValue(k, vs[0], addr) || len(vs) != 1 {
					t.Fatalf("upstream got %s: %q", k, vs)
				}
			default:
				t.Fatalf("upstream got the guarded header %s: %q (client sent %s: %q)", k, vs, name, value)
			}
		}
	})
}

// gatewayValue reports whether v is what the gateway itself sets as k for
// the edge's admin.
func gatewayValue(k, v, addr string) bool {
	switch k {
	case proxy.HeaderUser:
		return v == "admin"
	case proxy.HeaderTenant:
		return v == "default"
	case proxy.HeaderMembership, proxy.HeaderOrganisation, proxy.HeaderChannels:
		return v == ""
	case proxy.HeaderSession, proxy.HeaderUserID:
		return v != ""
	case "X-Forwarded-For":
		return v == "127.0.0.1"
	case "X-Forwarded-Host":
		return v == addr
	case "X-Forwarded-Proto":
		return v == "http"
	}
	return false
}

// checkRefusal checks a 4xx: the gateway's JSON error shape, or the plain
// "400 Bad Request" net/http writes for what is not HTTP.
func checkRefusal(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	if resp.StatusCode == http.StatusBadRequest && strings.HasPrefix(string(body), "400 Bad Request") {
		return
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("status %d with a body that is not JSON: %q", resp.StatusCode, body)
	}
	if e, _ := m["error"].(bool); e { // WSAUTH, the route's default shape
		if r, _ := m["reason"].(string); r == "" {
			t.Fatalf("status %d WSAUTH error without a reason: %s", resp.StatusCode, body)
		}
		return
	}
	if e, _ := m["error"].(string); e != "" {
		if msg, _ := m["message"].(string); msg == "" {
			if d, _ := m["error_description"].(string); d == "" {
				t.Fatalf("status %d error %q without a message: %s", resp.StatusCode, e, body)
			}
		}
		return
	}
	if code, _ := m["code"].(float64); int(code) == resp.StatusCode { // Core's shape, for its /api paths
		return
	}
	t.Fatalf("status %d in no error shape: %s", resp.StatusCode, body)
}
