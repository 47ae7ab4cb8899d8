// Package sentineltest proves that a surface's one error writer maps every
// engine sentinel to a status and a body of its own, and never writes the
// internal text an error may carry. Each dialect, the proxy and the admin
// API call Run from their own tests, on the writer their export_test.go
// lends them; engine.Sentinels() is kept complete by
// the engine's tests, so a new sentinel fails here until every surface
// maps it.
package sentineltest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

// internal is the text wrapped around sentinels; no body may show it.
const internal = "sqlite: database is locked at /var/lib/tokengate SECRET-DEBUG"

// Run writes every sentinel, bare and wrapped in the ways code wraps
// errors, with write, the surface's writer. Each must get a 4xx or 503 and
// a JSON object body that says something (says reports whether the body
// carries the shape's message fields) without the wrapped internal text.
// A plain internal error must get a 500 and no internal text either.
func Run(t *testing.T, write func(http.ResponseWriter, error), says func(body map[string]any) bool) {
	t.Helper()
	for _, s := range engine.Sentinels() {
		for form, err := range map[string]error{
			"bare":                 s,
			"engine.Error":         &engine.Error{Kind: s, Debug: internal},
			"fmt wrapped":          fmt.Errorf("%s: %w", internal, s),
			"wrapped engine.Error": fmt.Errorf("refresh: %w", &engine.Error{Kind: s, Public: s.Error() + ": detail", Debug: internal}),
		} {
			t.Run(s.Error()+"/"+form, func(t *testing.T) {
				rec := httptest.NewRecorder()
				write(rec, err)
				if rec.Code == http.StatusInternalServerError || rec.Code < 400 {
					t.Errorf("status %d, want a 4xx or 503 of the surface's own", rec.Code)
				}
				checkBody(t, rec.Body.String(), says)
			})
		}
	}
	// A store that can't write or be reached is unavailable, not a
	// failure: 503 and a Retry-After, whether the engine named it or
	// passed the store's error on.
	for form, err := range map[string]error{
		"engine.ErrUnavailable": fmt.Errorf("sign-on: %w", &engine.Error{Kind: engine.ErrUnavailable, Debug: internal}),
		"store unavailable":     fmt.Errorf("refresh: %w", store.Unavailable(errors.New(internal))),
	} {
		t.Run("unavailable/"+form, func(t *testing.T) {
			rec := httptest.NewRecorder()
			write(rec, err)
			if rec.Code != http.StatusServiceUnavailable {
				t.Errorf("status %d, want 503", rec.Code)
			}
			if n, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || n < 1 {
				t.Errorf("Retry-After %q, want a number of seconds", rec.Header().Get("Retry-After"))
			}
			checkBody(t, rec.Body.String(), says)
		})
	}
	t.Run("internal error", func(t *testing.T) {
		rec := httptest.NewRecorder()
		write(rec, errors.New(internal))
		if rec.Code != http.StatusInternalServerError {
			t.Errorf("status %d, want 500", rec.Code)
		}
		checkBody(t, rec.Body.String(), says)
	})
}

func checkBody(t *testing.T, body string, says func(map[string]any) bool) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, body)
	}
	if !says(m) {
		t.Errorf("body says nothing in the surface's shape: %s", body)
	}
	if strings.Contains(body, "sqlite") || strings.Contains(body, "SECRET-DEBUG") {
		t.Errorf("body carries internal text: %s", body)
	}
}

// Text reports whether body[k] is a non-empty string.
func Text(body map[string]any, k string) bool {
	s, _ := body[k].(string)
	return s != ""
}
