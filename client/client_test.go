package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/client"
)

// get calls the upstream through the client and returns the user name
// it answered for.
func get(c *client.Client, url string) (string, error) {
	resp, err := c.HTTPClient().Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		User string `json:"user"`
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return "", errors.New(resp.Status + " " + string(b))
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	return out.User, err
}

// The main figure: 100 goroutines calling across several expiries
// cause one refresh per expiry (each refresh yields the one token that
// every goroutine then uses), and no call fails. The clock is the
// server's fake one, shared with the client: each round moves it past the
// token's renewal time (not its expiry), so the test waits for nothing
// but the calls themselves.
func TestConcurrentCallsRefreshOncePerExpiry(t *testing.T) {
	s := newTestServer(t, time.Minute)
	var installs atomic.Int64
	c := s.newClient(t, client.Config{Address: s.URL, Username: "alice", Password: testPassword,
		OnTokens: func(client.Tokens) { installs.Add(1) }})

	const rounds = 3
	calls, failed := hammer(t, s, c, 100, rounds, renewStep)
	refreshes, signons := s.calls("oauth2 refresh"), s.calls("signon")
	s.mu.Lock()
	distinct, denied := len(s.seen), s.denied
	s.mu.Unlock()
	t.Logf("%d calls, %d refreshes, %d sign-ins, %d distinct access tokens, %d upstream 401s (each retried)",
		calls, refreshes, signons, distinct, denied)
	if failed != 0 {
		t.Fatalf("%d calls failed", failed)
	}
	if refreshes != rounds {
		t.Errorf("refreshes = %d over %d expiries, want one each", refreshes, rounds)
	}
	if signons != 1 {
		t.Errorf("sign-ins = %d, want 1", signons)
	}
	// The engine's own count agrees: every refresh succeeded.
	if ok, all := s.metric("tokengate_refreshes_total", map[string]string{"result": "ok"}), s.metric("tokengate_refreshes_total", nil); int(ok) != refreshes || ok != all {
		t.Errorf("tokengate_refreshes_total: %v ok of %v, want %d ok and no other", ok, all, refreshes)
	}
	// Every refresh produced a token (OnTokens), and every token after the
	// first came from exactly one refresh: no refresh was duplicated by
	// racing goroutines.
	if got := int(installs.Load()); got != refreshes+1 {
		t.Errorf("token changes = %d, want refreshes+1 = %d", got, refreshes+1)
	}
	// Single flight: no refresh token was presented twice (a second
	// presentation of a rotating token is a duplicate refresh)…
	s.mu.Lock()
	events := append([]tokenEvent(nil), s.events...)
	s.mu.Unlock()
	presented := map[string]bool{}
	for _, e := range events {
		if e.refresh {
			if presented[e.token] {
				t.Error("a refresh token was presented twice: two refreshes ran for one expiry")
			}
			presented[e.token] = true
		}
	}
	// …and no refresh followed another before the token it replaced was
	// due (by the fake clock, which only the test moves).
	s.checkSpacing(t)
	if distinct > refreshes+1 {
		t.Errorf("upstream saw %d distinct tokens from %d refreshes", distinct, refreshes)
	}
	if distinct < refreshes {
		t.Errorf("upstream saw %d distinct tokens but the server made %d refreshes: some refresh was wasted", distinct, refreshes)
	}
}

// A session revoked on the server: the upstream refuses the token, the
// client's refresh is refused, and the client signs in again with its
// credentials and retries the call — which succeeds.
func TestRevokedSessionSignsInAgain(t *testing.T) {
	s := newTestServer(t, time.Minute)
	c := s.newClient(t, client.Config{Address: s.URL, Username: "alice", Password: testPassword})
	first := c.Tokens()
	if first.RefreshToken == "" {
		t.Fatal("alice is refresh-enabled but got no refresh token")
	}
	s.revoke(first.AccessToken)

	if sub, err := get(c, s.URL+"/upstream/data"); err != nil || sub != "alice" {
		t.Fatalf("call after revocation: %q, %v", sub, err)
	}
	if got := s.calls("signon"); got != 2 {
		t.Errorf("sign-ins = %d, want 2 (the second after the refused refresh)", got)
	}
	if got := s.calls("refresh"); got != 1 {
		t.Errorf("refreshes = %d, want 1 (refused)", got)
	}
	if now := c.Tokens(); now.RefreshToken == first.RefreshToken || now.AccessToken == first.AccessToken {
		t.Error("tokens did not change after the new sign-in")
	}
}

// Without credentials, a revoked refresh token ends in ErrReauthenticate.
func TestRevokedWithoutCredentials(t *testing.T) {
	s := newTestServer(t, time.Minute)
	first := s.newClient(t, client.Config{Address: s.URL, Username: "alice", Password: testPassword}).Tokens()
	c := s.newClient(t, client.Config{Address: s.URL, RefreshToken: first.RefreshToken, AccessToken: first.AccessToken})
	s.revoke(first.AccessToken)

	_, err := get(c, s.URL+"/upstream/data")
	if !errors.Is(err, client.ErrReauthenticate) {
		t.Fatalf("call error = %v, want ErrReauthenticate", err)
	}
	var se *client.ServerError
	if !errors.As(err, &se) || se.Status != http.StatusBadRequest || se.Code != "invalid_grant" {
		t.Errorf("cause = %#v, want the server's invalid_grant", se)
	}
	if _, err := c.Refresh(context.Background()); !errors.Is(err, client.ErrReauthenticate) {
		t.Errorf("Refresh error = %v, want ErrReauthenticate", err)
	}
	if got := s.calls("signon"); got != 1 {
		t.Errorf("sign-ins = %d, want 1", got)
	}
}

func TestResumeFromSavedTokens(t *testing.T) {
	s := newTestServer(t, time.Minute)
	var saved client.Tokens
	first := s.newClient(t, client.Config{Address: s.URL, Username: "alice", Password: testPassword,
		OnTokens: func(tk client.Tokens) { saved = tk }})
	if saved != first.Tokens() {
		t.Fatal("OnTokens did not see the sign-in")
	}

	t.Run("valid access token: no call at all", func(t *testing.T) {
		before := s.calls("signon") + s.calls("refresh")
		c := s.newClient(t, client.Config{Address: s.URL, Username: "alice", Password: testPassword,
			AccessToken: saved.AccessToken, RefreshToken: saved.RefreshToken})
		if got := s.calls("signon") + s.calls("refresh"); got != before {
			t.Errorf("resuming made %d token calls, want 0", got-before)
		}
		if c.Tokens().AccessToken != saved.AccessToken {
			t.Error("resumed client does not use the saved access token")
		}
	})

	t.Run("expired access token: one refresh, no sign-in", func(t *testing.T) {
		// Let the saved access token expire (a minute's lifetime), on
		// the server's clock and the client's.
		s.clock.Advance(first.Tokens().Expiry.Add(1100 * time.Millisecond).Sub(s.clock.Now()))
		signons, refreshes := s.calls("signon"), s.calls("refresh")
		c := s.newClient(t, client.Config{Address: s.URL, Username: "alice", Password: testPassword,
			AccessToken: saved.AccessToken, RefreshToken: saved.RefreshToken})
		if got := s.calls("signon") - signons; got != 0 {
			t.Errorf("sign-ins = %d, want 0", got)
		}
		if got := s.calls("refresh") - refreshes; got != 1 {
			t.Errorf("refreshes = %d, want 1", got)
		}
		if sub, err := get(c, s.URL+"/upstream/data"); err != nil || sub != "alice" {
			t.Errorf("call: %q, %v", sub, err)
		}
		saved = c.Tokens()
	})

	t.Run("refresh token only: refresh, no sign-in", func(t *testing.T) {
		signons := s.calls("signon")
		c := s.newClient(t, client.Config{Address: s.URL, RefreshToken: saved.RefreshToken})
		if s.calls("signon") != signons {
			t.Error("a sign-in call was made")
		}
		if _, err := get(c, s.URL+"/upstream/data"); err != nil {
			t.Error(err)
		}
		saved = c.Tokens()
	})

	t.Run("revoked refresh token with credentials: sign-in", func(t *testing.T) {
		s.revoke(saved.RefreshToken)
		signons := s.calls("signon")
		c := s.newClient(t, client.Config{Address: s.URL, Username: "alice", Password: testPassword, RefreshToken: saved.RefreshToken})
		if got := s.calls("signon") - signons; got != 1 {
			t.Errorf("sign-ins = %d, want 1", got)
		}
		if c.Tokens().RefreshToken == saved.RefreshToken {
			t.Error("still holds the revoked refresh token")
		}
	})

	t.Run("revoked refresh token alone: ErrReauthenticate", func(t *testing.T) {
		_, err := client.New(context.Background(), client.Config{Address: s.URL, RefreshToken: saved.RefreshToken})
		if !errors.Is(err, client.ErrReauthenticate) {
			t.Errorf("New error = %v, want ErrReauthenticate", err)
		}
	})
}

func TestNewErrors(t *testing.T) {
	s := newTestServer(t, time.Minute)
	// A port that was listening and is now closed: nothing answers.
	dead := newDeadAddress(t)
	tests := []struct {
		name string
		cfg  client.Config
		is   error
		msg  string
	}{
		{"wrong password", client.Config{Address: s.URL, Username: "alice", Password: "nope"}, client.ErrInvalidCredentials, "invalid credentials"},
		{"unknown user", client.Config{Address: s.URL, Username: "mallory", Password: "x"}, client.ErrInvalidCredentials, "invalid credentials"},
		{"refresh required but not enabled", client.Config{Address: s.URL, Username: "bob", Password: testPassword, RequireRefreshToken: true}, client.ErrRefreshNotEnabled, "refresh is not enabled"},
		{"garbage refresh token", client.Config{Address: s.URL, RefreshToken: "not-a-token"}, client.ErrReauthenticate, "sign-in required"},
		{"unreachable", client.Config{Address: dead, Username: "alice", Password: testPassword}, nil, "server unreachable"},
		{"unknown client", client.Config{Address: s.URL, Username: "alice", Password: testPassword, ClientID: "nobody"}, nil, "invalid_client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.New(context.Background(), tc.cfg)
			if err == nil {
				t.Fatal("New succeeded")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if tc.is == nil {
				var se *client.ServerError
				if !errors.As(err, &se) {
					t.Errorf("error %v (%T) is not a *ServerError", err, err)
				}
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("message %q does not say %q", err, tc.msg)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Error("the error shows the password")
			}
		})
	}
	t.Run("config", func(t *testing.T) {
		for _, cfg := range []client.Config{
			{},
			{Address: "127.0.0.1:8080", Username: "a", Password: "b"},
			{Address: s.URL},
			{Address: s.URL, Username: "a"},
			{Address: s.URL, Dialect: client.DialectSyncGateway, Username: "a", Password: "b"},
			{Address: s.URL, Dialect: "soap", Username: "a", Password: "b"},
		} {
			if _, err := client.New(context.Background(), cfg); err == nil {
				t.Errorf("New(%+v) succeeded", cfg)
			}
		}
	})
}

func newDeadAddress(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

// A login that is not refresh-enabled keeps working: the client signs in
// again with its credentials when the access token is due.
func TestNoRefreshTokenSignsInAgain(t *testing.T) {
	s := newTestServer(t, time.Minute)
	c := s.newClient(t, client.Config{Address: s.URL, Username: "bob", Password: testPassword})
	if c.Tokens().RefreshToken != "" {
		t.Fatal("bob is not refresh-enabled but got a refresh token")
	}
	if _, err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sub, err := get(c, s.URL+"/upstream/data"); err != nil || sub != "bob" {
		t.Fatalf("call: %q, %v", sub, err)
	}
	if got, want := s.calls("signon"), 2; got != want {
		t.Errorf("sign-ins = %d, want %d", got, want)
	}
	if got := s.calls("refresh"); got != 0 {
		t.Errorf("refreshes = %d, want 0", got)
	}
}

// A request refused with 401 is sent again with a new token only when its
// body can be replayed.
func TestRetryAfter401(t *testing.T) {
	s := newTestServer(t, time.Minute)
	c := s.newClient(t, client.Config{Address: s.URL, Username: "alice", Password: testPassword})

	t.Run("replayable body", func(t *testing.T) {
		s.revoke(c.Tokens().AccessToken)
		req, _ := c.NewRequest(context.Background(), http.MethodPost, "/upstream/data", strings.NewReader(`{"n":1}`))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d after retry", resp.StatusCode)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.bodies) != 1 || s.bodies[0] != `{"n":1}` {
			t.Errorf("upstream bodies = %q", s.bodies)
		}
	})

	t.Run("body that cannot be replayed", func(t *testing.T) {
		s.revoke(c.Tokens().AccessToken)
		signons := s.calls("signon")
		req, _ := c.NewRequest(context.Background(), http.MethodPost, "/upstream/data", io.NopCloser(strings.NewReader(`{"n":2}`)))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "invalid_token") {
			t.Errorf("got %d %s, want the upstream's 401 with its body", resp.StatusCode, body)
		}
		if s.calls("signon") != signons {
			t.Error("the client renewed tokens without a request to retry")
		}
	})
}

func TestUserID(t *testing.T) {
	s := newTestServer(t, time.Minute)
	c := s.newClient(t, client.Config{Address: s.URL, Username: "alice", Password: testPassword})
	_, err := get(c, s.URL+"/upstream/sumo")
	if !errors.Is(err, client.ErrUserIDRequired) {
		t.Fatalf("error = %v, want ErrUserIDRequired", err)
	}
	if s.calls("refresh")+s.calls("signon") != 1 {
		t.Error("the WSAUTH answer made the client renew its token")
	}
	c = s.newClient(t, client.Config{Address: s.URL, Username: "alice", Password: testPassword, UserID: "MU00000000-0000-0000-0000-000000000000"})
	resp, err := c.HTTPClient().Get(s.URL + "/upstream/sumo")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	json.NewDecoder(resp.Body).Decode(&out)
	if out["userid"] != "MU00000000-0000-0000-0000-000000000000" {
		t.Errorf("upstream got UserID %q", out["userid"])
	}
}

func TestTokenSource(t *testing.T) {
	s := newTestServer(t, time.Minute)
	c := s.newClient(t, client.Config{Address: s.URL, Username: "alice", Password: testPassword})
	hc := oauth2.NewClient(context.Background(), c.TokenSource())
	resp, err := hc.Get(s.URL + "/upstream/data")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	tok, err := c.TokenSource().Token()
	if err != nil || tok.AccessToken != c.Tokens().AccessToken || tok.Expiry.IsZero() || !tok.Valid() {
		t.Errorf("Token() = %+v, %v", tok, err)
	}
}

// A redirect to another host must not carry the token.
func TestRedirectToOtherHostGetsNoToken(t *testing.T) {
	s := newTestServer(t, time.Minute)
	var got atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Authorization") + "|" + r.Header.Get("UserID"))
	}))
	defer other.Close()
	redirect := httptest.NewServer(http.RedirectHandler(other.URL+"/landing", http.StatusFound))
	defer redirect.Close()
	c := s.newClient(t, client.Config{Address: s.URL, Username: "alice", Password: testPassword, UserID: "MU00000000-0000-0000-0000-000000000000"})
	resp, err := c.HTTPClient().Get(redirect.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if v, _ := got.Load().(string); v != "|" {
		t.Errorf("the other host received %q", v)
	}
}

// Config.Now is the client's clock: a token is due when that clock says
// so, not the wall clock. Before the renewal time no call is made; after
// it, one refresh; the expiry it reports is on the same clock.
func TestConfigNow(t *testing.T) {
	s := newTestServer(t, time.Minute)
	c := s.newClient(t, client.Config{Address: s.URL, Username: "alice", Password: testPassword})
	first := c.Tokens()
	// A minute's token, received now: valid to 59 s (a second short, as
	// iat is rounded), renewed 6 s (10%) before that.
	if want := s.clock.Now().Add(59 * time.Second); !first.Expiry.Equal(want) {
		t.Errorf("Expiry = %v, want %v (by the configured clock)", first.Expiry, want)
	}
	ctx := context.Background()
	s.clock.Advance(52 * time.Second)
	if tok, err := c.Token(ctx); err != nil || tok != first.AccessToken || s.calls("refresh") != 0 {
		t.Fatalf("52 s in: token changed %v, err %v, %d refreshes; want the first token and none", tok != first.AccessToken, err, s.calls("refresh"))
	}
	s.clock.Advance(2 * time.Second)
	tok, err := c.Token(ctx)
	if err != nil || tok == first.AccessToken || s.calls("refresh") != 1 {
		t.Fatalf("54 s in: token changed %v, err %v, %d refreshes; want a new token from one refresh", tok != first.AccessToken, err, s.calls("refresh"))
	}
	if want := s.clock.Now().Add(59 * time.Second); !c.Tokens().Expiry.Equal(want) {
		t.Errorf("renewed Expiry = %v, want %v", c.Tokens().Expiry, want)
	}
}
