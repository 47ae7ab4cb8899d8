package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Proxy configures the authenticating reverse proxy ($API).
type Proxy struct {
	Routes []ProxyRoute `yaml:"routes"`
	// RevocationBound is the longest a revoked session, a removed
	// membership or changed channels may still be honoured by this node's
	// caches, and the longest between two reloads of its signing keys. On
	// PostgreSQL the store's notifications usually make it a round trip;
	// the bound holds when they are lost.
	RevocationBound Duration `yaml:"revocation_bound"`
	// CacheSize bounds each of the proxy's caches (verified tokens,
	// memberships per user).
	CacheSize int `yaml:"cache_size"`
	// TrustedProxies lists the addresses and CIDR prefixes of the proxies
	// in front of the gateway whose X-Forwarded-For the gateway extends;
	// from any other peer it replaces the header with the peer's address.
	// Their X-Forwarded-For also names the client the gateway throttles
	// and audits (httpx.ClientAddr). None by default: a client can't
	// choose the address an upstream, the throttle or the audit sees.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// ProxyRoute maps a path prefix to an upstream.
type ProxyRoute struct {
	Prefix   string `yaml:"prefix"`   // e.g. /api/
	Upstream string `yaml:"upstream"` // e.g. http://127.0.0.1:9000/
	// Builtins answers {prefix}shared/corporate and {prefix}user/myDetails
	// in the gateway itself (the Whitespace API's directory endpoints).
	Builtins bool `yaml:"builtins"`
	// Errors names the shape of the proxy's own error answers on this
	// route, so that clients behind it read them as their API's:
	// "whitespace" (default; the Whitespace API's {"reason","error":true}),
	// "core" (datarhei Core's {"code","message","details"}) or "plain"
	// ({"error","message"} with an RFC 6750 WWW-Authenticate challenge).
	Errors string `yaml:"errors"`
}

// Error shapes of proxy routes.
const (
	ErrorsWhitespace = "whitespace"
	ErrorsCore       = "core"
	ErrorsPlain      = "plain"
)

var (
	bucketPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.%-]{0,99}$`)
	routePrefixPattern = regexp.MustCompile(`^/[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*/$`)
)

// TrustedPrefixes parses TrustedProxies: each entry an address or a CIDR
// prefix.
func (p Proxy) TrustedPrefixes() ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(p.TrustedProxies))
	for i, s := range p.TrustedProxies {
		if pr, err := netip.ParsePrefix(s); err == nil {
			out = append(out, pr.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("proxy.trusted_proxies[%d] %q: want an address or a CIDR prefix such as 10.0.0.0/8", i, s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func defaultProxy() Proxy { return Proxy{RevocationBound: Duration(2 * time.Second), CacheSize: 10000} }

func (c *Config) validateSyncGWProxy() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, b := range c.SyncGW.Buckets {
		if !bucketPattern.MatchString(b) || strings.HasPrefix(b, "_") {
			bad("syncgw.buckets: %q is not a bucket name", b)
		}
	}
	if c.Proxy.RevocationBound <= 0 || c.Proxy.RevocationBound.D() > time.Minute {
		bad("proxy.revocation_bound must be positive and at most 1m")
	}
	if c.Proxy.CacheSize < 1 {
		bad("proxy.cache_size must be at least 1")
	}
	if _, err := c.Proxy.TrustedPrefixes(); err != nil {
		errs = append(errs, err)
	}
	seen := map[string]bool{}
	for i, r := range c.Proxy.Routes {
		if !routePrefixPattern.MatchString(r.Prefix) {
			bad("proxy.routes[%d].prefix %q: want a path such as /api/ (leading and trailing slash)", i, r.Prefix)
		}
		if seen[r.Prefix] {
			bad("proxy.routes[%d].prefix %q is repeated", i, r.Prefix)
		}
		seen[r.Prefix] = true
		if u, err := url.Parse(r.Upstream); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("proxy.routes[%d].upstream %q: want an absolute http(s) URL", i, r.Upstream)
		}
		switch r.Errors {
		case "", ErrorsWhitespace, ErrorsCore, ErrorsPlain:
		default:
			bad("proxy.routes[%d].errors %q: want whitespace, core or plain", i, r.Errors)
		}
	}
	return errs
}
