package proxy_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
)

// echoed is what the echo upstream saw of one request.
type echoed struct {
	RequestURI string              `json:"request_uri"`
	Path       string              `json:"path"`
	Header     map[string][]string `json:"header"`
	Trailer    map[string][]string `json:"trailer"`
}

// edge is a whole gateway (app.Handler, as `serve` mounts it) whose /api/
// route leads to an upstream that echoes every header and the path it
// receives, with a signed-on admin.
type edge struct {
	t     testing.TB
	URL   string
	token string
	srv   *apptest.Server

	mu   sync.Mutex
	seen []echoed
}

func newEdge(t testing.TB, mutate func(*config.Config)) *edge {
	t.Helper()
	e := &edge{t: t}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // trailers arrive after the body
		got := echoed{RequestURI: r.RequestURI, Path: r.URL.Path, Header: r.Header, Trailer: r.Trailer}
		e.mu.Lock()
		e.seen = append(e.seen, got)
		e.mu.Unlock()
		for _, c := range r.Header.Values("X-Echo-Set-Cookie") {
			w.Header().Add("Set-Cookie", c) // an upstream's cookies, as the test asks
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(got)
	}))
	t.Cleanup(up.Close)
	s := apptest.New(t, func(cfg *config.Config) {
		cfg.Proxy.Routes = []config.ProxyRoute{{Prefix: "/api/", Upstream: up.URL + "/base/"}}
		if mutate != nil {
			mutate(cfg)
		}
	})
	e.URL, e.token, e.srv = s.URL, s.AdminToken(t), s
	return e
}

// get sends GET path with the admin's token and the given header lines,
// written verbatim (names keep their spelling, underscores included), and
// returns the status and the upstream's echo (nil when the request did
// not reach the upstream).
func (e *edge) get(path string, header [][2]string) (int, *echoed) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	for _, kv := range header {
		req.Header[kv[0]] = append(req.Header[kv[0]], kv[1]) // not canonicalised: sent as spelled
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, e.echo(resp)
}

// raw sends a request line with target exactly as given (no client-side
// cleaning or escaping) and returns the status and the upstream's echo.
func (e *edge) raw(target string) (int, *echoed, []byte) {
	e.t.Helper()
	addr := strings.TrimPrefix(e.URL, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", target, addr, e.token)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var got echoed
	if resp.StatusCode == http.StatusOK && json.Unmarshal(body, &got) == nil && got.RequestURI != "" {
		return resp.StatusCode, &got, body
	}
	return resp.StatusCode, nil, body
}

func (e *edge) echo(resp *http.Response) *echoed {
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	var got echoed
	if err := json.Unmarshal(body, &got); err != nil || got.RequestURI == "" {
		return nil
	}
	return &got
}

// upstreamCalls returns every request the upstream saw.
func (e *edge) upstreamCalls() []echoed {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]echoed(nil), e.seen...)
}

// fold is how the most liberal server reads a header name: case ignored
// and every byte other than a letter or a digit as one separator (CGI and
// WSGI turn '-' into '_', PHP and Apache's CGI any other byte too).
func fold(name string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(name) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
