// Package httpx holds what every HTTP surface of tokengate shares: the
// middleware that gives each request its correlation id, access log and
// metrics, and small JSON helpers. Dialects write their own error shapes.
package httpx

import (
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokengate/tokengate/internal/obs"
)

// CorrelationHeader carries the correlation id in and out of every request.
const CorrelationHeader = "X-Correlation-Id"

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// NoStore marks a response that carries tokens as never cacheable
// (RFC 6749 §5.1).
func NoStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// BearerToken returns the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// ClientAddr returns the address of the client r comes from: the peer's,
// or, when the peer is one of the trusted proxies, the nearest address of
// the X-Forwarded-For chain that is not a trusted proxy itself (each proxy
// appends the peer it saw, so everything left of the first untrusted hop
// is the client's to invent). It is the address the gateway throttles and
// audits; a client can't choose it unless it is a trusted proxy.
func ClientAddr(r *http.Request, trusted []netip.Prefix) string {
	peer := ClientIP(r)
	if !TrustedAddr(peer, trusted) {
		return peer
	}
	var hops []string
	for _, line := range r.Header["X-Forwarded-For"] {
		for _, h := range strings.Split(line, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	addr := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			break // a hop that is no address: trust nothing left of it
		}
		addr = a.Unmap().String()
		if !TrustedAddr(addr, trusted) {
			break
		}
	}
	return addr
}

// TrustedAddr reports whether the address s (IPv4-mapped IPv6 counts as
// IPv4) lies in one of the trusted proxies' prefixes.
func TrustedAddr(s string, trusted []netip.Prefix) bool {
	if len(trusted) == 0 {
		return false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the peer address of r without its port.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// secretParams are query parameters whose values never reach a log line.
var secretParams = []string{"refresh_token", "access_token", "token", "id_token", "id_token_hint", "code", "code_verifier",
	"password", "client_secret", "subject_token"}

// RedactedURI returns the request path and query with secret parameter
// values replaced by "REDACTED", safe for logs.
func RedactedURI(u *url.URL) string {
	if u.RawQuery == "" {
		return u.Path
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return u.Path + "?REDACTED"
	}
	for _, p := range secretParams {
		for k := range q {
			if strings.EqualFold(k, p) {
				for i := range q[k] {
					q[k][i] = "REDACTED"
				}
			}
		}
	}
	return u.Path + "?" + q.Encode()
}

// Middleware wraps every request: it sets the security headers every
// response carries (public.go), takes or makes the correlation id, echoes it, puts it in the context for logs and audit events, recovers
// panics into a plain 500 (never a stack trace to the client), logs one
// access line with secrets redacted, and counts the request in metrics.
type Middleware struct {
	Log *slog.Logger
	// Access selects which requests get an access log line: "all" (also
	// ""), "errors" (status 400 and above) or "off". At thousands of token
	// requests a second the line per request is a measurable share of the
	// CPU (docs/PERFORMANCE.md).
	Access string
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client (ClientAddr); none by default.
	TrustedProxies []netip.Prefix
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
}

// NewMiddleware returns a Middleware registering its metrics on reg.
func NewMiddleware(log *slog.Logger, reg prometheus.Registerer) *Middleware {
	m := &Middleware{
		Log: log,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokengate_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tokengate_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration)
	}
	return m
}

type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush lets streaming upstream responses through the proxy.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// StatusClientClosed is the status tokengate counts and logs for a
// request whose client went away before it was answered: nginx's 499
// "client closed request". It is never sent (nobody is there to read it).
// A request counts as such when the handler failed (a 5xx, or an aborted
// response) after its context was canceled: what failed then is a
// consequence of the client leaving, not a fault of the server. A request
// decided on its merits (2xx, 3xx, 4xx) keeps its status even if the
// client left before reading it.
const StatusClientClosed = 499

// Wrap applies the middleware to next. route names the handler in metrics;
// when empty the mux pattern is used.
func (m *Middleware) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := obs.SanitizeCorrelationID(r.Header.Get(CorrelationHeader))
		if id == "" {
			id = obs.NewCorrelationID()
		}
		r.Header.Set(CorrelationHeader, id)
		setSecurityHeaders(w.Header())
		w.Header().Set(CorrelationHeader, id)
		client := ClientAddr(r, m.TrustedProxies)
		ctx := obs.WithRequest(r.Context(), obs.RequestInfo{CorrelationID: id, RemoteAddr: client, UserAgent: r.UserAgent()})
		r = r.WithContext(ctx)
		rec := &recorder{ResponseWriter: w}
		defer func() {
			p := recover()
			aborted := p == http.ErrAbortHandler
			if p != nil && !aborted {
				m.Log.ErrorContext(ctx, "panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p)
				if rec.status == 0 {
					WriteJSON(rec, http.StatusInternalServerError, map[string]any{"error": "server_error", "message": "internal error"})
				}
			}
			m.done(r, rec, client, start, aborted)
			if aborted {
				// net/http closes the connection without a log line.
				panic(p)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// done counts and logs a request that has been answered (or aborted, when
// a proxied response could not be copied to its end).
func (m *Middleware) done(r *http.Request, rec *recorder, client string, start time.Time, aborted bool) {
	ctx := r.Context()
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	level := slog.LevelInfo
	switch {
	case (status >= 500 || aborted) && obs.Gone(ctx):
		status, level = StatusClientClosed, slog.LevelDebug
	case aborted:
		// The status went out, the body did not end: the upstream failed
		// mid-response.
		level = slog.LevelWarn
	}
	elapsed := time.Since(start)
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(elapsed.Seconds())
	if m.Access == "off" || (m.Access == "errors" && status < 400 && !aborted) {
		return
	}
	attrs := []slog.Attr{slog.String("method", r.Method), slog.String("uri", RedactedURI(r.URL)), slog.Int("status", status),
		slog.Int("bytes", rec.bytes), slog.Duration("elapsed", elapsed), slog.String("remote", client)}
	if aborted {
		attrs = append(attrs, slog.Bool("aborted", true))
	}
	m.Log.LogAttrs(ctx, level, "http", attrs...)
}
