package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// setSecurityHeaders sets the headers every response of every surface
// carries, before any handler runs (so errors, panics and proxied
// responses have them too). X-Content-Type-Options: nosniff keeps a
// browser from reading a JSON or text body as HTML or script, so that
// nothing a response says can run as a page (Fetch standard, "X-Content-
// Type-Options" header).
func setSecurityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
}

// jsonBodyError describes why a request body is not the JSON expected,
// without quoting any of it: encoding/json's messages quote the unknown
// field's name or the offending bytes, which would echo client input.
func jsonBodyError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("%w (at byte %d)", ErrNotJSON, syn.Offset)
	case errors.As(err, &typ):
		return fmt.Errorf("%w: a field has the wrong type", ErrNotJSON)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("%w: it has an unknown field", ErrNotJSON)
	}
	return ErrNotJSON
}
