package oauth2_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/fuzzseed"
)

// rfcErrors are the error codes RFC 6749 §5.2, RFC 7009 and RFC 8693
// define for these endpoints, plus temporarily_unavailable (§4.1.2.1).
var rfcErrors = []string{"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
	"unsupported_grant_type", "invalid_scope", "unsupported_token_type", "invalid_target", "temporarily_unavailable"}

// FuzzOAuth2 sends the token, revocation and introspection endpoints a
// fuzzed Content-Type, Authorization header (HTTP Basic or anything) and
// body, through the whole gateway over loopback. Seeds write {SECRET},
// {RT} and {AT} where the client secret, a fresh refresh token or an
// access token of this run belong. Properties: never a 5xx; every
// response is one the OpenAPI document describes; a refusal is RFC 6749
// §5.2 JSON with a defined error code, no-store, and a Basic challenge on
// 401; a 200 from the token endpoint carries an access token the gateway
// verifies; no password, client secret or token from the request appears
// in the response's error text or in any log line.
func FuzzOAuth2(f *testing.F) {
	s := apptest.Start(f, apptest.Options{
		Start: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
		Config: func(c *config.Config) {
			c.OIDC.Issuers = nil
			apptest.NoThrottle(c)
		},
	})
	ctx := context.Background()
	e := s.App.Engine
	if _, err := e.CreateUser(ctx, engine.NewUser{Name: "bob", Password: password, RefreshEnabled: true}); err != nil {
		f.Fatal(err)
	}
	_, secret, err := e.CreateClient(ctx, engine.NewClient{ID: "svc", GrantTypes: []string{"client_credentials", "password", "refresh_token"}})
	if err != nil {
		f.Fatal(err)
	}
	live := s.Live(f, engine.SignOnRequest{Service: engine.ServiceOAuth2, ClientID: engine.DefaultClientID, Username: "bob", Password: password})
	live[apptest.PlaceSecret] = func() string { return secret }
	const form = "application/x-www-form-urlencoded"
	basic := "Basic c3ZjOntTRUNSRVR9" // svc:{SECRET}, expanded after decoding: see below
	fuzzseed.Add(f, map[string]fuzzseed.Seed{
		"password":        {0, form, "", "grant_type=password&client_id=tokengate&username=bob&password=" + password},
		"password-wrong":  {0, form, "", "grant_type=password&client_id=tokengate&username=bob&password=nope-nope-nope"},
		"refresh":         {0, form, "", "grant_type=refresh_token&client_id=tokengate&refresh_token={RT}"},
		"refresh-bad":     {0, form, "", "grant_type=refresh_token&client_id=tokengate&refresh_token={RT}x"},
		"access-as-rt":    {0, form, "", "grant_type=refresh_token&client_id=tokengate&refresh_token={AT}"},
		"client-creds":    {0, form, "", "grant_type=client_credentials&client_id=svc&client_secret={SECRET}"},
		"basic":           {0, form, basic, "grant_type=client_credentials"},
		"basic-and-body":  {0, form, basic, "grant_type=client_credentials&client_secret=x"},
		"basic-bad-b64":   {0, form, "Basic !!!", "grant_type=client_credentials"},
		"basic-pct":       {0, form, "Basic c3ZjJTpzJQ==", "grant_type=client_credentials"},
		"repeated":        {0, form, "", "grant_type=password&grant_type=password&username=bob"},
		"unknown-repeat":  {0, form, "", "grant_type=password&zz=1&zz=2"},
		"json":            {0, "application/json", "", `{"grant_type":"password"}`},
		"no-type":         {0, "", "", "grant_type=password"},
		"bad-pct":         {0, form, "", "grant_type=%zz"},
		"exchange":        {0, form, "", "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&client_id=tokengate&subject_token={AT}"},
		"scope":           {0, form, "", "grant_type=password&client_id=tokengate&username=bob&password=" + password + "&scope=a%20%20b%09c"},
		"nul-user":        {0, form, "", "grant_type=password&client_id=tokengate&username=bob%00&password=x"},
		"revoke":          {1, form, "", "token={RT}&client_id=tokengate"},
		"revoke-hint":     {1, form, "", "token={AT}&token_type_hint=refresh_token&client_id=tokengate"},
		"revoke-garbage":  {1, form, "", "token=a.b.c&client_id=tokengate"},
		"introspect":      {2, form, basic, "token={AT}"},
		"introspect-anon": {2, form, "", "token={AT}"},
		"charset":         {0, form + "; charset=utf-8", "", "grant_type=password&client_id=tokengate&username=bob&password=" + password},
	})
	endpoints := []string{"/oauth2/token", "/oauth2/revoke", "/oauth2/introspect"}
	f.Fuzz(func(t *testing.T, which int, contentType, authorization, body string) {
		if which < 0 {
			which = -which
		}
		path := endpoints[which%len(endpoints)]
		body = apptest.Expand(body, live)
		if strings.HasPrefix(authorization, "Basic c3ZjOntTRUNSRVR9") {
			authorization = "Basic " + basicAuth("svc", secret)
		}
		if !apptest.HeaderValues(contentType, authorization) {
			return // not a header line
		}
		s.TakeLogs()
		r := s.Send(t, apptest.Request{Method: http.MethodPost, Path: path, Body: body,
			Header: map[string]string{"Content-Type": contentType, "Authorization": authorization}})
		secrets := apptest.Secrets(secret, password)
		for _, kv := range strings.Split(body, "&") {
			if k, v, ok := strings.Cut(kv, "="); ok && (k == "password" || k == "client_secret" || k == "refresh_token" || k == "token" || k == "subject_token") {
				secrets = append(secrets, apptest.Secrets(v)...)
			}
		}
		apptest.NoSecretIn(t, "a log line", s.TakeLogs(), secrets)
		if r.Status >= 500 {
			t.Fatalf("%s: status %d: %s", path, r.Status, r.Body)
		}
		if r.Status == http.StatusOK {
			if path == "/oauth2/token" {
				var tok struct {
					AccessToken string `json:"access_token"`
					TokenType   string `json:"token_type"`
				}
				if err := json.Unmarshal(r.Body, &tok); err != nil || tok.TokenType != "Bearer" {
					t.Fatalf("token response %s", r.Body)
				}
				if _, err := e.VerifyAccess(tok.AccessToken); err != nil {
					t.Fatalf("the access token issued does not verify: %v", err)
				}
			}
			return
		}
		if r.Status < 400 {
			t.Fatalf("%s: status %d: %s", path, r.Status, r.Body)
		}
		var oe struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if err := json.Unmarshal(r.Body, &oe); err != nil || !slices.Contains(rfcErrors, oe.Error) {
			t.Fatalf("%s: %d refusal not in RFC 6749 shape: %s", path, r.Status, r.Body)
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: refusal without Cache-Control: no-store", path)
		}
		if r.Status == http.StatusUnauthorized && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic ") {
			t.Fatalf("%s: 401 without a Basic challenge", path)
		}
		apptest.NoSecretIn(t, "the error response", oe.Description, secrets)
	})
}

// basicAuth is the Authorization value of client_secret_basic (RFC 6749
// §2.3.1: each part form-urlencoded first).
func basicAuth(id, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
}
