package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/dialect/core"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/proxy"
)

// TestRouteErrorShapes checks that the proxy answers in the error shape a
// route names: a Core client behind /api/v3/ reads Core's
// {"code","message","details"}, a route of another API gets the plain
// {"error","message"} with an RFC 6750 challenge, and a route naming none
// keeps the Whitespace API's WSAUTH body. The statuses are the same in
// every shape; only the bodies (and the challenge's error code) differ.
func TestRouteErrorShapes(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "{}") }))
	t.Cleanup(up.Close)
	// An upstream that is not there: a port that was free a moment ago.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String() + "/"
	ln.Close()
	shapes := []string{"", config.ErrorsCore, config.ErrorsPlain}
	prefix := map[string]string{"": "/ws/", config.ErrorsCore: "/api/v3/", config.ErrorsPlain: "/plain/"}
	s := apptest.New(t, func(c *config.Config) {
		for _, sh := range shapes {
			p := prefix[sh]
			c.Proxy.Routes = append(c.Proxy.Routes,
				config.ProxyRoute{Prefix: p, Upstream: up.URL + "/", Errors: sh, Builtins: true},
				config.ProxyRoute{Prefix: strings.TrimSuffix(p, "/") + "-down/", Upstream: down, Errors: sh})
		}
	})
	ctx := context.Background()
	s.User(t, "", "alice", "alice-pass-1", true)
	s.User(t, "", "sumo", "sumo-pass-1", true)
	for _, org := range []string{"north", "south"} {
		if _, err := s.App.Engine.CreateOrganisation(ctx, "", org, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.App.Engine.AddMembership(ctx, engine.NewMembership{User: "sumo", Organisation: org}); err != nil {
			t.Fatal(err)
		}
	}
	alice := s.APIToken(t, "", "alice", "laptop")
	sumo := s.APIToken(t, "", "sumo", "laptop")
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

	// Core's own 401, for the shape to match.
	coreOwn := s.Do(t, "GET", "/api/login/refresh", nil, "")
	var coreKeys []string
	for k := range coreOwn.JSON(t) {
		coreKeys = append(coreKeys, k)
	}
	slices.Sort(coreKeys)

	for _, sh := range shapes {
		name := sh
		if name == "" {
			name = config.ErrorsWhitespace
		}
		t.Run(name, func(t *testing.T) {
			p := prefix[sh]
			downP := strings.TrimSuffix(p, "/") + "-down/"
			g := s.GoldenResponses(t, "errors_"+name)
			cases := []struct {
				name, method, path string
				header             map[string]string
				status             int
			}{
				{"no token", "GET", p + "risks", nil, http.StatusUnauthorized},
				{"bad token", "GET", p + "risks", bearer("garbage"), http.StatusUnauthorized},
				{"refresh token as bearer", "GET", p + "risks", bearer(alice.RefreshToken), http.StatusUnauthorized},
				{"membership not selected", "GET", p + "risks", bearer(sumo.AccessToken), http.StatusUnauthorized},
				{"builtin, wrong method", "POST", p + "user/myDetails", bearer(alice.AccessToken), http.StatusMethodNotAllowed},
				{"upstream down", "GET", downP + "risks", bearer(alice.AccessToken), http.StatusBadGateway},
				{"encoded dot segment", "GET", p + "%2e%2e/admin", bearer(alice.AccessToken), http.StatusBadRequest},
			}
			for _, c := range cases {
				r := s.Raw(t, c.method, c.path, c.header)
				if r.Status != c.status {
					t.Errorf("%s: status %d, want %d: %s", c.name, r.Status, c.status, r.Body)
					continue
				}
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("%s: Content-Type %q", c.name, ct)
				}
				checkShape(t, sh, c.name, r, coreKeys)
				g.Add(c.name, r)
			}
			// A request the proxy lets through is the upstream's to answer.
			if r := s.Raw(t, "GET", p+"risks", bearer(alice.AccessToken)); r.Status != http.StatusOK || string(r.Body) != "{}" {
				t.Errorf("proxied request: %d %s", r.Status, r.Body)
			}
		})
	}
}

// checkShape checks one error response against its shape's rules.
func checkShape(t *testing.T, shape, name string, r apptest.Response, coreKeys []string) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	challenge := r.Header.Get("WWW-Authenticate")
	if (r.Status == http.StatusUnauthorized) != strings.HasPrefix(challenge, `Bearer realm="tokengate"`) {
		t.Errorf("%s: status %d with WWW-Authenticate %q", name, r.Status, challenge)
	}
	switch shape {
	case config.ErrorsCore:
		var ce core.Error
		if err := dec.Decode(&ce); err != nil {
			t.Errorf("%s: not Core's error shape: %v: %s", name, err, r.Body)
			return
		}
		var keys []string
		var m map[string]any
		_ = json.Unmarshal(r.Body, &m)
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if ce.Code != r.Status || ce.Message != http.StatusText(r.Status) || len(ce.Details) != 1 || !slices.Equal(keys, coreKeys) {
			t.Errorf("%s: Core body %s, keys %v, want those of Core's own %v", name, r.Body, keys, coreKeys)
		}
	case config.ErrorsPlain:
		var pe struct{ Error, Message string }
		if err := dec.Decode(&pe); err != nil || pe.Error == "" || pe.Message == "" {
			t.Errorf("%s: not the plain shape: %v: %s", name, err, r.Body)
		}
		// RFC 6750 §3.1: no error code when the request had no token,
		// invalid_token when the token is the problem.
		wantCode := map[string]string{"no token": "", "bad token": "invalid_token", "refresh token as bearer": "invalid_token"}[name]
		if r.Status == http.StatusUnauthorized && wantCode != "" && !strings.Contains(challenge, `error="`+wantCode+`"`) {
			t.Errorf("%s: challenge %q lacks error=%q", name, challenge, wantCode)
		}
		if name == "no token" && strings.Contains(challenge, "error=") {
			t.Errorf("%s: challenge %q has an error code (RFC 6750 §3.1)", name, challenge)
		}
	default:
		var ws struct {
			Reason string `json:"reason"`
			Error  bool   `json:"error"`
		}
		if err := dec.Decode(&ws); err != nil || ws.Reason == "" || !ws.Error {
			t.Errorf("%s: not the WSAUTH shape: %v: %s", name, err, r.Body)
		}
		if name == "no token" && ws.Reason != proxy.ReasonNoToken {
			t.Errorf("%s: reason %q", name, ws.Reason)
		}
	}
}
