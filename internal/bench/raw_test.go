package bench

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRawConn(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/echo":
			w.Header().Set("X-Auth", r.Header.Get("Authorization"))
			_, _ = w.Write([]byte(r.Method + " " + r.Header.Get("Content-Type") + " " + string(body)))
		case "/chunked":
			for i := range 3 {
				_, _ = w.Write([]byte(strings.Repeat(string(rune('a'+i)), 3000)))
				w.(http.Flusher).Flush()
			}
		case "/close":
			w.Header().Set("Connection", "close")
			_, _ = w.Write([]byte("bye"))
		case "/missing":
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	c := newRawConn(strings.TrimPrefix(srv.URL, "http://"), "example.test")
	var out bytes.Buffer
	for _, tc := range []struct {
		name, method, path, body string
		header                   []byte
		status                   int
		want                     string
	}{
		{"post with body", "POST", "/echo", "a=b", []byte("Content-Type: application/x-www-form-urlencoded\r\nAuthorization: Basic eA==\r\n"), 200, "POST application/x-www-form-urlencoded a=b"},
		{"get", "GET", "/echo", "", nil, 200, "GET  "},
		{"chunked", "GET", "/chunked", "", nil, 200, strings.Repeat("a", 3000) + strings.Repeat("b", 3000) + strings.Repeat("c", 3000)},
		{"after chunked", "GET", "/echo", "", nil, 200, "GET  "},
		{"server closes", "GET", "/close", "", nil, 200, "bye"},
		{"redials", "GET", "/echo", "", nil, 200, "GET  "},
		{"status", "GET", "/missing", "", nil, 404, "404 page not found\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, err := c.do(ctx, tc.method, tc.path, tc.header, tc.body, &out)
			if err != nil || status != tc.status || out.String() != tc.want {
				t.Fatalf("status %d, err %v, body %.40q; want %d, %.40q", status, err, out.String(), tc.status, tc.want)
			}
		})
	}
	// A server gone between requests: the kept connection fails, one
	// redial is tried, and the error is reported.
	srv.Close()
	if _, err := c.do(ctx, "GET", "/echo", nil, "", &out); err == nil {
		t.Error("request to a closed server succeeded")
	}
}
