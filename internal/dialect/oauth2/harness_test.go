package oauth2_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
)

const password = "s3cret-pass"

// formType sends a raw body as a form.
var formType = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

// server is the shared gateway harness with the oauth2 tests' fixture:
// users bob (refresh-enabled) and nora, the public client other-app and
// the confidential client svc.
type server struct {
	*apptest.Server
	t   *testing.T
	ctx context.Context
	// svc is a confidential client with every grant; svcSecret its secret.
	svc, svcSecret string
}

// newServer starts a gateway signing with alg ("" for the default) that
// trusts no external identity provider.
func newServer(t *testing.T, alg string) *server {
	t.Helper()
	ctx := context.Background()
	as := apptest.Start(t, apptest.Options{
		Start: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
		Config: func(c *config.Config) {
			c.OIDC.Issuers = nil
			if alg != "" {
				c.Keys.Algorithm = alg
			}
		},
	})
	s := &server{Server: as, t: t, ctx: ctx}
	e := as.App.Engine
	if _, err := e.CreateUser(ctx, engine.NewUser{Name: "bob", Password: password, RefreshEnabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateUser(ctx, engine.NewUser{Name: "nora", Password: password}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.CreateClient(ctx, engine.NewClient{ID: "other-app", Public: true}); err != nil {
		t.Fatal(err)
	}
	_, secret, err := e.CreateClient(ctx, engine.NewClient{ID: "svc", GrantTypes: []string{"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	s.svc, s.svcSecret = "svc", secret
	return s
}

// do sends req, its response validated against the OpenAPI document.
func (s *server) do(req apptest.Request) apptest.Response {
	s.t.Helper()
	return s.Send(s.t, req)
}

// tokenPair is a successful token response.
type tokenPair struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int64  `json:"refresh_expires_in"`
}

func (s *server) token(form url.Values) tokenPair {
	s.t.Helper()
	resp := s.do(apptest.Request{Path: "/oauth2/token", Form: form})
	if resp.Status != http.StatusOK {
		s.t.Fatalf("token %s: %d %s", form.Get("grant_type"), resp.Status, resp.Body)
	}
	var p tokenPair
	if err := json.Unmarshal(resp.Body, &p); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// userID is the id of a user of the default tenant: the sub of its tokens.
func (s *server) userID(name string) string {
	s.t.Helper()
	u, err := s.App.Engine.User(context.Background(), "", name)
	if err != nil {
		s.t.Fatal(err)
	}
	return u.ID
}

func (s *server) passwordGrant(user string) tokenPair {
	s.t.Helper()
	return s.token(url.Values{"grant_type": {"password"}, "client_id": {"tokengate"}, "username": {user}, "password": {password}})
}

func (s *server) refreshGrant(rt string) tokenPair {
	s.t.Helper()
	return s.token(url.Values{"grant_type": {"refresh_token"}, "client_id": {"tokengate"}, "refresh_token": {rt}})
}
