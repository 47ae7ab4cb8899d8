package ags_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/fuzzseed"
)

// FuzzAGS sends AGS's signOn, refresh, signOff and validate endpoints a
// fuzzed x-auth-service-id, nv-tenant-id, Authorization, Content-Type and
// parameters body through the whole gateway over loopback; seeds write
// {RT} and {AT} where a fresh AGS refresh or access token belongs.
// Properties: never a 5xx; every response is one the OpenAPI document
// describes; a refusal is AGS's {"status","error","message"} with status
// equal to the HTTP status, error its text, and a message; a 200 signOn or
// refresh carries an access token the gateway verifies; no password or
// token from the request appears in an error or in any log line.
func FuzzAGS(f *testing.F) {
	s := apptest.New(f, apptest.NoThrottle)
	e := s.App.Engine
	s.User(f, "", "alice", pw, true)
	live := s.Live(f, engine.SignOnRequest{Service: "ags:password", Username: "alice", Password: pw})
	const js = "application/json"
	fuzzseed.Add(f, map[string]fuzzseed.Seed{
		"signon":          {0, "password", "", "", js, params("username", "alice", "password", pw)},
		"signon-device":   {0, "password", "default", "", js, params("username", "alice", "password", pw, "deviceId", "d1")},
		"signon-wrong":    {0, "password", "", "", js, params("username", "alice", "password", "wrong-pass")},
		"signon-unknown":  {0, "password", "", "", js, params("username", "alice", "password", pw, "role", "admin")},
		"signon-repeat":   {0, "password", "", "", js, params("username", "alice", "username", "bob", "password", pw)},
		"signon-missing":  {0, "password", "", "", js, params("username", "alice")},
		"signon-service":  {0, "nosuch", "", "", js, params("username", "alice", "password", pw)},
		"signon-tenant":   {0, "password", "acme", "", js, params("username", "alice", "password", pw)},
		"signon-oidc":     {0, "auth0", "", "", js, params("id_token", "a.b.c")},
		"signon-no-type":  {0, "password", "", "", "", params("username", "alice", "password", pw)},
		"signon-shape":    {0, "password", "", "", js, `{"parameters":{"username":"alice"}}`},
		"signon-sql":      {0, "password", "", "", js, params("username", "alice' OR '1'='1", "password", "x")},
		"signon-empty":    {0, "password", "", "", js, ""},
		"refresh":         {1, "password", "", "{RT}", "", ""},
		"refresh-bearer":  {1, "password", "", "Bearer {RT}", "", ""},
		"refresh-access":  {1, "password", "", "{AT}", "", ""},
		"refresh-tenant":  {1, "password", "acme", "{RT}", "", ""},
		"refresh-params":  {1, "password", "", "{RT}", js, params("x", "y")},
		"refresh-spaces":  {1, "password", "", "a b c", "", ""},
		"signoff":         {2, "", "", "{AT}", "", ""},
		"signoff-refresh": {2, "", "", "Bearer {RT}", "", ""},
		"signoff-tenant":  {2, "", "acme", "{AT}", "", ""},
		"validate":        {3, "", "", "{AT}", "", ""},
		"validate-rt":     {3, "", "", "{RT}", "", ""},
		"validate-none":   {3, "", "", "", "", ""},
	})
	type endpoint struct{ method, path string }
	endpoints := []endpoint{{http.MethodPost, "/ags/signOn"}, {http.MethodPost, "/ags/refresh"},
		{http.MethodPost, "/ags/signOff"}, {http.MethodGet, "/ags/validate"}}
	f.Fuzz(func(t *testing.T, which int, service, tenant, authorization, contentType, body string) {
		if which < 0 {
			which = -which
		}
		ep := endpoints[which%len(endpoints)]
		authorization = apptest.Expand(authorization, live)
		if !apptest.HeaderValues(service, tenant, contentType, authorization) {
			return
		}
		if ep.method == http.MethodGet {
			body = ""
		}
		s.TakeLogs()
		r := s.Send(t, apptest.Request{Method: ep.method, Path: ep.path, Body: body, Header: map[string]string{
			"x-auth-service-id": service, "nv-tenant-id": tenant, "Content-Type": contentType, "Authorization": authorization}})
		secrets := apptest.Secrets(pw, strings.TrimSpace(strings.TrimPrefix(authorization, "Bearer ")))
		var pb struct {
			Parameters []struct{ Name, Value string }
		}
		if json.Unmarshal([]byte(body), &pb) == nil {
			for _, p := range pb.Parameters {
				if p.Name == "password" || p.Name == "id_token" {
					secrets = append(secrets, apptest.Secrets(p.Value)...)
				}
			}
		}
		apptest.NoSecretIn(t, "a log line", s.TakeLogs(), secrets)
		switch {
		case r.Status >= 500:
			t.Fatalf("%s: status %d: %s", ep.path, r.Status, r.Body)
		case r.Status == http.StatusOK:
			if ep.path == "/ags/validate" {
				return
			}
			var ok struct {
				AccessToken string `json:"access_token"`
			}
			if err := json.Unmarshal(r.Body, &ok); err != nil {
				t.Fatal(err)
			}
			if _, err := e.VerifyAccess(ok.AccessToken); err != nil {
				t.Fatalf("the access token issued does not verify: %v", err)
			}
		case r.Status == http.StatusNoContent:
			if ep.path != "/ags/signOff" {
				t.Fatalf("%s: 204", ep.path)
			}
		case r.Status >= 400:
			var ae struct {
				Status  int    `json:"status"`
				Error   string `json:"error"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(r.Body, &ae); err != nil || ae.Status != r.Status || ae.Error != http.StatusText(r.Status) || ae.Message == "" {
				t.Fatalf("%s: %d refusal not in AGS's shape: %s", ep.path, r.Status, r.Body)
			}
			apptest.NoSecretIn(t, "the error response", string(r.Body), secrets)
		default:
			t.Fatalf("%s: status %d", ep.path, r.Status)
		}
	})
}
