package proxy

import (
	"net/url"
	"testing"
)

// TestCheckPath is the path rule on its own, as it holds for a request
// that reaches the route without http.ServeMux's cleaning (raw dot
// segments included).
func TestCheckPath(t *testing.T) {
	cases := []struct {
		target string
		ok     bool
	}{
		{"/api/risks", true},
		{"/api/risks/1", true},
		{"/api/", true},
		{"/api/a%20b/c", true},
		{"/api/caf%C3%A9", true},
		{"/api/...", true},
		{"/api/..x/x..", true},
		{"/api/a;b=c", true},
		{"/api/a%25", true},
		{"/api/100%25", true},
		{"/api//x", true},
		{"/api/..", false},
		{"/api/../admin", false},
		{"/api/./admin", false},
		{"/api/v1/../../admin", false},
		{"/api/%2e%2e", false},
		{"/api/%2E%2E/x", false},
		{"/api/.%2E/x", false},
		{"/api/..;/x", false},
		{"/api/..;a=b/x", false},
		{"/api/%2e;/x", false},
		{"/api/a%2Fb", false},
		{"/api/a%5Cb", false},
		{"/api/a%00b", false},
		{"/api/%252e%252e/x", false},
		{"/api/%25252e%25252e/x", false},
		{"/api/%2525252e%2525252e/x", false},
		{"/api/..%252F/x", false},
		{"/api/%c0%ae%c0%ae/x", false},
		{"/api/%e0%80%ae/x", false},
		{"/api/a%25zz%252f..", false},
		{"/%61pi/x", false},
		{"/other/x", false},
	}
	for _, tc := range cases {
		t.Run(tc.target, func(t *testing.T) {
			u, err := url.ParseRequestURI(tc.target)
			if err != nil {
				t.Fatal(err)
			}
			if err := checkPath(u, "/api/"); (err == nil) != tc.ok {
				t.Errorf("checkPath = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// TestCheckPathDepthBound checks that a harmless segment still encoded
// after maxDecodings layers is refused (the check can't see what it
// hides), while one a layer shallower is accepted.
func TestCheckPathDepthBound(t *testing.T) {
	for depth, ok := range map[int]bool{maxDecodings - 1: true, maxDecodings: false} {
		seg := "%41" // "A"
		for range depth {
			seg = "%25" + seg[1:]
		}
		u, err := url.ParseRequestURI("/api/" + seg + "/x")
		if err != nil {
			t.Fatal(err)
		}
		if err := checkPath(u, "/api/"); (err == nil) != ok {
			t.Errorf("%d layers deep: checkPath = %v, want ok %v", depth+1, err, ok)
		}
	}
}
