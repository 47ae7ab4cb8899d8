package engine

import (
	"errors"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

// TestDecideAuthorize is the authorization endpoint's rule as a table:
// sign-in, consent or issue, and prompt=none's errors (OpenID Connect
// Core §3.1.2.1).
func TestDecideAuthorize(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	third := store.Client{ID: "rp"}
	first := store.Client{ID: "own", FirstParty: true}
	auth := func(c store.Client, prompts []string, maxAge time.Duration, scopes ...string) *Authorization {
		a := &Authorization{Client: c, Prompts: prompts, Scopes: scopes}
		if maxAge >= 0 {
			a.MaxAge, a.HasMaxAge = maxAge, true
		}
		return a
	}
	signedIn := authorizeState{signedIn: true, authTime: now.Add(-time.Hour), now: now}
	withConsent := signedIn
	withConsent.consented = []string{"openid", "email"}
	justSignedIn := signedIn
	justSignedIn.signedInAfter = now.Add(-2 * time.Minute)
	justSignedIn.authTime = now.Add(-time.Minute)
	oldSeen := signedIn
	oldSeen.signedInAfter = now.Add(-time.Minute) // seen after the sign-in: does not count
	for _, tc := range []struct {
		name string
		a    *Authorization
		st   authorizeState
		want AuthorizeStep
		err  error
	}{
		{"no sign-in", auth(first, nil, -1, "openid"), authorizeState{now: now}, StepSignIn, nil},
		{"no sign-in, prompt=none", auth(first, []string{PromptNone}, -1, "openid"), authorizeState{now: now}, 0, ErrLoginRequired},
		{"first party, signed in", auth(first, nil, -1, "openid", "offline_access"), signedIn, StepIssue, nil},
		{"first party, prompt=consent", auth(first, []string{PromptConsent}, -1, "openid"), signedIn, StepConsent, nil},
		{"third party, no consent", auth(third, nil, -1, "openid"), signedIn, StepConsent, nil},
		{"third party, no consent, prompt=none", auth(third, []string{PromptNone}, -1, "openid"), signedIn, 0, ErrConsentRequired},
		{"third party, consented", auth(third, nil, -1, "openid", "email"), withConsent, StepIssue, nil},
		{"third party, a scope more than consented", auth(third, nil, -1, "openid", "offline_access"), withConsent, StepConsent, nil},
		{"prompt=login asks again", auth(first, []string{PromptLogin}, -1, "openid"), signedIn, StepSignIn, nil},
		{"prompt=login after a new sign-in", auth(first, []string{PromptLogin}, -1, "openid"), justSignedIn, StepIssue, nil},
		{"prompt=login with a sign-in older than the request", auth(first, []string{PromptLogin}, -1, "openid"), oldSeen, StepSignIn, nil},
		{"max_age exceeded", auth(first, nil, 30*time.Minute, "openid"), signedIn, StepSignIn, nil},
		{"max_age exceeded, prompt=none", auth(first, []string{PromptNone}, 30*time.Minute, "openid"), signedIn, 0, ErrLoginRequired},
		{"max_age kept", auth(first, nil, 2*time.Hour, "openid"), signedIn, StepIssue, nil},
		{"max_age=0 after a new sign-in", auth(first, nil, 0, "openid"), justSignedIn, StepIssue, nil},
		{"max_age=0 without one", auth(first, nil, 0, "openid"), signedIn, StepSignIn, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decideAuthorize(tc.a, tc.st)
			if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Errorf("decideAuthorize = %v, %v; want %v, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

// TestCheckRedirectURI: what a client may register as a redirect URI.
func TestCheckRedirectURI(t *testing.T) {
	for uri, ok := range map[string]bool{
		"https://app.example/cb":           true,
		"https://app.example:8443/cb?x=1":  true,
		"http://127.0.0.1:8080/cb":         true,
		"http://[::1]/cb":                  true,
		"http://localhost:3000/":           true,
		"com.example.app:/oauth2redirect":  true,
		"http://app.example/cb":            false,
		"https://app.example/cb#frag":      false,
		"https://*.example/cb":             false,
		"https://user:pw@app.example/cb":   false,
		"/cb":                              false,
		"javascript:alert(1)":              false,
		"https:///cb":                      false,
		"":                                 false,
		"https://app.example/a b":          false,
		"http://127.0.0.1.evil.example/cb": false,
	} {
		if err := checkRedirectURI(uri); (err == nil) != ok {
			t.Errorf("checkRedirectURI(%q) = %v, want ok %t", uri, err, ok)
		}
	}
}

// TestAtHash: at_hash of OpenID Connect Core §3.1.3.6, with the values of
// the specification's example (A.3, RS256).
func TestAtHash(t *testing.T) {
	const at = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
	if got := atHash("RS256", at); got != "77QmUPtjPfzWtF2AnpK9RQ" {
		t.Errorf("RS256 at_hash %q", got)
	}
	if got := atHash("EdDSA", at); len(got) != 43 {
		t.Errorf("EdDSA at_hash %q: want half of SHA-512, 43 characters", got)
	}
}

// TestPKCE: the S256 challenge of RFC 7636 Appendix B, and verifiers.
func TestPKCE(t *testing.T) {
	if got := S256Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Errorf("challenge %q", got)
	}
	if !validChallenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM") || validChallenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c") {
		t.Error("validChallenge")
	}
	for v, ok := range map[string]bool{
		"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk": true,
		"short": false,
		"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX+": false,
	} {
		if validVerifier(v) != ok {
			t.Errorf("validVerifier(%q) != %t", v, ok)
		}
	}
}
