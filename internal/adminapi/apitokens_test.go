package adminapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/app/apptest"
)

// TestAPITokenCreationNeedsRecentPassword: a one-year API token is minted
// only for a bearer whose session is a password sign-on of the last few
// minutes: not for an access token derived from an API token, not for an
// older sign-on (refreshed or not), not for an external sign-on. The
// refusal is RFC 9470's step-up challenge.
func TestAPITokenCreationNeedsRecentPassword(t *testing.T) {
	s := apptest.New(t, nil)
	s.User(t, "", "alice", "alice-password", true)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	token := func(v url.Values) map[string]any {
		t.Helper()
		r := s.Do(t, "POST", "/oauth2/token", form, v.Encode())
		if r.Status != http.StatusOK {
			t.Fatalf("token: %d %s", r.Status, r.Body)
		}
		return r.JSON(t)
	}
	password := func() map[string]any {
		return token(url.Values{"grant_type": {"password"}, "client_id": {"tokengate"}, "username": {"alice"}, "password": {"alice-password"}})
	}
	refresh := func(rt any) map[string]any {
		return token(url.Values{"grant_type": {"refresh_token"}, "client_id": {"tokengate"}, "refresh_token": {rt.(string)}})
	}
	create := func(access any, label string) apptest.Response {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"label": label})
		return s.Do(t, "POST", "/profile/api-tokens", map[string]string{"Authorization": "Bearer " + access.(string)}, string(b))
	}
	refused := func(what string, r apptest.Response) {
		t.Helper()
		ch := r.Header.Get("WWW-Authenticate")
		if r.Status != http.StatusUnauthorized || r.JSON(t)["error"] != "insufficient_user_authentication" ||
			!strings.Contains(ch, `error="insufficient_user_authentication"`) || !strings.Contains(ch, "max_age=300") {
			t.Fatalf("%s: %d %s %s, want RFC 9470's challenge", what, r.Status, ch, r.Body)
		}
	}

	signOn := password()
	r := create(signOn["access_token"], "laptop")
	if r.Status != http.StatusCreated {
		t.Fatalf("fresh password sign-on: %d %s", r.Status, r.Body)
	}
	api := refresh(r.JSON(t)["refresh_token"]) // an access token of the API token's session
	refused("access token of an API token", create(api["access_token"], "from a token"))

	s.Clock.Advance(5*time.Minute + time.Second)
	refused("sign-on five minutes ago", create(signOn["access_token"], "late"))
	refused("refreshed since", create(refresh(signOn["refresh_token"])["access_token"], "late, refreshed"))

	ext := s.Do(t, "POST", "/api/login", map[string]string{"Authorization": "Bearer " + s.ExternalToken(t, "auth0|alice", nil)}, "")
	if ext.Status != http.StatusOK {
		t.Fatalf("external sign-on: %d %s", ext.Status, ext.Body)
	}
	refused("external sign-on", create(ext.JSON(t)["access_token"], "external"))

	if r := create(password()["access_token"], "again"); r.Status != http.StatusCreated {
		t.Fatalf("after a new password sign-on: %d %s", r.Status, r.Body)
	}
}

// TestAPITokenLimits: at most ten live API tokens a user, labels of at most
// 100 characters.
func TestAPITokenLimits(t *testing.T) {
	s := apptest.New(t, nil)
	s.User(t, "", "alice", "alice-password", true)
	form := url.Values{"grant_type": {"password"}, "client_id": {"tokengate"}, "username": {"alice"}, "password": {"alice-password"}}
	r := s.Do(t, "POST", "/oauth2/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, form.Encode())
	if r.Status != http.StatusOK {
		t.Fatalf("sign-on: %d %s", r.Status, r.Body)
	}
	bearer := map[string]string{"Authorization": "Bearer " + r.JSON(t)["access_token"].(string)}
	create := func(label string) apptest.Response {
		b, _ := json.Marshal(map[string]string{"label": label})
		return s.Do(t, "POST", "/profile/api-tokens", bearer, string(b))
	}
	if r := create(strings.Repeat("é", 101)); r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "invalid_request" {
		t.Fatalf("101-character label: %d %s", r.Status, r.Body)
	}
	if r := create("tab\there"); r.Status != http.StatusBadRequest {
		t.Fatalf("label with a control character: %d %s", r.Status, r.Body)
	}
	var first string
	for i := range 10 {
		label := strings.Repeat("é", 100)
		if i > 0 {
			label = fmt.Sprintf("token %d", i)
		}
		r := create(label)
		if r.Status != http.StatusCreated {
			t.Fatalf("token %d: %d %s", i, r.Status, r.Body)
		}
		if i == 0 {
			first = r.JSON(t)["id"].(string)
		}
	}
	if r := create("eleventh"); r.Status != http.StatusConflict || r.JSON(t)["error"] != "api_token_limit" {
		t.Fatalf("eleventh token: %d %s", r.Status, r.Body)
	}
	if r := s.Do(t, "DELETE", "/profile/api-tokens/"+first, bearer, ""); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if r := create("eleventh"); r.Status != http.StatusCreated {
		t.Fatalf("after revoking one: %d %s", r.Status, r.Body)
	}
}
