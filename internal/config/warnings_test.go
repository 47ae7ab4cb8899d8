package config

import (
	"strings"
	"testing"
)

func TestWarnings(t *testing.T) {
	for _, tc := range []struct {
		listen, publicURL string
		warn              bool
	}{
		{"0.0.0.0:8080", "", true},
		{"[::]:8080", "", true},
		{":8080", "", true},
		{"127.0.0.1:8080", "", false},
		{"[::1]:8080", "", false},
		{"192.0.2.10:8080", "", false},
		{"0.0.0.0:8080", "https://auth.example.com", false},
	} {
		t.Run(tc.listen+" "+tc.publicURL, func(t *testing.T) {
			c := Default()
			c.Listen, c.PublicURL = tc.listen, tc.publicURL
			w := c.Warnings()
			if got := len(w) > 0; got != tc.warn {
				t.Fatalf("warnings %q, want a warning: %t", w, tc.warn)
			}
			if tc.warn && (len(w) != 1 || !strings.Contains(w[0], "--public-url") || !strings.Contains(w[0], "http://"+tc.listen)) {
				t.Errorf("warning %q does not name the issuer http://%s and --public-url", w, tc.listen)
			}
		})
	}
}
