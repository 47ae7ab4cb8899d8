package proxy_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/proxy"
)

// TestSpoofedIdentityHeadersNeverReachUpstream sends, through the proxy,
// every spelling of the gateway's identity headers that some server would
// read as one of them (any case; '_' or another separator for '-', as
// CGI/WSGI fold them) and checks that the upstream sees only the values the
// gateway set, under the canonical names.
func TestSpoofedIdentityHeadersNeverReachUpstream(t *testing.T) {
	e := newEdge(t, nil)
	want := map[string]string{
		proxy.HeaderUser: "admin", proxy.HeaderTenant: "default", proxy.HeaderMembership: "",
		proxy.HeaderOrganisation: "", proxy.HeaderChannels: "",
	}
	names := []string{
		"X-Tokengate-User", "x-tokengate-user", "X-TOKENGATE-USER", "X_Tokengate_User", "x_tokengate_user",
		"X_TOKENGATE_USER", "X-Tokengate_User", "X_Tokengate-User", "x_tokengate-channels", "X_Tokengate_Channels",
		"X-TokenGate-Channels", "X_Tokengate_Membership", "X_Tokengate_Organisation", "X_Tokengate_Tenant",
		"X_Tokengate_Session", "X_Tokengate_User_Id", "X-Tokengate-User_Id", "X.Tokengate.User", "X~Tokengate~Tenant",
		"X-Tokengate-Admin", "X_Tokengate_Roles", "x-tokengate", "-X-Tokengate-User", "X--Tokengate--User",
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			const spoof = "spoofed-by-client"
			status, got := e.get("/api/whoami", [][2]string{{name, spoof}})
			if status != http.StatusOK || got == nil {
				t.Fatalf("status %d, upstream not reached", status)
			}
			for k, vs := range got.Header {
				if slices.ContainsFunc(vs, func(v string) bool { return strings.Contains(v, spoof) }) {
					t.Errorf("upstream got %s: %q", k, vs)
				}
				if strings.HasPrefix(fold(k), "x_tokengate") && http.CanonicalHeaderKey(k) != k {
					t.Errorf("upstream got a non-canonical identity header %s: %q", k, vs)
				}
			}
			for k, v := range want {
				if vs := got.Header[k]; len(vs) != 1 || vs[0] != v {
					t.Errorf("upstream %s = %q, want [%q]", k, vs, v)
				}
			}
		})
	}
}

// TestClientIPAndURLOverrideHeadersDropped checks that no client-IP or
// URL/method-override header a client sends reaches the upstream, in any
// spelling, and that X-Forwarded-For/-Host/-Proto are the gateway's own.
func TestClientIPAndURLOverrideHeadersDropped(t *testing.T) {
	e := newEdge(t, nil)
	names := []string{
		// client address
		"X-Real-IP", "X_Real_IP", "True-Client-IP", "X-Client-IP", "Client-IP", "CF-Connecting-IP", "CF-Connecting-IPv6",
		"Fastly-Client-IP", "X-Cluster-Client-IP", "X-Originating-IP", "X-Remote-IP", "X-Remote-Addr", "X-ProxyUser-Ip",
		"Forwarded", "Forwarded-For", "X-Forwarded", "X-Forwarded-For", "X_Forwarded_For", "x-forwarded-for",
		"X-Forwarded-Host", "X_Forwarded_Host", "X-Forwarded-Proto", "X-Forwarded-Port", "X-Forwarded-Prefix",
		"X_Forwarded_Prefix", "X-Forwarded-Server", "X-Forwarded-Ssl", "X-Forwarded-Scheme", "X-Forwarded-Uri",
		"X-Forwarded-Path", "X-Url-Scheme", "Front-End-Https", "X-Host", "X-Original-Host", "X-Envoy-External-Address",
		// URL and method overrides
		"X-Original-URL", "x_original_url", "X-Original-URI", "X-Rewrite-URL", "X_Rewrite_Url", "X-Override-URL",
		"X-HTTP-Method-Override", "X_HTTP_Method_Override", "X-HTTP-Method", "X-Method-Override", "X-Original-Method",
		"X-Envoy-Original-Path", "X-HTTP-Host-Override",
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			const spoof = "203.0.113.66"
			status, got := e.get("/api/whoami", [][2]string{{name, spoof}, {name, "/admin?" + spoof}})
			if status != http.StatusOK || got == nil {
				t.Fatalf("status %d, upstream not reached", status)
			}
			for k, vs := range got.Header {
				if slices.ContainsFunc(vs, func(v string) bool { return strings.Contains(v, spoof) }) {
					t.Errorf("upstream got %s: %q", k, vs)
				}
			}
			if xff := got.Header["X-Forwarded-For"]; len(xff) != 1 || xff[0] != "127.0.0.1" {
				t.Errorf("X-Forwarded-For = %q, want the peer address alone", xff)
			}
			host := strings.TrimPrefix(e.URL, "http://")
			if h := got.Header["X-Forwarded-Host"]; len(h) != 1 || h[0] != host {
				t.Errorf("X-Forwarded-Host = %q, want %q", h, host)
			}
			if p := got.Header["X-Forwarded-Proto"]; len(p) != 1 || p[0] != "http" {
				t.Errorf("X-Forwarded-Proto = %q, want http", p)
			}
			if got.RequestURI != "/base/whoami" {
				t.Errorf("upstream request URI %q", got.RequestURI)
			}
		})
	}
}

// TestTrustedProxiesForwardedFor checks proxy.trusted_proxies: a peer in
// one of its prefixes has its X-Forwarded-For chain extended, any other
// peer has it replaced by its own address; only the canonical header
// counts as the chain.
func TestTrustedProxiesForwardedFor(t *testing.T) {
	cases := []struct {
		name    string
		trusted []string
		header  [][2]string
		want    string
	}{
		{"none trusted by default", nil, [][2]string{{"X-Forwarded-For", "198.51.100.7"}}, "127.0.0.1"},
		{"peer not in a trusted prefix", []string{"10.0.0.0/8", "::1/128"}, [][2]string{{"X-Forwarded-For", "198.51.100.7"}}, "127.0.0.1"},
		{"trusted peer extends the chain", []string{"127.0.0.0/8"}, [][2]string{{"X-Forwarded-For", "198.51.100.7"}}, "198.51.100.7, 127.0.0.1"},
		{"trusted bare address", []string{"127.0.0.1"}, [][2]string{{"X-Forwarded-For", "198.51.100.7, 192.0.2.1"}}, "198.51.100.7, 192.0.2.1, 127.0.0.1"},
		{"trusted peer, several lines", []string{"127.0.0.1/32"}, [][2]string{{"X-Forwarded-For", "198.51.100.7"}, {"X-Forwarded-For", "192.0.2.1"}}, "198.51.100.7, 192.0.2.1, 127.0.0.1"},
		{"trusted peer, underscore spelling is not the chain", []string{"127.0.0.1/32"}, [][2]string{{"X_Forwarded_For", "198.51.100.7"}}, "127.0.0.1"},
		{"trusted peer without a chain", []string{"127.0.0.1/32"}, nil, "127.0.0.1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEdge(t, func(c *config.Config) { c.Proxy.TrustedProxies = tc.trusted })
			status, got := e.get("/api/whoami", tc.header)
			if status != http.StatusOK || got == nil {
				t.Fatalf("status %d, upstream not reached", status)
			}
			if xff := got.Header["X-Forwarded-For"]; len(xff) != 1 || xff[0] != tc.want {
				t.Errorf("X-Forwarded-For = %q, want %q", xff, tc.want)
			}
			for k := range got.Header {
				if k != "X-Forwarded-For" && fold(k) == "x_forwarded_for" {
					t.Errorf("upstream got %s", k)
				}
			}
		})
	}
}

// TestTrustedProxiesValidated checks that a trusted proxy that is neither
// an address nor a CIDR prefix is a configuration error.
func TestTrustedProxiesValidated(t *testing.T) {
	for _, bad := range []string{"", "localhost", "10.0.0.0/33", "300.1.1.1", "10.0.0.0/8 "} {
		c := config.Default()
		c.Proxy.TrustedProxies = []string{bad}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "proxy.trusted_proxies") {
			t.Errorf("trusted proxy %q: Validate = %v", bad, err)
		}
	}
	c := config.Default()
	c.Proxy.TrustedProxies = []string{"10.0.0.0/8", "192.0.2.1", "2001:db8::/32", "::1"}
	if err := c.Validate(); err != nil {
		t.Errorf("good trusted proxies: %v", err)
	}
}

// TestSpoofedTrailersNeverReachUpstream sends the identity and override
// headers as request trailers of a chunked body: the proxy forwards
// trailers (X-Benign shows it does), but none of these, whose name an
// upstream that merges trailers into the header would read as the
// gateway's.
func TestSpoofedTrailersNeverReachUpstream(t *testing.T) {
	e := newEdge(t, nil)
	names := []string{"X-Tokengate-User", "X_Tokengate_User", "X-Tokengate-Channels", "X-Real-IP", "X-Original-URL", "Authorization", "Userid", "X-Benign"}
	addr := strings.TrimPrefix(e.URL, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var trailer strings.Builder
	for _, n := range names {
		trailer.WriteString(n + ": spoofed-by-client\r\n")
	}
	fmt.Fprintf(conn, "POST /api/upload HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nTrailer: %s\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"+
		"5\r\nhello\r\n0\r\n%s\r\n", addr, e.token, strings.Join(names, ", "), trailer.String())
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := e.echo(resp)
	if got == nil {
		t.Fatalf("status %d, upstream not reached", resp.StatusCode)
	}
	if _, ok := got.Trailer["X-Benign"]; !ok {
		t.Fatalf("no trailer reached the upstream: %v", got.Trailer)
	}
	for k, vs := range got.Trailer {
		if k != "X-Benign" {
			t.Errorf("upstream got trailer %s: %q", k, vs)
		}
	}
	for k, vs := range got.Header {
		if slices.ContainsFunc(vs, func(v string) bool { return strings.Contains(v, "spoofed") }) {
			t.Errorf("upstream got header %s: %q", k, vs)
		}
	}
}

// TestUpstreamCannotSetGatewayCookies: an upstream behind the proxy shares
// the gateway's origin, so a Set-Cookie naming the web UI's session or
// pre-sign-in cookie would be the gateway's to the browser (signing it in
// as someone else). The proxy drops those and passes the upstream's own.
func TestUpstreamCannotSetGatewayCookies(t *testing.T) {
	e := newEdge(t, nil)
	gateway := []string{
		"tokengate_session=attacker; Path=/", "__Host-tokengate_session=attacker; Path=/; Secure",
		"__Host-tokengate_pre=x; Path=/; Secure", "tokengate_pre=x", "__Secure-tokengate_session=x; Secure",
		"TOKENGATE_SESSION=x", " tokengate_flow=x", "tokengate=x",
	}
	own := []string{"app_session=abc; Path=/api/; HttpOnly", "my_tokengate=1", "__Host-app=1; Path=/; Secure"}
	req, err := http.NewRequest(http.MethodGet, e.URL+"/api/whoami", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	for _, c := range append(slices.Clone(gateway), own...) {
		req.Header.Add("X-Echo-Set-Cookie", c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := resp.Header.Values("Set-Cookie")
	if resp.StatusCode != http.StatusOK || !slices.Equal(got, own) {
		t.Fatalf("status %d, Set-Cookie %q; want %q", resp.StatusCode, got, own)
	}
}
