package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

func TestDescribe(t *testing.T) {
	h := &Handler{log: slog.New(slog.DiscardHandler)}
	for _, tc := range []struct {
		err    error
		status int
		msg    string
		retry  int
	}{
		{fmt.Errorf("sign-on: %w", &engine.Error{Kind: engine.ErrThrottled, RetryAfter: 42 * time.Second}), http.StatusTooManyRequests, "Too many attempts. Try again in 42 s.", 42},
		{&engine.Error{Kind: engine.ErrThrottled, RetryAfter: 200 * time.Millisecond}, http.StatusTooManyRequests, "Try again in 1 s.", 1},
		{engine.ErrThrottled, http.StatusTooManyRequests, "Try again in 1 s.", 1},
		{engine.ErrInvalidCredentials, http.StatusUnauthorized, "The user name or password is not right.", 0},
		{engine.ErrBusy, http.StatusServiceUnavailable, "busy", 0},
		{engine.InvalidRequest("please say why"), http.StatusBadRequest, "Please say why.", 0},
		{errors.New("sqlite: disk I/O error"), http.StatusInternalServerError, "Something went wrong on our side", 0},
		{engine.ErrUnavailable, http.StatusServiceUnavailable, "temporarily unavailable; nothing was changed. Try again in 3 s.", 3},
		{fmt.Errorf("sign-on: %w", store.Unavailable(errors.New("sqlite: database is locked"))), http.StatusServiceUnavailable, "Try again in 3 s.", 3},
	} {
		status, msg, retry := h.describe(context.Background(), tc.err)
		if status != tc.status || !strings.Contains(msg, tc.msg) || retry != tc.retry {
			t.Errorf("describe(%v) = %d %q %d, want %d %q %d", tc.err, status, msg, retry, tc.status, tc.msg, tc.retry)
		}
		if strings.Contains(msg, "sqlite") {
			t.Errorf("internal text shown: %q", msg)
		}
	}
}

// TestEverySentinelDescribed is the web UI's part of the rule that every
// surface maps every engine sentinel (as package sentineltest checks for
// the JSON surfaces): a 4xx or 503, words of its own, and never the
// internal text an error carries.
func TestEverySentinelDescribed(t *testing.T) {
	const internal = "sqlite: database is locked at /var/lib/tokengate SECRET-DEBUG"
	h := &Handler{log: slog.New(slog.DiscardHandler)}
	for _, s := range engine.Sentinels() {
		for form, err := range map[string]error{
			"bare":         s,
			"engine.Error": &engine.Error{Kind: s, Debug: internal},
			"fmt wrapped":  fmt.Errorf("%s: %w", internal, s),
		} {
			status, msg, _ := h.describe(context.Background(), err)
			if status == http.StatusInternalServerError || status < 400 {
				t.Errorf("%v (%s): status %d", s, form, status)
			}
			if msg == "" || strings.Contains(msg, "sqlite") || strings.Contains(msg, "SECRET") {
				t.Errorf("%v (%s): message %q", s, form, msg)
			}
		}
	}
	status, msg, _ := h.describe(context.Background(), errors.New(internal))
	if status != http.StatusInternalServerError || strings.Contains(msg, "sqlite") {
		t.Errorf("internal error: %d %q", status, msg)
	}
}

func TestSafeReturn(t *testing.T) {
	for in, want := range map[string]string{
		"":                                       "",
		"/ui/profile":                            "/ui/profile",
		"/ui/profile#tokens":                     "/ui/profile#tokens",
		"/ui/admin/users?a=b":                    "/ui/admin/users?a=b",
		"//evil.example/ui/":                     "",
		"https://evil.example/ui":                "",
		"/ui/\\evil":                             "",
		"/api/risks":                             "",
		"/ui/x\r\nSet-Cookie: a":                 "",
		"javascript:alert(1)":                    "",
		"/oauth2/authorize?client_id=rp&state=x": "/oauth2/authorize?client_id=rp&state=x",
		"/oauth2/authorize":                      "",
		"/oauth2/authorizex?a=b":                 "",
		"/oauth2/token?a=b":                      "",
	} {
		if got := safeReturn(in); got != want {
			t.Errorf("safeReturn(%q) = %q, want %q", in, got, want)
		}
	}
}
