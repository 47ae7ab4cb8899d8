package proxy_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestEncodedTraversalRefused sends request targets whose path, decoded
// once, twice or by an upstream that folds '\' into '/', would climb above
// the route's prefix, and checks that none reaches the upstream: encoded
// forms are refused with 400 in the route's WSAUTH shape; raw dot segments
// are cleaned by http.ServeMux before any route sees them (a 307 to the
// cleaned path).
func TestEncodedTraversalRefused(t *testing.T) {
	e := newEdge(t, nil)
	cases := []struct {
		target string
		want   int
	}{
		{"/api/%2e%2e/admin", 400},
		{"/api/%2E%2e/admin", 400},
		{"/api/%2e%2E/admin", 400},
		{"/api/.%2e/admin", 400},
		{"/api/%2e./admin", 400},
		{"/api/v1/%2e%2e/%2e%2e/admin", 400},
		{"/api/%2e/admin", 400},
		{"/api/..%2fadmin", 400},
		{"/api/..%2Fadmin", 400},
		{"/api/v1%2f..%2f..%2fadmin", 400},
		{"/api/a%2fb", 400},
		{"/api/..%5cadmin", 400},
		{"/api/..%5Cadmin", 400},
		{"/api/a%5cb", 400},
		{`/api/..\admin`, 400},
		{`/api/v1\..\..\admin`, 400},
		{"/api/%252e%252e/admin", 400},
		{"/api/%252E%252E/admin", 400},
		{"/api/%25252e%25252e/admin", 400},
		{"/api/..%252fadmin", 400},
		{"/api/..%255cadmin", 400},
		{"/api/..;/admin", 400},
		{"/api/%2e%2e;x=1/admin", 400},
		{"/api/.;/admin", 400},
		{"/api/a%00b", 400},
		{"/api/%c0%ae%c0%ae/admin", 400},
		{"/api/%25c0%25ae%25c0%25ae/admin", 400},
		{"/api/a%25zz%252f..%252f..%252fadmin", 400},
		// Raw dot segments: the mux redirects to the cleaned path.
		{"/api/../admin", 307},
		{"/api/v1/../../admin", 307},
		{"/api/./admin", 307},
	}
	for _, tc := range cases {
		t.Run(tc.target, func(t *testing.T) {
			before := len(e.upstreamCalls())
			status, got, body := e.raw(tc.target)
			if got != nil || len(e.upstreamCalls()) != before {
				t.Fatalf("reached the upstream as %+v", e.upstreamCalls()[before:])
			}
			if status != tc.want {
				t.Fatalf("status %d, want %d: %s", status, tc.want, body)
			}
			if status == 400 {
				var w struct {
					Reason string `json:"reason"`
					Error  bool   `json:"error"`
				}
				if err := json.Unmarshal(body, &w); err != nil || !w.Error || w.Reason == "" {
					t.Fatalf("not the WSAUTH shape: %s", body)
				}
				if strings.Contains(string(body), "admin") {
					t.Errorf("the path is echoed: %s", body)
				}
			}
		})
	}
}

// TestOrdinaryPathsForwarded checks that paths without traversal still
// reach the upstream below the route's base, escaped as they came.
func TestOrdinaryPathsForwarded(t *testing.T) {
	e := newEdge(t, nil)
	cases := []struct{ target, want string }{
		{"/api/risks", "/base/risks"},
		{"/api/risks/", "/base/risks/"},
		{"/api/risks?x=1&y=%2e%2e", "/base/risks?x=1&y=%2e%2e"},
		{"/api/a%20b", "/base/a%20b"},
		{"/api/caf%C3%A9", "/base/caf%C3%A9"},
		{"/api/v1.2/..x/x..", "/base/v1.2/..x/x.."},
		{"/api/...", "/base/..."},
		{"/api/a;b=c", "/base/a;b=c"},
	}
	for _, tc := range cases {
		t.Run(tc.target, func(t *testing.T) {
			status, got, body := e.raw(tc.target)
			if status != http.StatusOK || got == nil {
				t.Fatalf("status %d: %s", status, body)
			}
			if got.RequestURI != tc.want {
				t.Errorf("upstream got %q, want %q", got.RequestURI, tc.want)
			}
		})
	}
}
