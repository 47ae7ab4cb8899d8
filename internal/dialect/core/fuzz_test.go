package core_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/dialect/core"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/fuzzseed"
)

// FuzzCore sends Core's login (JSON body, or an external token as
// bearer), refresh (the refresh token as bearer) and about endpoints a
// fuzzed Authorization header, Content-Type and body through the whole
// gateway over loopback; seeds write {RT} and {AT} where a fresh Core
// refresh or access token belongs. Properties: never a 5xx; every
// response is one the OpenAPI document describes; a refusal is Core's
// {"code","message","details"} with code equal to the status; a 200 login
// or refresh carries tokens the gateway verifies; no password or token
// from the request appears in an error or in any log line.
func FuzzCore(f *testing.F) {
	s := apptest.New(f, apptest.NoThrottle)
	e := s.App.Engine
	s.User(f, "", "alice", pw, true)
	live := s.Live(f, engine.SignOnRequest{Service: core.Service, Username: "alice", Password: pw})
	const js = "application/json"
	fuzzseed.Add(f, map[string]fuzzseed.Seed{
		"login":          {0, "", js, `{"username":"alice","password":"` + pw + `"}`},
		"login-wrong":    {0, "", js, `{"username":"alice","password":"wrong-password"}`},
		"login-extra":    {0, "", js, `{"username":"alice","password":"` + pw + `","admin":true}`},
		"login-trailing": {0, "", js, `{"username":"alice","password":"x"} {}`},
		"login-array":    {0, "", js, `[{"username":"alice"}]`},
		"login-no-type":  {0, "", "", `{"username":"alice","password":"` + pw + `"}`},
		"login-form":     {0, "", "application/x-www-form-urlencoded", "username=alice&password=" + pw},
		"login-bearer":   {0, "Bearer {AT}", "", ""},
		"login-garbage":  {0, "Bearer a.b.c", "", ""},
		"login-nul":      {0, "", js, `{"username":"alice\u0000","password":"x"}`},
		"login-dup":      {0, "", js, `{"username":"alice","username":"bob","password":"x"}`},
		"refresh":        {1, "Bearer {RT}", "", ""},
		"refresh-access": {1, "Bearer {AT}", "", ""},
		"refresh-basic":  {1, "Basic YWxpY2U6eA==", "", ""},
		"refresh-none":   {1, "", "", ""},
		"refresh-lower":  {1, "bearer {RT}", "", ""},
		"about":          {2, "", "", ""},
		"about-token":    {2, "Bearer {AT}", "", ""},
		"about-refresh":  {2, "Bearer {RT}", "", ""},
	})
	type endpoint struct{ method, path string }
	endpoints := []endpoint{{http.MethodPost, "/api/login"}, {http.MethodGet, "/api/login/refresh"}, {http.MethodGet, "/api"}}
	f.Fuzz(func(t *testing.T, which int, authorization, contentType, body string) {
		if which < 0 {
			which = -which
		}
		ep := endpoints[which%len(endpoints)]
		authorization = apptest.Expand(authorization, live)
		if !apptest.HeaderValues(contentType, authorization) {
			return
		}
		if ep.method == http.MethodGet {
			body = ""
		}
		s.TakeLogs()
		r := s.Send(t, apptest.Request{Method: ep.method, Path: ep.path, Body: body,
			Header: map[string]string{"Content-Type": contentType, "Authorization": authorization}})
		secrets := apptest.Secrets(pw, strings.TrimSpace(strings.TrimPrefix(authorization, "Bearer ")))
		var login struct {
			Username, Password string
		}
		if json.Unmarshal([]byte(body), &login) == nil {
			secrets = append(secrets, apptest.Secrets(login.Password)...)
		}
		apptest.NoSecretIn(t, "a log line", s.TakeLogs(), secrets)
		switch {
		case r.Status >= 500:
			t.Fatalf("%s %s: status %d: %s", ep.method, ep.path, r.Status, r.Body)
		case r.Status == http.StatusOK:
			var ok struct {
				AccessToken  string `json:"access_token"`
				RefreshToken string `json:"refresh_token"`
			}
			if ep.path == "/api" {
				return
			}
			if err := json.Unmarshal(r.Body, &ok); err != nil {
				t.Fatal(err)
			}
			if _, err := e.VerifyAccess(ok.AccessToken); err != nil {
				t.Fatalf("the access token issued does not verify: %v", err)
			}
			if ep.path == "/api/login" {
				if _, err := e.VerifySignature(ok.RefreshToken); err != nil {
					t.Fatalf("the refresh token issued does not verify: %v", err)
				}
			}
		case r.Status >= 400:
			var ce struct {
				Code    int      `json:"code"`
				Message string   `json:"message"`
				Details []string `json:"details"`
			}
			if err := json.Unmarshal(r.Body, &ce); err != nil || ce.Code != r.Status || ce.Message == "" || len(ce.Details) == 0 {
				t.Fatalf("%s %s: %d refusal not in Core's shape: %s", ep.method, ep.path, r.Status, r.Body)
			}
			apptest.NoSecretIn(t, "the error response", string(r.Body), secrets)
		default:
			t.Fatalf("%s %s: status %d", ep.method, ep.path, r.Status)
		}
	})
}
