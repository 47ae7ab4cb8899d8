package proxy

import (
	"log/slog"
	"net/http"
)

// WriteError lends the error writer of a route of the given shape (""
// for the default WSAUTH) to the external tests.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, shape string, err error) {
	writeError(w, r, log, shape, err)
}
