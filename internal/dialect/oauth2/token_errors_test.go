package oauth2_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/dialect/oauth2"
	"github.com/tokengate/tokengate/internal/dialect/sentineltest"
	"github.com/tokengate/tokengate/internal/engine"
)

// TestTokenEndpointErrors walks every RFC 6749 §5.2 error of the token
// endpoint. Each case's setup runs just before its request, so cases that
// advance the clock or revoke affect only the tokens they made.
func TestTokenEndpointErrors(t *testing.T) {
	s := newServer(t, "")
	gold := newGolden(t, "token_errors")
	pw := func(extra ...string) url.Values {
		v := url.Values{"grant_type": {"password"}, "client_id": {"tokengate"}, "username": {"bob"}, "password": {password}}
		for i := 0; i+1 < len(extra); i += 2 {
			if extra[i+1] == "" {
				v.Del(extra[i])
			} else {
				v.Set(extra[i], extra[i+1])
			}
		}
		return v
	}
	refresh := func(rt string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "client_id": {"tokengate"}, "refresh_token": {rt}}
	}
	for _, tc := range []struct {
		name   string
		req    func() request
		status int
		code   string
		// basic: the 401 must challenge with Basic (the client used it).
		basic bool
	}{
		{"missing grant_type", func() request { return request{form: pw("grant_type", "")} }, 400, "invalid_request", false},
		{"unsupported grant_type", func() request { return request{form: pw("grant_type", "implicit")} }, 400, "unsupported_grant_type", false},
		{"token exchange without an identity provider", func() request {
			return request{form: pw("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange")}
		}, 400, "unsupported_grant_type", false},
		{"JSON content type", func() request {
			return request{body: `{"grant_type":"password"}`, contentType: "application/json"}
		}, 400, "invalid_request", false},
		{"no content type", func() request { return request{form: pw(), contentType: "text/plain"} }, 400, "invalid_request", false},
		{"repeated parameter", func() request {
			return request{body: pw().Encode() + "&username=mallory"}
		}, 400, "invalid_request", false},
		{"missing username", func() request { return request{form: pw("username", "")} }, 400, "invalid_request", false},
		{"missing password", func() request { return request{form: pw("password", "")} }, 400, "invalid_request", false},
		{"wrong password", func() request { return request{form: pw("password", "wrong")} }, 400, "invalid_grant", false},
		{"unknown user", func() request { return request{form: pw("username", "nobody")} }, 400, "invalid_grant", false},
		{"missing client_id", func() request { return request{form: pw("client_id", "")} }, 401, "invalid_client", false},
		{"unknown client", func() request { return request{form: pw("client_id", "nope")} }, 401, "invalid_client", false},
		{"unknown client with Basic", func() request {
			return request{form: pw("client_id", ""), basicUser: "nope", basicPass: "x"}
		}, 401, "invalid_client", true},
		{"wrong client secret with Basic", func() request {
			return request{form: url.Values{"grant_type": {"client_credentials"}}, basicUser: s.svc, basicPass: "wrong"}
		}, 401, "invalid_client", true},
		{"wrong client secret in body", func() request {
			return request{form: url.Values{"grant_type": {"client_credentials"}, "client_id": {s.svc}, "client_secret": {"wrong"}}}
		}, 401, "invalid_client", false},
		{"confidential client without secret", func() request {
			return request{form: url.Values{"grant_type": {"client_credentials"}, "client_id": {s.svc}}}
		}, 401, "invalid_client", false},
		{"Basic and client_secret both", func() request {
			return request{form: url.Values{"grant_type": {"client_credentials"}, "client_secret": {s.svcSecret}}, basicUser: s.svc, basicPass: s.svcSecret}
		}, 400, "invalid_request", false},
		{"Basic client differs from client_id", func() request {
			return request{form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"tokengate"}}, basicUser: s.svc, basicPass: s.svcSecret}
		}, 400, "invalid_request", false},
		{"public client presenting a secret", func() request { return request{form: pw("client_secret", "guess")} }, 401, "invalid_client", false},
		{"public client using client_credentials", func() request {
			return request{form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"tokengate"}}}
		}, 400, "unauthorized_client", false},
		{"service client using password", func() request {
			return request{form: pw("client_id", ""), basicUser: s.svc, basicPass: s.svcSecret}
		}, 400, "unauthorized_client", false},
		{"missing refresh_token", func() request { return request{form: refresh("")} }, 400, "invalid_request", false},
		{"garbage refresh token", func() request { return request{form: refresh("garbage")} }, 400, "invalid_grant", false},
		{"access token as refresh token", func() request {
			return request{form: refresh(s.passwordGrant("bob").AccessToken)}
		}, 400, "invalid_grant", false},
		{"revoked refresh token", func() request {
			p := s.passwordGrant("bob")
			if r := s.do(request{path: "/oauth2/revoke", form: url.Values{"client_id": {"tokengate"}, "token": {p.RefreshToken}}}); r.status != 200 {
				t.Fatalf("revoke: %d %s", r.status, r.body)
			}
			return request{form: refresh(p.RefreshToken)}
		}, 400, "invalid_grant", false},
		{"reused refresh token", func() request {
			p := s.passwordGrant("bob")
			s.refreshGrant(p.RefreshToken)
			s.clock.Advance(time.Minute) // past the grace window
			return request{form: refresh(p.RefreshToken)}
		}, 400, "invalid_grant", false},
		{"refresh token issued to another client", func() request {
			p := s.token(url.Values{"grant_type": {"password"}, "client_id": {"other-app"}, "username": {"bob"}, "password": {password}})
			return request{form: refresh(p.RefreshToken)}
		}, 400, "invalid_grant", false},
		{"refresh withdrawn from the user", func() request {
			p := s.passwordGrant("bob")
			u, err := s.app.Engine.User(s.ctx, "", "bob")
			if err != nil {
				t.Fatal(err)
			}
			off, on := false, true
			if _, err := s.app.Engine.UpdateUser(s.ctx, u.ID, engine.UserUpdate{RefreshEnabled: &off}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.app.Engine.UpdateUser(s.ctx, u.ID, engine.UserUpdate{RefreshEnabled: &on}); err != nil {
				t.Fatal(err)
			}
			return request{form: refresh(p.RefreshToken)}
		}, 400, "invalid_grant", false},
		{"expired refresh token", func() request {
			p := s.passwordGrant("bob")
			s.clock.Advance(8 * 24 * time.Hour) // past the 7-day idle lifetime
			return request{form: refresh(p.RefreshToken)}
		}, 400, "invalid_grant", false},
		{"GET", func() request { return request{method: http.MethodGet} }, 405, "invalid_request", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req()
			req.path = "/oauth2/token"
			resp := s.do(req)
			gold.add(tc.name, s, resp)
			if resp.status != tc.status {
				t.Fatalf("status %d, want %d; body %s", resp.status, tc.status, resp.body)
			}
			if cc := resp.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			if ct := resp.header.Get("Content-Type"); ct != "application/json" && ct != "application/json;charset=UTF-8" && ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			body := resp.json(t)
			if body["error"] != tc.code {
				t.Fatalf("error %v, want %s", body["error"], tc.code)
			}
			if d, ok := body["error_description"].(string); !ok || d == "" {
				t.Errorf("error_description missing: %s", resp.body)
			}
			for k := range body {
				if k != "error" && k != "error_description" {
					t.Errorf("unexpected field %q in %s", k, resp.body)
				}
			}
			www := resp.header.Get("WWW-Authenticate")
			switch {
			case tc.status == 401 && tc.basic && www != `Basic realm="tokengate"`:
				t.Errorf("WWW-Authenticate %q, want the Basic scheme", www)
			case tc.status == 401 && www == "":
				t.Error("401 without WWW-Authenticate")
			case tc.status != 401 && www != "":
				t.Errorf("WWW-Authenticate %q on a %d", www, tc.status)
			}
			if tc.status == 405 && resp.header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow %q", resp.header.Get("Allow"))
			}
		})
	}
}

// TestEverySentinelHasAStatusAndBody: every engine sentinel, bare or
// wrapped with internal text, gets an RFC 6749 §5.2 error of its own and no
// internal text (sentineltest).
func TestEverySentinelHasAStatusAndBody(t *testing.T) {
	sentineltest.Run(t, func(w http.ResponseWriter, err error) {
		oauth2.WriteError(context.Background(), slog.New(slog.DiscardHandler), w, err)
	}, func(b map[string]any) bool {
		return sentineltest.Text(b, "error") && sentineltest.Text(b, "error_description")
	})
}
