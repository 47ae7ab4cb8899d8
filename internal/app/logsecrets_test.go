package app_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/engine"
)

// secretSet collects every secret a flow sends or receives: passwords,
// client secrets, tokens, and the distinctive parts of each token (its
// claims segment, its signature segment), which a log line that clipped
// or split a token would still carry.
type secretSet struct {
	t    *testing.T
	vals map[string]string // secret → what it is
}

func (s *secretSet) add(what, v string) {
	if len(v) < 8 {
		s.t.Fatalf("secret %s %q is too short to search for", what, v)
	}
	s.vals[v] = what
	if q := url.QueryEscape(v); q != v {
		s.vals[q] = what + " (form-encoded)"
	}
	if parts := strings.Split(v, "."); len(parts) == 3 {
		s.vals[parts[1]] = what + "'s claims segment"
		s.vals[parts[2]] = what + "'s signature segment"
	}
}

// tokens adds every token of a JSON response body.
func (s *secretSet) tokens(what string, r apptest.Response) {
	var m map[string]any
	if json.Unmarshal(r.Body, &m) != nil {
		return
	}
	for _, k := range []string{"access_token", "refresh_token", "id_token"} {
		if v, _ := m[k].(string); v != "" {
			s.add(what+" "+k, v)
		}
	}
}

// TestNoSecretInAnyLogLine runs every dialect's whole flow over real HTTP
// with debug logging (the harness logs at debug): sign-on, refresh,
// the proxy, introspection, revocation, sign-off, and the errors of each
// (wrong password, wrong client secret, a reused, a revoked and a forged
// refresh token, an expired access token), then searches every log line
// for every password, client secret and token used, and each token's
// claims and signature segments.
func TestNoSecretInAnyLogLine(t *testing.T) {
	a := newAdversary(t)
	sec := &secretSet{t: t, vals: map[string]string{}}
	sec.add("alice's password", advPassword)
	sec.add("the admin's password", apptest.AdminPassword)
	sec.add("the rs client's secret", a.rsSecret)
	const wrongPassword = "wrong-password-7"
	sec.add("a wrong password", wrongPassword)
	ok := func(what string, r apptest.Response, status int) apptest.Response {
		t.Helper()
		if r.Status != status {
			t.Fatalf("%s: %d %s", what, r.Status, r.Body)
		}
		sec.tokens(what, r)
		return r
	}
	form := func(path string, v url.Values) apptest.Request { return apptest.Request{Path: path, Form: v} }
	tokenOf := func(r apptest.Response, k string) string { return r.JSON(t)[k].(string) }

	// OAuth 2.0: password sign-on, refresh, reuse, introspection,
	// revocation, client credentials in both places, token exchange.
	r := ok("oauth2 sign-on", a.Send(t, form("/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {engine.DefaultClientID},
		"username": {"alice"}, "password": {advPassword}})), http.StatusOK)
	at, rt := tokenOf(r, "access_token"), tokenOf(r, "refresh_token")
	ok("oauth2 wrong password", a.Send(t, form("/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {engine.DefaultClientID},
		"username": {"alice"}, "password": {wrongPassword}})), http.StatusBadRequest)
	r = ok("oauth2 refresh", a.Send(t, form("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {engine.DefaultClientID},
		"refresh_token": {rt}})), http.StatusOK)
	rt2 := tokenOf(r, "refresh_token")
	a.Clock.Advance(time.Minute) // past the grace window: the old token is a reuse now
	ok("oauth2 reuse", a.Send(t, form("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {engine.DefaultClientID},
		"refresh_token": {rt}})), http.StatusBadRequest)
	ok("oauth2 revoked family", a.Send(t, form("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {engine.DefaultClientID},
		"refresh_token": {rt2}})), http.StatusBadRequest)
	forged := rt2[:len(rt2)-3] + "abc"
	sec.add("a forged refresh token", forged)
	ok("oauth2 forged", a.Send(t, form("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {engine.DefaultClientID},
		"refresh_token": {forged}})), http.StatusBadRequest)
	r = ok("oauth2 sign-on again", a.Send(t, form("/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {engine.DefaultClientID},
		"username": {"alice"}, "password": {advPassword}})), http.StatusOK)
	at, rt = tokenOf(r, "access_token"), tokenOf(r, "refresh_token")
	ok("introspection", a.Send(t, apptest.Request{Path: "/oauth2/introspect", Form: url.Values{"token": {rt}}, BasicUser: "rs", BasicPass: a.rsSecret}), http.StatusOK)
	ok("introspection, wrong secret", a.Send(t, apptest.Request{Path: "/oauth2/introspect", Form: url.Values{"token": {at}}, BasicUser: "rs", BasicPass: wrongPassword}), http.StatusUnauthorized)
	ok("client credentials, Basic", a.Send(t, apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"client_credentials"}}, BasicUser: "rs", BasicPass: a.rsSecret}), http.StatusOK)
	ok("client credentials, body", a.Send(t, form("/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"rs"}, "client_secret": {a.rsSecret}})), http.StatusOK)
	if _, _, err := a.App.Engine.CreateClient(context.Background(), engine.NewClient{ID: "xchg", Public: true,
		GrantTypes: []string{"urn:ietf:params:oauth:grant-type:token-exchange"}}); err != nil {
		t.Fatal(err)
	}
	ext := a.ExternalToken(t, "auth0|alice", nil)
	sec.add("an external ID token", ext)
	ok("token exchange", a.Send(t, form("/oauth2/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"client_id": {"xchg"}, "subject_token": {ext}, "subject_token_type": {"urn:ietf:params:oauth:token-type:id_token"}})), http.StatusOK)

	// The proxy: a good token, a forged one, an expired one.
	if r := a.proxy(at); r.Status != http.StatusOK {
		t.Fatalf("proxy: %d %s", r.Status, r.Body)
	}
	if r := a.proxy(at[:len(at)-3] + "xyz"); r.Status != http.StatusUnauthorized {
		t.Fatalf("proxy, forged: %d %s", r.Status, r.Body)
	}
	ok("oauth2 revoke", a.Send(t, form("/oauth2/revoke", url.Values{"token": {rt}, "client_id": {engine.DefaultClientID}})), http.StatusOK)
	a.Clock.Advance(3 * time.Second) // past the proxy's revocation bound (2 s)
	if r := a.proxy(at); r.Status != http.StatusUnauthorized {
		t.Fatalf("proxy after revocation: %d %s", r.Status, r.Body)
	}

	// Core: login, refresh, about, errors, the external bearer login.
	body, _ := json.Marshal(map[string]string{"username": "alice", "password": advPassword})
	r = ok("core login", a.Do(t, "POST", "/api/login", nil, string(body)), http.StatusOK)
	crt := tokenOf(r, "refresh_token")
	ok("core refresh", a.Do(t, "GET", "/api/login/refresh", bearer(crt), ""), http.StatusOK)
	ok("core about", a.Do(t, "GET", "/api", bearer(tokenOf(r, "access_token")), ""), http.StatusOK)
	body, _ = json.Marshal(map[string]string{"username": "alice", "password": wrongPassword})
	ok("core wrong password", a.Do(t, "POST", "/api/login", nil, string(body)), http.StatusUnauthorized)
	ok("core refresh with an access token", a.Do(t, "GET", "/api/login/refresh", bearer(at), ""), http.StatusUnauthorized)
	ext2 := a.ExternalToken(t, "auth0|alice", map[string]any{"jti": "second"})
	sec.add("a second external token", ext2)
	ok("core external login", a.Do(t, "POST", "/api/login", bearer(ext2), ""), http.StatusOK)

	// AGS: sign-on, refresh, validate, sign-off, errors.
	pb, _ := json.Marshal(map[string]any{"parameters": []map[string]string{{"name": "username", "value": "alice"}, {"name": "password", "value": advPassword}}})
	r = ok("ags sign-on", a.Do(t, "POST", "/ags/signOn", map[string]string{"x-auth-service-id": "password"}, string(pb)), http.StatusOK)
	art := tokenOf(r, "refresh_token")
	r = ok("ags refresh", a.Do(t, "POST", "/ags/refresh", map[string]string{"x-auth-service-id": "password", "Authorization": art}, ""), http.StatusOK)
	aat := tokenOf(r, "access_token")
	ok("ags validate", a.Do(t, "GET", "/ags/validate", map[string]string{"Authorization": aat}, ""), http.StatusOK)
	ok("ags refresh, superseded", a.Do(t, "POST", "/ags/refresh", map[string]string{"x-auth-service-id": "password", "Authorization": art}, ""), http.StatusOK) // within grace
	pb, _ = json.Marshal(map[string]any{"parameters": []map[string]string{{"name": "username", "value": "alice"}, {"name": "password", "value": wrongPassword}}})
	ok("ags wrong password", a.Do(t, "POST", "/ags/signOn", map[string]string{"x-auth-service-id": "password"}, string(pb)), http.StatusUnauthorized)
	ok("ags sign-off", a.Do(t, "POST", "/ags/signOff", map[string]string{"Authorization": aat}, ""), http.StatusNoContent)
	ok("ags validate after sign-off", a.Do(t, "GET", "/ags/validate", map[string]string{"Authorization": aat}, ""), http.StatusUnauthorized)

	// Sync Gateway: an API token in the query (GET) and the body (POST).
	api := a.APIToken(t, "", "alice", "laptop")
	sec.add("an API refresh token", api.RefreshToken)
	sec.add("its access token", api.AccessToken)
	ok("syncgw GET", a.Do(t, "GET", "/whitespace/_oidc_refresh?refresh_token="+url.QueryEscape(api.RefreshToken), nil, ""), http.StatusOK)
	ok("syncgw POST", a.Send(t, form("/whitespace/_oidc_refresh", url.Values{"refresh_token": {api.RefreshToken}})), http.StatusOK)
	ok("syncgw GET, rotating token", a.Do(t, "GET", "/whitespace/_oidc_refresh?refresh_token="+url.QueryEscape(art), nil, ""), http.StatusUnauthorized)

	// An access token past its expiry, at every surface.
	a.Clock.Advance(2 * time.Hour)
	if r := a.proxy(aat); r.Status != http.StatusUnauthorized {
		t.Fatalf("proxy, expired: %d", r.Status)
	}
	ok("ags validate, expired", a.Do(t, "GET", "/ags/validate", map[string]string{"Authorization": aat}, ""), http.StatusUnauthorized)

	if !a.App.Log.Enabled(context.Background(), slog.LevelDebug) {
		t.Fatal("the gateway does not log at debug level")
	}
	lines := strings.Split(a.Logs(), "\n")
	if len(lines) < 40 {
		t.Fatalf("only %d log lines: the flow did not log what it should", len(lines))
	}
	for i, line := range lines {
		for v, what := range sec.vals {
			if strings.Contains(line, v) {
				t.Errorf("log line %d holds %s: %s", i+1, what, strings.ReplaceAll(line, v, "<"+what+">"))
			}
		}
	}
}
