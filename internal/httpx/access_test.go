package httpx

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/obs"
)

func TestAccessLogModes(t *testing.T) {
	for _, tc := range []struct {
		mode           string
		logOK, logFail bool
	}{
		{"", true, true},
		{"all", true, true},
		{"errors", false, true},
		{"off", false, false},
	} {
		t.Run("mode "+tc.mode, func(t *testing.T) {
			var buf bytes.Buffer
			m := NewMiddleware(obs.NewLogger(&buf, "info", "text"), nil)
			m.Access = tc.mode
			h := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/fail" {
					w.WriteHeader(http.StatusUnauthorized)
				}
			}))
			for _, c := range []struct {
				path string
				want bool
			}{{"/ok", tc.logOK}, {"/fail", tc.logFail}} {
				buf.Reset()
				req := httptest.NewRequest(http.MethodGet, c.path, nil)
				req.Header.Set(CorrelationHeader, "corr-123")
				h.ServeHTTP(httptest.NewRecorder(), req)
				line := buf.String()
				if got := strings.Contains(line, "uri="+c.path); got != c.want {
					t.Errorf("%s: logged %t, want %t (%q)", c.path, got, c.want, line)
				}
				if c.want && !strings.Contains(line, "correlation_id=corr-123") {
					t.Errorf("%s: access line without correlation id: %q", c.path, line)
				}
			}
		})
	}
}
