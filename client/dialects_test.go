package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/client"
	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
)

// Each dialect end to end against the real handler: sign in, call the
// authenticated upstream, refresh twice (rotating or stable as the
// dialect does), and sign in again after revocation.
func TestDialects(t *testing.T) {
	tests := []struct {
		dialect  client.Dialect
		method   string
		path     string // a route the dialect serves
		rotating bool
		kind     string // the counter of its calls
	}{
		{client.DialectOAuth2, http.MethodPost, "/oauth2/token", true, "oauth2"},
		{client.DialectCore, http.MethodPost, "/api/login", false, "core"},
		{client.DialectAGS, http.MethodPost, "/ags/signOn", true, "ags"},
	}
	for _, tc := range tests {
		t.Run(string(tc.dialect), func(t *testing.T) {
			s := newTestServer(t, time.Minute)
			s.requireDialect(string(tc.dialect), tc.method, tc.path)
			var saved []client.Tokens
			c := s.newClient(t, client.Config{Address: s.URL, Dialect: tc.dialect, Username: "alice", Password: testPassword,
				OnTokens: func(tk client.Tokens) { saved = append(saved, tk) }})
			first := c.Tokens()
			if first.AccessToken == "" || first.RefreshToken == "" || first.Expiry.IsZero() {
				t.Fatalf("tokens after sign-in: %+v", first)
			}
			if sub, err := get(c, s.URL+"/upstream/data"); err != nil || sub != "alice" {
				t.Fatalf("call: %q, %v", sub, err)
			}
			prev := first
			for i := range 2 {
				next, err := c.Refresh(context.Background())
				if err != nil {
					t.Fatalf("refresh %d: %v", i+1, err)
				}
				if next.AccessToken == prev.AccessToken {
					t.Errorf("refresh %d: same access token", i+1)
				}
				if rotated := next.RefreshToken != prev.RefreshToken; rotated != tc.rotating {
					t.Errorf("refresh %d: refresh token rotated = %v, want %v", i+1, rotated, tc.rotating)
				}
				if sub, err := get(c, s.URL+"/upstream/data"); err != nil || sub != "alice" {
					t.Fatalf("call after refresh %d: %q, %v", i+1, sub, err)
				}
				prev = next
			}
			if len(saved) != 3 || saved[2] != c.Tokens() {
				t.Errorf("OnTokens saw %d changes, want 3 ending with the current tokens", len(saved))
			}
			if got := s.calls(tc.kind + " signon"); got != 1 {
				t.Errorf("sign-ins = %d, want 1", got)
			}
			if got := s.calls(tc.kind + " refresh"); got != 2 {
				t.Errorf("refreshes = %d, want 2", got)
			}

			// Resume from the saved tokens: no call.
			resumed := s.newClient(t, client.Config{Address: s.URL, Dialect: tc.dialect, AccessToken: prev.AccessToken, RefreshToken: prev.RefreshToken})
			if _, err := get(resumed, s.URL+"/upstream/data"); err != nil {
				t.Fatal(err)
			}
			if got := s.calls(tc.kind+" signon") + s.calls(tc.kind+" refresh"); got != 3 {
				t.Errorf("resuming made %d token calls, want 0", got-3)
			}

			// Revoked: the refresh is refused and the client signs in again.
			s.revoke(prev.AccessToken)
			if sub, err := get(c, s.URL+"/upstream/data"); err != nil || sub != "alice" {
				t.Fatalf("call after revocation: %q, %v", sub, err)
			}
			if got := s.calls(tc.kind + " signon"); got != 2 {
				t.Errorf("sign-ins after revocation = %d, want 2", got)
			}
			// Without credentials: ErrReauthenticate.
			if _, err := resumed.Refresh(context.Background()); !errors.Is(err, client.ErrReauthenticate) {
				t.Errorf("refresh of a revoked session without credentials: %v, want ErrReauthenticate", err)
			}

			// Errors in the dialect's own shape map to the same typed errors.
			_, err := client.New(context.Background(), client.Config{Address: s.URL, Dialect: tc.dialect, Username: "alice", Password: "wrong"})
			if !errors.Is(err, client.ErrInvalidCredentials) {
				t.Errorf("wrong password: %v, want ErrInvalidCredentials", err)
			}
			_, err = client.New(context.Background(), client.Config{Address: s.URL, Dialect: tc.dialect, Username: "bob", Password: testPassword, RequireRefreshToken: true})
			if !errors.Is(err, client.ErrRefreshNotEnabled) {
				t.Errorf("bob with RequireRefreshToken: %v, want ErrRefreshNotEnabled", err)
			}
		})
	}
}

// Concurrency holds in every dialect: 50 goroutines across two renewals
// of a one-minute token (Core's renewed 20 s early, by Config.RefreshMargin;
// AGS's by the default margin), one refresh per renewal, no failed call.
func TestDialectsConcurrentRefresh(t *testing.T) {
	for _, d := range []struct {
		dialect      client.Dialect
		method, path string
		margin       time.Duration
	}{
		{client.DialectCore, http.MethodPost, "/api/login", 20 * time.Second},
		{client.DialectAGS, http.MethodPost, "/ags/signOn", 0},
	} {
		t.Run(string(d.dialect), func(t *testing.T) {
			s := newTestServer(t, time.Minute)
			s.requireDialect(string(d.dialect), d.method, d.path)
			c := s.newClient(t, client.Config{Address: s.URL, Dialect: d.dialect, Username: "alice", Password: testPassword, RefreshMargin: d.margin})
			const rounds = 2
			hammer(t, s, c, 50, rounds, renewStep)
			if got := s.calls("refresh"); got != rounds {
				t.Errorf("refreshes = %d over %d renewals, want one each", got, rounds)
			}
			presented := map[string]int{}
			s.mu.Lock()
			for _, e := range s.events {
				if e.refresh {
					presented[e.token]++
				}
			}
			s.mu.Unlock()
			if d.dialect == client.DialectAGS {
				for _, n := range presented {
					if n != 1 {
						t.Errorf("a rotating refresh token was presented %d times", n)
					}
				}
			}
			s.checkSpacing(t)
		})
	}
}

// renewStep is how far hammer moves the clock each round: past the
// renewal time of a one-minute token (53 s after it was received with the
// default margin of 10%, 39 s with a 20 s margin), short of its expiry
// (59 s by the client's reckoning, 60 s by the server's).
const renewStep = 55 * time.Second

// hammer runs workers goroutines calling the upstream for rounds renewals:
// each round lets every worker make calls with the current token, moves
// the shared fake clock by step, and waits for the server to answer that
// round's refresh; then the calls go on a while with the last token.
// Every call must succeed. It returns how many calls were made and how
// many failed.
func hammer(t *testing.T, s *testServer, c *client.Client, workers, rounds int, step time.Duration) (calls, failed int64) {
	t.Helper()
	var made, errs atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := get(c, s.URL+"/upstream/data"); err != nil {
					errs.Add(1)
					t.Errorf("call failed: %v", err)
					return
				}
				made.Add(1)
			}
		})
	}
	busy := func(what string) {
		mark := made.Load()
		eventually(t, what, func() bool { return made.Load() >= mark+int64(workers) || errs.Load() > 0 })
	}
	base := s.calls("refresh")
	for i := 1; i <= rounds; i++ {
		busy(fmt.Sprintf("calls before renewal %d", i))
		s.clock.Advance(step)
		eventually(t, fmt.Sprintf("refresh %d", i), func() bool { return s.calls("refresh") >= base+i || errs.Load() > 0 })
	}
	busy("calls after the last renewal")
	close(stop)
	wg.Wait()
	return made.Load(), errs.Load()
}

// eventually polls cond until it holds; the bound only turns a hang into
// a failure, far above what a loaded machine takes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	const bound = 2 * time.Minute
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(bound); !cond(); <-tick.C {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, bound)
		}
	}
}

// checkSpacing fails when two token calls came closer together, by the
// fake clock, than the step between renewals: one expiry got two
// refreshes (see TestConcurrentCallsRefreshOncePerExpiry).
func (s *testServer) checkSpacing(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 1; i < len(s.events); i++ {
		if gap := s.events[i].at.Sub(s.events[i-1].at); gap < renewStep {
			t.Errorf("token call %d came %v after the previous one: a duplicate refresh", i, gap)
		}
	}
}

// Sync Gateway: refresh-only, from an API refresh token; the token is kept
// (stable), and a bad or revoked one ends in ErrReauthenticate.
func TestSyncGateway(t *testing.T) {
	s := newTestServer(t, time.Minute)
	s.requireDialect("syncgw", http.MethodPost, "/whitespace/_oidc_refresh")
	ctx := context.Background()
	g, err := s.app.Engine.CreateAPIToken(ctx, engine.APITokenRequest{User: s.userID("alice"), Label: "client test", ByAdministrator: true})
	if err != nil {
		t.Fatal(err)
	}
	rt := g.RefreshToken
	c := s.newClient(t, client.Config{Address: s.URL, Dialect: client.DialectSyncGateway, RefreshToken: rt})
	if sub, err := get(c, s.URL+"/upstream/data"); err != nil || sub != "alice" {
		t.Fatalf("call: %q, %v", sub, err)
	}
	for range 2 {
		tk, err := c.Refresh(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if tk.RefreshToken != rt {
			t.Error("the Sync Gateway refresh token changed")
		}
	}
	if got := s.calls("syncgw refresh"); got != 3 {
		t.Errorf("refreshes = %d, want 3", got)
	}

	t.Run("unknown bucket", func(t *testing.T) {
		_, err := client.New(ctx, client.Config{Address: s.URL, Dialect: client.DialectSyncGateway, Bucket: "nope", RefreshToken: rt})
		var se *client.ServerError
		if !errors.As(err, &se) || se.Status != http.StatusNotFound {
			t.Errorf("error %v, want a 404 ServerError", err)
		}
	})
	t.Run("rotating token refused", func(t *testing.T) {
		oc := s.newClient(t, client.Config{Address: s.URL, Username: "alice", Password: testPassword})
		_, err := client.New(ctx, client.Config{Address: s.URL, Dialect: client.DialectSyncGateway, RefreshToken: oc.Tokens().RefreshToken})
		if !errors.Is(err, client.ErrReauthenticate) {
			t.Errorf("error %v, want ErrReauthenticate", err)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		s.revoke(c.Tokens().AccessToken)
		_, err := c.Refresh(ctx)
		if !errors.Is(err, client.ErrReauthenticate) {
			t.Errorf("error %v, want ErrReauthenticate", err)
		}
		var se *client.ServerError
		if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
			t.Errorf("cause %v, want the 401", err)
		}
	})
}

// The real proxy: a user in two organisations must name one with UserID.
func TestProxyUserID(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path})
	}))
	defer up.Close()
	s := newTestServer(t, time.Minute, func(c *config.Config) {
		c.Proxy.Routes = append(c.Proxy.Routes, config.ProxyRoute{Prefix: "/data/", Upstream: up.URL + "/"})
	})
	ctx := context.Background()
	var mus []string
	for _, org := range []string{"gailbkr", "mcneillieuwr"} {
		if _, err := s.app.Engine.CreateOrganisation(ctx, "", org, org); err != nil {
			t.Fatal(err)
		}
		m, err := s.app.Engine.AddMembership(ctx, engine.NewMembership{User: "alice", Organisation: org, Channels: []string{org + "_ALL"}})
		if err != nil {
			t.Fatal(err)
		}
		mus = append(mus, m.ID)
	}
	c := s.newClient(t, client.Config{Address: s.URL, Username: "alice", Password: testPassword})
	_, err := c.HTTPClient().Get(s.URL + "/data/risks")
	if !errors.Is(err, client.ErrUserIDRequired) {
		t.Fatalf("without UserID: %v, want ErrUserIDRequired", err)
	}
	if !strings.Contains(err.Error(), "UserID") {
		t.Errorf("message %q does not name UserID", err)
	}
	c = s.newClient(t, client.Config{Address: s.URL, Username: "alice", Password: testPassword, UserID: mus[1]})
	resp, err := c.HTTPClient().Get(s.URL + "/data/risks")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("with UserID: %s", resp.Status)
	}
}

// An external OIDC/Auth0 token signs in through each dialect that takes
// one: OAuth 2.0 token exchange, Core's bearer login, and AGS's OIDC
// service (found by service discovery). The issuer runs on loopback.
func TestExternalToken(t *testing.T) {
	gw := apptest.New(t, nil)
	// OAuth 2.0 token exchange needs a client allowed that grant; the
	// default public client is not.
	if _, _, err := gw.App.Engine.CreateClient(context.Background(), engine.NewClient{ID: "cli", Public: true,
		GrantTypes: []string{"urn:ietf:params:oauth:grant-type:token-exchange", "refresh_token"}}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []client.Dialect{client.DialectOAuth2, client.DialectCore, client.DialectAGS} {
		t.Run(string(d), func(t *testing.T) {
			c, err := client.New(context.Background(), client.Config{Address: gw.URL, Dialect: d, ClientID: "cli",
				ExternalToken: gw.ExternalToken(t, "auth0|alice", nil)})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			tk := c.Tokens()
			claims := apptest.Claims(t, tk.AccessToken)
			if tk.RefreshToken == "" || claims["sub"] == nil {
				t.Errorf("tokens %+v, claims %v", tk, claims)
			}
			if _, err := c.Refresh(context.Background()); err != nil {
				t.Errorf("refresh: %v", err)
			}
			_, err = client.New(context.Background(), client.Config{Address: gw.URL, Dialect: d, ClientID: "cli",
				ExternalToken: gw.ExternalToken(t, "auth0|mallory", nil)})
			var se *client.ServerError
			switch {
			case d == client.DialectAGS:
				// AGS answers 403 (forbidden), not 401, for an identity
				// that is not allowed: a server error with its reason.
				if !errors.As(err, &se) || se.Status != http.StatusForbidden || !strings.Contains(err.Error(), "not allowed") {
					t.Errorf("user not allowed: %v, want the 403 with its reason", err)
				}
			case !errors.Is(err, client.ErrInvalidCredentials):
				t.Errorf("user not allowed: %v, want ErrInvalidCredentials", err)
			}
		})
	}
}
