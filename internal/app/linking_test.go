package app_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
)

// externalSignOn is one surface that signs on with an external identity
// provider's token.
type externalSignOn struct {
	name string
	// send returns the status and, on success, the access token.
	send func(t *testing.T, s *apptest.Server, tok string) (int, string)
}

var externalSignOns = []externalSignOn{
	{"core bearer login", func(t *testing.T, s *apptest.Server, tok string) (int, string) {
		r := s.Do(t, "POST", "/api/login", map[string]string{"Authorization": "Bearer " + tok}, "")
		return accessOf(t, r)
	}},
	{"ags OIDC service", func(t *testing.T, s *apptest.Server, tok string) (int, string) {
		r := s.Do(t, "POST", "/ags/signOn", map[string]string{"x-auth-service-id": "auth0"},
			`{"parameters":[{"name":"id_token","value":"`+tok+`"}]}`)
		return accessOf(t, r)
	}},
	{"oauth2 token exchange", func(t *testing.T, s *apptest.Server, tok string) (int, string) {
		form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "client_id": {"exchanger"},
			"subject_token": {tok}, "subject_token_type": {"urn:ietf:params:oauth:token-type:id_token"}}
		r := s.Do(t, "POST", "/oauth2/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, form.Encode())
		return accessOf(t, r)
	}},
}

func accessOf(t *testing.T, r apptest.Response) (int, string) {
	t.Helper()
	if r.Status != http.StatusOK {
		return r.Status, ""
	}
	tok, _ := r.JSON(t)["access_token"].(string)
	return r.Status, tok
}

// TestExternalSignOnNeverTakesOverAnAccount: with create_users off, an
// identity the issuer admits reaches a local account only through a link
// by (issuer, subject) that an administrator made; the names it claims
// (preferred_username, nickname, email) link nothing, and an email whose
// verification the issuer does not assert admits nobody.
func TestExternalSignOnNeverTakesOverAnAccount(t *testing.T) {
	for _, surface := range externalSignOns {
		t.Run(surface.name, func(t *testing.T) {
			s := apptest.New(t, func(c *config.Config) {
				is := &c.OIDC.Issuers[0]
				is.CreateUsers = false
				is.AllowedSubjects = []string{"auth0|alice", "auth0|mallory"}
				is.AllowedEmails = []string{"alice@example.test"}
			})
			s.User(t, "", "alice", "alice-password", true)
			if _, _, err := s.App.Engine.CreateClient(context.Background(), engine.NewClient{ID: "exchanger", Public: true,
				GrantTypes: []string{"urn:ietf:params:oauth:grant-type:token-exchange"}}); err != nil {
				t.Fatal(err)
			}

			for name, claims := range map[string]map[string]any{
				"preferred_username": {"sub": "auth0|mallory", "preferred_username": "alice"},
				"nickname":           {"sub": "auth0|mallory", "nickname": "alice"},
				"email":              {"sub": "auth0|mallory", "nickname": "m", "email": "alice", "email_verified": true},
				"unverified email":   {"sub": "auth0|someone", "nickname": "alice", "email": "alice@example.test"},
			} {
				if code, tok := surface.send(t, s, s.ExternalToken(t, claims["sub"].(string), claims)); code == http.StatusOK {
					t.Fatalf("%s: an unlinked identity signed on as %v", name, apptest.Claims(t, tok)["sub"])
				}
			}
			// The account's owner is unlinked too, until an administrator
			// links the identity.
			if code, _ := surface.send(t, s, s.ExternalToken(t, "auth0|alice", nil)); code == http.StatusOK {
				t.Fatal("an unlinked identity signed on")
			}

			admin := s.AdminToken(t)
			r := s.Do(t, "POST", "/admin/api/users/alice/identities", map[string]string{"Authorization": "Bearer " + admin},
				`{"issuer":"auth0","subject":"auth0|alice"}`)
			if r.Status != http.StatusCreated {
				t.Fatalf("link: %d %s", r.Status, r.Body)
			}
			code, tok := surface.send(t, s, s.ExternalToken(t, "auth0|alice", map[string]any{"nickname": "somebody-else"}))
			// The user it signed on as, by name: sub is the user's id (or,
			// in Core's tokens, the name), preferred_username the name.
			if code != http.StatusOK || apptest.Claims(t, tok)["preferred_username"] != "alice" {
				t.Fatalf("linked identity: %d", code)
			}
			if code, _ := surface.send(t, s, s.ExternalToken(t, "auth0|mallory", map[string]any{"preferred_username": "alice"})); code == http.StatusOK {
				t.Fatal("another identity signed on after the link")
			}
		})
	}
}

// TestIdentityLinkAdministration: only administrators link identities, to
// users of their own tenant, of issuers the tenant trusts; a subject links
// to one user.
func TestIdentityLinkAdministration(t *testing.T) {
	s := apptest.New(t, nil)
	ctx := context.Background()
	s.User(t, "", "alice", "alice-password", true)
	s.User(t, "", "bob", "bob-password", true)
	admin := s.AdminToken(t)
	g, err := s.App.Engine.SignOnPassword(ctx, engine.SignOnRequest{Service: "oauth2", ClientID: "tokengate", Username: "bob", Password: "bob-password"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, tok, path, body string
		want                  int
	}{
		{"not an administrator", g.AccessToken, "/admin/api/users/alice/identities", `{"issuer":"auth0","subject":"auth0|x"}`, http.StatusForbidden},
		{"unknown issuer", admin, "/admin/api/users/alice/identities", `{"issuer":"github","subject":"auth0|x"}`, http.StatusBadRequest},
		{"no subject", admin, "/admin/api/users/alice/identities", `{"issuer":"auth0","subject":""}`, http.StatusBadRequest},
		{"unknown user", admin, "/admin/api/users/nobody/identities", `{"issuer":"auth0","subject":"auth0|x"}`, http.StatusNotFound},
		{"by issuer id", admin, "/admin/api/users/alice/identities", `{"issuer":"auth0","subject":"auth0|x"}`, http.StatusCreated},
		{"by issuer URL", admin, "/admin/api/users/alice/identities", `{"issuer":"` + s.Issuer.URL + `","subject":"auth0|y"}`, http.StatusCreated},
		{"subject linked already", admin, "/admin/api/users/bob/identities", `{"issuer":"auth0","subject":"auth0|x"}`, http.StatusConflict},
	} {
		r := s.Do(t, "POST", tc.path, map[string]string{"Authorization": "Bearer " + tc.tok}, tc.body)
		if r.Status != tc.want {
			t.Fatalf("%s: %d %s, want %d", tc.name, r.Status, r.Body, tc.want)
		}
	}
}
