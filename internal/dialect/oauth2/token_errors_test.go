package oauth2_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/dialect/oauth2"
	"github.com/tokengate/tokengate/internal/dialect/sentineltest"
	"github.com/tokengate/tokengate/internal/engine"
)

// TestTokenEndpointErrors walks every RFC 6749 §5.2 error of the token
// endpoint. Each case's setup runs just before its request, so cases that
// advance the clock or revoke affect only the tokens they made.
func TestTokenEndpointErrors(t *testing.T) {
	s := newServer(t, "")
	gold := s.GoldenResponses(t, "token_errors")
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
		req    func() apptest.Request
		status int
		code   string
		// basic: the 401 must challenge with Basic (the client used it).
		basic bool
	}{
		{"missing grant_type", func() apptest.Request { return apptest.Request{Form: pw("grant_type", "")} }, 400, "invalid_request", false},
		{"unsupported grant_type", func() apptest.Request { return apptest.Request{Form: pw("grant_type", "implicit")} }, 400, "unsupported_grant_type", false},
		{"token exchange without an identity provider", func() apptest.Request {
			return apptest.Request{Form: pw("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange")}
		}, 400, "unsupported_grant_type", false},
		{"JSON content type", func() apptest.Request {
			return apptest.Request{Body: `{"grant_type":"password"}`, Header: map[string]string{"Content-Type": "application/json"}}
		}, 400, "invalid_request", false},
		{"no content type", func() apptest.Request {
			return apptest.Request{Form: pw(), Header: map[string]string{"Content-Type": "text/plain"}}
		}, 400, "invalid_request", false},
		{"repeated parameter", func() apptest.Request {
			return apptest.Request{Body: pw().Encode() + "&username=mallory", Header: formType}
		}, 400, "invalid_request", false},
		{"missing username", func() apptest.Request { return apptest.Request{Form: pw("username", "")} }, 400, "invalid_request", false},
		{"missing password", func() apptest.Request { return apptest.Request{Form: pw("password", "")} }, 400, "invalid_request", false},
		{"wrong password", func() apptest.Request { return apptest.Request{Form: pw("password", "wrong")} }, 400, "invalid_grant", false},
		{"unknown user", func() apptest.Request { return apptest.Request{Form: pw("username", "nobody")} }, 400, "invalid_grant", false},
		{"missing client_id", func() apptest.Request { return apptest.Request{Form: pw("client_id", "")} }, 401, "invalid_client", false},
		{"unknown client", func() apptest.Request { return apptest.Request{Form: pw("client_id", "nope")} }, 401, "invalid_client", false},
		{"unknown client with Basic", func() apptest.Request {
			return apptest.Request{Form: pw("client_id", ""), BasicUser: "nope", BasicPass: "x"}
		}, 401, "invalid_client", true},
		{"wrong client secret with Basic", func() apptest.Request {
			return apptest.Request{Form: url.Values{"grant_type": {"client_credentials"}}, BasicUser: s.svc, BasicPass: "wrong"}
		}, 401, "invalid_client", true},
		{"wrong client secret in body", func() apptest.Request {
			return apptest.Request{Form: url.Values{"grant_type": {"client_credentials"}, "client_id": {s.svc}, "client_secret": {"wrong"}}}
		}, 401, "invalid_client", false},
		{"confidential client without secret", func() apptest.Request {
			return apptest.Request{Form: url.Values{"grant_type": {"client_credentials"}, "client_id": {s.svc}}}
		}, 401, "invalid_client", false},
		{"Basic and client_secret both", func() apptest.Request {
			return apptest.Request{Form: url.Values{"grant_type": {"client_credentials"}, "client_secret": {s.svcSecret}}, BasicUser: s.svc, BasicPass: s.svcSecret}
		}, 400, "invalid_request", false},
		{"Basic client differs from client_id", func() apptest.Request {
			return apptest.Request{Form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"tokengate"}}, BasicUser: s.svc, BasicPass: s.svcSecret}
		}, 400, "invalid_request", false},
		{"public client presenting a secret", func() apptest.Request { return apptest.Request{Form: pw("client_secret", "guess")} }, 401, "invalid_client", false},
		{"public client using client_credentials", func() apptest.Request {
			return apptest.Request{Form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"tokengate"}}}
		}, 400, "unauthorized_client", false},
		{"service client using password", func() apptest.Request {
			return apptest.Request{Form: pw("client_id", ""), BasicUser: s.svc, BasicPass: s.svcSecret}
		}, 400, "unauthorized_client", false},
		{"missing refresh_token", func() apptest.Request { return apptest.Request{Form: refresh("")} }, 400, "invalid_request", false},
		{"garbage refresh token", func() apptest.Request { return apptest.Request{Form: refresh("garbage")} }, 400, "invalid_grant", false},
		{"access token as refresh token", func() apptest.Request {
			return apptest.Request{Form: refresh(s.passwordGrant("bob").AccessToken)}
		}, 400, "invalid_grant", false},
		{"revoked refresh token", func() apptest.Request {
			p := s.passwordGrant("bob")
			if r := s.do(apptest.Request{Path: "/oauth2/revoke", Form: url.Values{"client_id": {"tokengate"}, "token": {p.RefreshToken}}}); r.Status != 200 {
				t.Fatalf("revoke: %d %s", r.Status, r.Body)
			}
			return apptest.Request{Form: refresh(p.RefreshToken)}
		}, 400, "invalid_grant", false},
		{"reused refresh token", func() apptest.Request {
			p := s.passwordGrant("bob")
			s.refreshGrant(p.RefreshToken)
			s.Clock.Advance(time.Minute) // past the grace window
			return apptest.Request{Form: refresh(p.RefreshToken)}
		}, 400, "invalid_grant", false},
		{"refresh token issued to another client", func() apptest.Request {
			p := s.token(url.Values{"grant_type": {"password"}, "client_id": {"other-app"}, "username": {"bob"}, "password": {password}})
			return apptest.Request{Form: refresh(p.RefreshToken)}
		}, 400, "invalid_grant", false},
		{"refresh withdrawn from the user", func() apptest.Request {
			p := s.passwordGrant("bob")
			u, err := s.App.Engine.User(s.ctx, "", "bob")
			if err != nil {
				t.Fatal(err)
			}
			off, on := false, true
			if _, err := s.App.Engine.UpdateUser(s.ctx, u.ID, engine.UserUpdate{RefreshEnabled: &off}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.App.Engine.UpdateUser(s.ctx, u.ID, engine.UserUpdate{RefreshEnabled: &on}); err != nil {
				t.Fatal(err)
			}
			return apptest.Request{Form: refresh(p.RefreshToken)}
		}, 400, "invalid_grant", false},
		{"expired refresh token", func() apptest.Request {
			p := s.passwordGrant("bob")
			s.Clock.Advance(8 * 24 * time.Hour) // past the 7-day idle lifetime
			return apptest.Request{Form: refresh(p.RefreshToken)}
		}, 400, "invalid_grant", false},
		{"GET", func() apptest.Request { return apptest.Request{Method: http.MethodGet} }, 405, "invalid_request", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req()
			req.Path = "/oauth2/token"
			resp := s.do(req)
			gold.Add(tc.name, resp)
			if resp.Status != tc.status {
				t.Fatalf("status %d, want %d; body %s", resp.Status, tc.status, resp.Body)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" && ct != "application/json;charset=UTF-8" && ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			body := resp.JSON(t)
			if body["error"] != tc.code {
				t.Fatalf("error %v, want %s", body["error"], tc.code)
			}
			if d, ok := body["error_description"].(string); !ok || d == "" {
				t.Errorf("error_description missing: %s", resp.Body)
			}
			for k := range body {
				if k != "error" && k != "error_description" {
					t.Errorf("unexpected field %q in %s", k, resp.Body)
				}
			}
			www := resp.Header.Get("WWW-Authenticate")
			switch {
			case tc.status == 401 && tc.basic && www != `Basic realm="tokengate"`:
				t.Errorf("WWW-Authenticate %q, want the Basic scheme", www)
			case tc.status == 401 && www == "":
				t.Error("401 without WWW-Authenticate")
			case tc.status != 401 && www != "":
				t.Errorf("WWW-Authenticate %q on a %d", www, tc.status)
			}
			if tc.status == 405 && resp.Header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow %q", resp.Header.Get("Allow"))
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
