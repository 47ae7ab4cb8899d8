package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
)

// introspector registers a confidential client and returns a function that
// introspects a token with it.
func introspector(t *testing.T, s *apptest.Server) func(tok string) map[string]any {
	t.Helper()
	_, secret, err := s.App.Engine.CreateClient(context.Background(), engine.NewClient{ID: "rs", GrantTypes: []string{"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	return func(tok string) map[string]any {
		t.Helper()
		r := s.Send(t, apptest.Request{Path: "/oauth2/introspect", Form: url.Values{"token": {tok}}, BasicUser: "rs", BasicPass: secret})
		if r.Status != http.StatusOK {
			t.Fatalf("introspect: %d %s", r.Status, r.Body)
		}
		return r.JSON(t)
	}
}

// TestAccessTokenLeeway checks that an access token is refused a few
// seconds past its exp with the default configuration: verifiers expect
// a clock-skew leeway of seconds, not half a minute.
func TestAccessTokenLeeway(t *testing.T) {
	s := apptest.New(t, nil)
	s.User(t, "", "alice", "alice-password", true)
	introspect := introspector(t, s)
	signOn := func() (string, time.Time) {
		r := s.Send(t, apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"password"}, "client_id": {"tokengate"},
			"username": {"alice"}, "password": {"alice-password"}}})
		if r.Status != http.StatusOK {
			t.Fatalf("password grant: %d %s", r.Status, r.Body)
		}
		tok := r.JSON(t)["access_token"].(string)
		return tok, time.Unix(int64(apptest.Claims(t, tok)["exp"].(float64)), 0)
	}
	tok, exp := signOn()
	s.Clock.Advance(exp.Sub(s.Clock.Now()) + 10*time.Second)
	if got := introspect(tok); got["active"] != false {
		t.Fatalf("10 s past exp, a token is still active (refresh.leeway %s): %v", s.App.Config.Refresh.Leeway, got)
	}
	// Within the leeway the token still holds: clocks a little apart
	// agree on it.
	leeway := s.App.Config.Refresh.Leeway.D()
	tok, exp = signOn()
	s.Clock.Advance(exp.Sub(s.Clock.Now()) + leeway - time.Second)
	if got := introspect(tok); got["active"] != true {
		t.Fatalf("%s past exp, within the leeway %s: %v", s.Clock.Now().Sub(exp), leeway, got)
	}
}

// TestKeyRetention checks how long a rotated-out key stays in the JWKS:
// it signs access tokens only (refresh tokens are HS256 under an
// unpublished key), so the longest access-token lifetime, the leeway and
// the key reload interval (a node may sign with the old key until it
// reloads) bound it, not the longest session.
func TestKeyRetention(t *testing.T) {
	s := apptest.New(t, nil)
	ctx := context.Background()
	old := s.App.Ring.Keys()[0]
	if _, err := s.App.Ring.Rotate(ctx, 0); err != nil {
		t.Fatal(err)
	}
	cfg := s.App.Config
	var longest time.Duration
	for _, svc := range cfg.Services {
		longest = max(longest, svc.AccessTTL.D())
	}
	want := longest + cfg.Refresh.Leeway.D() + cfg.Keys.ReloadInterval.D()
	for _, k := range s.App.Ring.Keys() {
		if k.ID != old.ID {
			continue
		}
		if got := k.ExpiresAt.Sub(k.RetiredAt); got != want {
			t.Fatalf("retired key leaves the JWKS %s after it stops signing, want %s (longest access_ttl %s + leeway + reload interval)", got, want, longest)
		}
		return
	}
	t.Fatal("the old key is gone")
}

// TestPublishLeadCoversJWKSCache checks the figures a rotation relies on:
// a verifier that fetched the JWKS just before a rotation (and caches it
// for the response's max-age) and a node that reloads its keys only every
// reload interval must both know the new key before it signs.
func TestPublishLeadCoversJWKSCache(t *testing.T) {
	s := apptest.New(t, nil)
	r := s.Send(t, apptest.Request{Path: "/.well-known/jwks.json"})
	cc := r.Header.Get("Cache-Control")
	_, v, ok := strings.Cut(cc, "max-age=")
	if !ok {
		t.Fatalf("JWKS Cache-Control %q has no max-age", cc)
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.Split(v, ",")[0]))
	if err != nil {
		t.Fatal(err)
	}
	maxAge := time.Duration(n) * time.Second
	lead, reload := s.App.Config.Keys.PublishLead.D(), s.App.Config.Keys.ReloadInterval.D()
	if lead <= maxAge+reload {
		t.Fatalf("publish lead %s does not exceed the JWKS max-age %s plus the key reload interval %s", lead, maxAge, reload)
	}
}

// adminBearer signs the bootstrap administrator on and returns its
// Authorization header.
func adminBearer(t *testing.T, s *apptest.Server) map[string]string {
	t.Helper()
	r := s.Send(t, apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"password"}, "client_id": {"tokengate"},
		"username": {"admin"}, "password": {apptest.AdminPassword}}})
	if r.Status != http.StatusOK {
		t.Fatalf("admin sign-on: %d %s", r.Status, r.Body)
	}
	return map[string]string{"Authorization": "Bearer " + r.JSON(t)["access_token"].(string)}
}

// TestKeyRevoke revokes the signing key through the admin API while its
// tokens are out and were verified before (so the engine's and the
// proxy's caches of verified tokens hold them): on this node they stop at
// once, the key leaves the JWKS, and signing goes on with another key.
func TestKeyRevoke(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"user":"`+r.Header.Get("X-Tokengate-User")+`"}`)
	}))
	defer up.Close()
	s := apptest.New(t, func(c *config.Config) {
		c.Proxy.Routes = []config.ProxyRoute{{Prefix: "/api/", Upstream: up.URL + "/"}}
	})
	s.User(t, "", "alice", "alice-password", true)
	introspect := introspector(t, s)
	admin := adminBearer(t, s)
	r := s.Send(t, apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"password"}, "client_id": {"tokengate"},
		"username": {"alice"}, "password": {"alice-password"}}})
	if r.Status != http.StatusOK {
		t.Fatalf("password grant: %d %s", r.Status, r.Body)
	}
	pair := r.JSON(t)
	tok := pair["access_token"].(string)
	kid := jwsKid(t, tok)
	proxied := func() int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/risks", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Verified once, and so remembered, by introspection and the proxy.
	if got := introspect(tok); got["active"] != true {
		t.Fatalf("before: %v", got)
	}
	if code := proxied(); code != http.StatusOK {
		t.Fatalf("proxy before: %d", code)
	}

	rv := s.Do(t, "POST", "/admin/api/keys/"+kid+"/revoke", admin, "")
	if rv.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", rv.Status, rv.Body)
	}
	out := rv.JSON(t)
	if out["kid"] != kid || out["state"] != "revoked" || out["signer"] == kid || out["signer"] == "" {
		t.Fatalf("revoke answered %v", out)
	}
	if got := introspect(tok); got["active"] != false {
		t.Fatalf("introspection of a token of the revoked key: %v", got)
	}
	if code := proxied(); code != http.StatusUnauthorized {
		t.Fatalf("proxy with a token of the revoked key: %d", code)
	}
	if jwks := string(s.Do(t, "GET", "/.well-known/jwks.json", nil, "").Body); strings.Contains(jwks, kid) {
		t.Fatalf("JWKS still publishes %s: %s", kid, jwks)
	}
	// Signing went on: the refresh token (not signed by the ring) yields
	// an access token of the new key at once.
	r = s.Send(t, apptest.Request{Path: "/oauth2/token", Form: url.Values{"grant_type": {"refresh_token"}, "client_id": {"tokengate"},
		"refresh_token": {pair["refresh_token"].(string)}}})
	if r.Status != http.StatusOK {
		t.Fatalf("refresh after the revocation: %d %s", r.Status, r.Body)
	}
	tok = r.JSON(t)["access_token"].(string)
	if k := jwsKid(t, tok); k != out["signer"] {
		t.Fatalf("new token signed by %s, want %v", k, out["signer"])
	}
	if code := proxied(); code != http.StatusOK {
		t.Fatalf("proxy with a token of the new key: %d", code)
	}
	// The administrator's own token was signed by the revoked key too.
	if code := s.Do(t, "GET", "/admin/api/keys", admin, "").Status; code != http.StatusUnauthorized {
		t.Fatalf("admin API with a token of the revoked key: %d", code)
	}
	admin = adminBearer(t, s)
	if code := s.Do(t, "POST", "/admin/api/keys/no-such-kid/revoke", admin, "").Status; code != http.StatusNotFound {
		t.Fatalf("revoke of an unknown kid: %d", code)
	}
	keys := s.Do(t, "GET", "/admin/api/keys", admin, "")
	if keys.Status != http.StatusOK || !strings.Contains(string(keys.Body), `"revoked"`) {
		t.Fatalf("key list: %d %s", keys.Status, keys.Body)
	}
}

// jwsKid returns the kid of a compact JWS's header.
func jwsKid(t *testing.T, tok string) string {
	t.Helper()
	head, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(b, &h); err != nil || h.Kid == "" {
		t.Fatalf("header %s: %v", b, err)
	}
	return h.Kid
}
