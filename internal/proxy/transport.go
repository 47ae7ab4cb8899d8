package proxy

import (
	"context"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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

// errorLog is the ReverseProxy's own logger, which reports an upstream
// response body that failed mid-copy. It writes to the proxy's structured
// log at warn, or at debug when the copy failed because the client went
// away: the outbound request runs on the inbound request's context, so
// "context canceled" there can only mean that net/http canceled it when
// the client closed its connection (ReverseProxy gives no context to its
// logger, so the text is all there is to tell).
func errorLog(l *slog.Logger) *log.Logger {
	return log.New(errorLogWriter{l}, "", 0)
}

type errorLogWriter struct{ l *slog.Logger }

func (w errorLogWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelWarn
	if strings.HasSuffix(msg, context.Canceled.Error()) {
		level, msg = slog.LevelDebug, msg+": client went away"
	}
	w.l.Log(context.Background(), level, msg)
	return len(p), nil
}

// timed is a route's transport: it observes each round trip to the
// upstream, from sending the request to its response headers (or its
// failure); copying the body is the client's pace, not the upstream's.
type timed struct {
	next http.RoundTripper
	obs  prometheus.Observer
}

func (t timed) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	t.obs.Observe(time.Since(start).Seconds())
	return resp, err
}
