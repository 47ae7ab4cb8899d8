package apptest

import (
	"context"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
)

// Placeholders a fuzz target's seeds write where a live value belongs
// (a client secret, a refresh or access token minted for this run):
// the keys of the map given to Expand.
const (
	PlaceSecret  = "{SECRET}"
	PlaceRefresh = "{RT}"
	PlaceAccess  = "{AT}"
)

// Expand replaces in s each placeholder that values names by its value,
// calling it only when s holds the placeholder (minting a token costs a
// sign-on).
func Expand(s string, values map[string]func() string) string {
	for k, v := range values {
		if strings.Contains(s, k) {
			s = strings.ReplaceAll(s, k, v())
		}
	}
	return s
}

// Secrets returns those of vals that can be told apart from the text
// around them, for NoSecretIn: 8 bytes or more, with a byte other than a
// letter or a space. A fuzzed password "password" or "Bad Request" is
// in the gateway's own words, not an echo (FuzzCore's first find).
func Secrets(vals ...string) []string {
	var out []string
	for _, v := range vals {
		if len(v) >= 8 && strings.ContainsFunc(v, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == ' ')
		}) {
			out = append(out, v)
		}
	}
	return out
}

// NoSecretIn fails the test when text (a response body, the log lines
// of a request) holds one of secrets. what names the text.
func NoSecretIn(t testing.TB, what, text string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Fatalf("%s holds the secret %.12q…:\n%.2000s", what, s, text)
		}
	}
}

// HeaderValues reports whether every one of vals may be sent as a header
// value (RFC 9110 §5.5: no control character but tab), as net/http's
// client insists; a fuzz target skips the inputs that may not.
func HeaderValues(vals ...string) bool {
	for _, v := range vals {
		for i := 0; i < len(v); i++ {
			if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
				return false
			}
		}
	}
	return true
}

// NoThrottle lifts the password-guessing throttle (its own tests prove
// it), for fuzz targets and attacks that must see each failed sign-on's
// own answer.
func NoThrottle(c *config.Config) { c.Throttle.Account.Free, c.Throttle.Address.Free = 1<<30, 1<<30 }

// Live returns the placeholders PlaceRefresh and PlaceAccess for Expand,
// each use minting a fresh grant by the password sign-on req.
func (s *Server) Live(t testing.TB, req engine.SignOnRequest) map[string]func() string {
	fresh := func() *engine.Grant {
		g, err := s.App.Engine.SignOnPassword(context.Background(), req)
		if err != nil {
			t.Fatalf("sign-on for a placeholder: %v", err)
		}
		return g
	}
	return map[string]func() string{
		PlaceRefresh: func() string { return fresh().RefreshToken },
		PlaceAccess:  func() string { return fresh().AccessToken },
	}
}
