package syncgw_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/fuzzseed"
)

// FuzzSyncGW sends /{bucket}/_oidc_refresh a fuzzed method, bucket, query,
// Content-Type and body through the whole gateway over loopback; seeds
// write {RT} where a fresh stable (API) refresh token belongs and {AT}
// for an access token. Properties: never a 5xx; every response is one the
// OpenAPI document describes; a refusal is Sync Gateway's
// {"error","reason"} with both set; every answer is no-store with
// Referrer-Policy no-referrer; a 200 carries an id_token the gateway
// verifies; no token from the request appears in an error or in any log
// line (the GET form's query included).
func FuzzSyncGW(f *testing.F) {
	s := apptest.New(f, apptest.NoThrottle)
	ctx := context.Background()
	e := s.App.Engine
	s.User(f, "", "alice", "alice-pass-1", true)
	u, err := e.User(ctx, "", "alice")
	if err != nil {
		f.Fatal(err)
	}
	live := s.Live(f, engine.SignOnRequest{Service: "oauth2", ClientID: engine.DefaultClientID, Username: "alice", Password: "alice-pass-1"})
	// The stable token Sync Gateway takes: an API token (past the
	// per-user limit, the placeholder stays a refused string).
	live[apptest.PlaceRefresh] = func() string {
		g, err := e.CreateAPIToken(ctx, engine.APITokenRequest{User: u.ID, Label: "fuzz", ByAdministrator: true})
		if err != nil {
			return "limit-reached"
		}
		return g.RefreshToken
	}
	const form = "application/x-www-form-urlencoded"
	fuzzseed.Add(f, map[string]fuzzseed.Seed{
		"get":           {0, "whitespace", "refresh_token={RT}", "", ""},
		"post":          {1, "whitespace", "", form, "refresh_token={RT}"},
		"post-both":     {1, "whitespace", "refresh_token={RT}", form, "refresh_token={RT}"},
		"post-json":     {1, "whitespace", "", "application/json", `{"refresh_token":"{RT}"}`},
		"repeated":      {0, "whitespace", "refresh_token={RT}&refresh_token=x", "", ""},
		"missing":       {0, "whitespace", "", "", ""},
		"bad-query":     {0, "whitespace", "refresh_token=%zz", "", ""},
		"semicolon":     {0, "whitespace", "a=1;refresh_token={RT}", "", ""},
		"unknown":       {0, "nosuch", "refresh_token={RT}", "", ""},
		"access":        {0, "whitespace", "refresh_token={AT}", "", ""},
		"rotating":      {0, "whitespace", "refresh_token=a.b.c", "", ""},
		"put":           {2, "whitespace", "refresh_token={RT}", "", ""},
		"head":          {3, "whitespace", "", "", ""},
		"enc-bucket":    {0, "white%73pace", "refresh_token={RT}", "", ""},
		"bucket-dotdot": {0, "..", "refresh_token={RT}", "", ""},
		"truncated":     {0, "whitespace", "refresh_token={RT}", "", "truncate"},
	})
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodHead, http.MethodDelete, http.MethodOptions}
	f.Fuzz(func(t *testing.T, which int, bucket, query, contentType, body string) {
		if which < 0 {
			which = -which
		}
		method := methods[which%len(methods)]
		query, body = apptest.Expand(query, live), apptest.Expand(body, live)
		p := "/" + bucket + "/_oidc_refresh"
		if query != "" {
			p += "?" + query
		}
		if _, err := url.Parse(s.URL + p); err != nil || strings.ContainsAny(p, " #\r\n\t\x00") || !apptest.HeaderValues(contentType) {
			return
		}
		u, _ := url.Parse(s.URL + p)
		if b := strings.TrimSuffix(strings.TrimPrefix(u.Path, "/"), "/_oidc_refresh"); b == "" || b == "." || b == ".." ||
			strings.Contains(b, "/") || !strings.HasSuffix(u.Path, "/_oidc_refresh") {
			return // not a /{bucket}/_oidc_refresh path once net/http has cleaned it: another route's
		}
		if method == http.MethodGet || method == http.MethodHead {
			body = ""
		}
		s.TakeLogs()
		var r apptest.Response
		if method == http.MethodGet || method == http.MethodPost {
			r = s.Send(t, apptest.Request{Method: method, Path: p, Body: body, Header: map[string]string{"Content-Type": contentType}})
		} else {
			// The OpenAPI document lists GET and POST; another method's
			// answer (405, or 404 for an unknown bucket) is checked below.
			r = unlisted(t, s, method, p)
		}
		var secrets []string
		for _, vs := range []string{query, body} {
			if v, err := url.ParseQuery(vs); err == nil {
				for _, tok := range v["refresh_token"] {
					secrets = append(secrets, apptest.Secrets(tok)...)
				}
			}
		}
		apptest.NoSecretIn(t, "a log line", s.TakeLogs(), secrets)
		if r.Status >= 500 {
			t.Fatalf("%s %s: status %d: %s", method, p, r.Status, r.Body)
		}
		if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("%s %s: %d without no-store and no-referrer: %v", method, p, r.Status, r.Header)
		}
		if method == http.MethodHead {
			return
		}
		if r.Status == http.StatusOK {
			var ok struct {
				IDToken string `json:"id_token"`
			}
			if err := json.Unmarshal(r.Body, &ok); err != nil {
				t.Fatal(err)
			}
			if _, err := e.VerifyAccess(ok.IDToken); err != nil {
				t.Fatalf("the id_token issued does not verify: %v", err)
			}
			return
		}
		var se struct {
			Error  string `json:"error"`
			Reason string `json:"reason"`
		}
		if err := json.Unmarshal(r.Body, &se); err != nil || r.Status < 400 || se.Error == "" || se.Reason == "" {
			t.Fatalf("%s %s: %d refusal not in Sync Gateway's shape: %s", method, p, r.Status, r.Body)
		}
		apptest.NoSecretIn(t, "the error response", string(r.Body), secrets)
	})
}

// unlisted sends a body-less request of a method the OpenAPI document
// does not list for the path, without validating it against the document.
func unlisted(t *testing.T, s *apptest.Server, method, path string) apptest.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}
