package httpx_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/tokengate/tokengate/internal/httpx"
)

// TestClientAddr: the client is the peer, unless the peer is a trusted
// proxy; then the nearest X-Forwarded-For hop that is no trusted proxy.
func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32")}
	for _, tc := range []struct {
		name, peer string
		xff        []string
		trusted    []netip.Prefix
		want       string
	}{
		{"no proxies trusted", "10.0.0.5:1234", []string{"198.51.100.7"}, nil, "10.0.0.5"},
		{"untrusted peer", "203.0.113.9:1234", []string{"198.51.100.7"}, trusted, "203.0.113.9"},
		{"trusted peer, no header", "10.0.0.5:1234", nil, trusted, "10.0.0.5"},
		{"trusted peer", "10.0.0.5:1234", []string{"198.51.100.7"}, trusted, "198.51.100.7"},
		{"client-chosen hops left of the first untrusted", "10.0.0.5:1234", []string{"1.2.3.4, 198.51.100.7"}, trusted, "198.51.100.7"},
		{"trusted hops skipped", "10.0.0.5:1234", []string{"198.51.100.7, 10.1.1.1", "192.0.2.1"}, trusted, "198.51.100.7"},
		{"all hops trusted", "10.0.0.5:1234", []string{"10.9.9.9"}, trusted, "10.9.9.9"},
		{"garbage hop", "10.0.0.5:1234", []string{"evil, not-an-ip"}, trusted, "10.0.0.5"},
		{"IPv4-mapped", "[::ffff:10.0.0.5]:1234", []string{"::ffff:198.51.100.7"}, trusted, "198.51.100.7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := httpx.ClientAddr(r, tc.trusted); got != tc.want {
				t.Fatalf("ClientAddr = %q, want %q", got, tc.want)
			}
		})
	}
}
