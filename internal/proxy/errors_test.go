package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/engine"
)

// TestEverySentinelHasAStatusAndBody runs every engine sentinel, bare and
// wrapped with internal text, through the dialect's one writer: each must
// get a status of its own (not 500) and a body in the dialect's shape that
// says something and carries none of the wrapped internal text.
func TestEverySentinelHasAStatusAndBody(t *testing.T) {
	const internal = "sqlite: database is locked at /var/lib/tokengate SECRET-DEBUG"
	write := func(w http.ResponseWriter, err error) {
		writeError(w, httptest.NewRequest("GET", "/api/x", nil), slog.New(slog.DiscardHandler), err)
	}
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
					t.Errorf("status %d, want a 4xx or 503 of the dialect's own", rec.Code)
				}
				checkBody(t, rec.Body.String(), internal)
			})
		}
	}
	t.Run("internal error", func(t *testing.T) {
		rec := httptest.NewRecorder()
		write(rec, errors.New(internal))
		if rec.Code != http.StatusInternalServerError {
			t.Errorf("status %d, want 500", rec.Code)
		}
		checkBody(t, rec.Body.String(), internal)
	})
}

func checkBody(t *testing.T, body, internal string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, body)
	}
	if m["error"] != true || m["reason"] == "" || m["reason"] == nil {
		t.Errorf("body says nothing: %s", body)
	}
	if strings.Contains(body, "sqlite") || strings.Contains(body, "SECRET-DEBUG") {
		t.Errorf("body carries internal text: %s", body)
	}
}
