package proxy

import (
	"net"
	"net/http"
	"time"
)

// maxIdlePerUpstream is how many idle connections the proxy keeps to each
// upstream. http.DefaultTransport keeps 2, so under concurrent load every
// other proxied request dialled a new TCP connection (and left one in
// TIME_WAIT): measured, dialling was a quarter of the server's CPU and the
// proxy's throughput fell to a sixth of the upstream's
// (docs/PERFORMANCE.md).
const maxIdlePerUpstream = 256

// defaultTransport is the proxy's transport when Options.Transport is
// nil: http.DefaultTransport's settings, keeping enough idle connections
// to reuse one per concurrent request.
func defaultTransport() http.RoundTripper {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4 * maxIdlePerUpstream,
		MaxIdleConnsPerHost:   maxIdlePerUpstream,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
}
