package bench

import (
	"net/http"
	"strconv"
)

// upstreamBody is what the stand-in upstream answers: a small JSON
// document, the size of a typical API response header-and-body.
const upstreamBody = `{"ok":true,"source":"tokengate bench upstream"}` + "\n"

// Upstream is a minimal HTTP server to put behind a proxy route when
// measuring the proxy's added latency: it answers every request with 200
// and a fixed small JSON body, doing no work of its own.
func Upstream() http.Handler {
	n := strconv.Itoa(len(upstreamBody))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{n}
		_, _ = w.Write([]byte(upstreamBody))
	})
}
