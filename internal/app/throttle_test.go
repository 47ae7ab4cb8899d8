package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/app/apptest"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store/postgres/pgtest"
)

// passwordDialect is one surface that signs on with a user name and a
// password, and how it shapes a refusal for too many failures.
type passwordDialect struct {
	name string
	// signOn sends one password sign-on.
	signOn func(t *testing.T, s *apptest.Server, user, password string) apptest.Response
	// refused is the dialect's status for a wrong password.
	refused int
	// throttledShape checks the body of a 429 in the dialect's own shape.
	throttledShape func(t *testing.T, body map[string]any)
}

var passwordDialects = []passwordDialect{
	{
		name: "oauth2",
		signOn: func(t *testing.T, s *apptest.Server, user, password string) apptest.Response {
			form := url.Values{"grant_type": {"password"}, "client_id": {"tokengate"}, "username": {user}, "password": {password}}
			return s.Do(t, "POST", "/oauth2/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, form.Encode())
		},
		refused: http.StatusBadRequest,
		throttledShape: func(t *testing.T, body map[string]any) {
			// RFC 6749 §5.2's shape; the code a client retries on.
			if body["error"] != "temporarily_unavailable" || body["error_description"] == "" {
				t.Fatalf("oauth2 429 body %v", body)
			}
		},
	},
	{
		name: "core",
		signOn: func(t *testing.T, s *apptest.Server, user, password string) apptest.Response {
			b, _ := json.Marshal(map[string]string{"username": user, "password": password})
			return s.Do(t, "POST", "/api/login", nil, string(b))
		},
		refused: http.StatusUnauthorized,
		throttledShape: func(t *testing.T, body map[string]any) {
			if body["code"] != float64(429) || body["message"] != "Too Many Requests" || len(body["details"].([]any)) != 1 {
				t.Fatalf("core 429 body %v", body)
			}
		},
	},
	{
		name: "ags",
		signOn: func(t *testing.T, s *apptest.Server, user, password string) apptest.Response {
			b, _ := json.Marshal(map[string]any{"parameters": []map[string]string{{"name": "username", "value": user}, {"name": "password", "value": password}}})
			return s.Do(t, "POST", "/ags/signOn", map[string]string{"x-auth-service-id": "password"}, string(b))
		},
		refused: http.StatusUnauthorized,
		throttledShape: func(t *testing.T, body map[string]any) {
			if body["status"] != float64(429) || body["error"] != "Too Many Requests" || body["message"] == "" || body["correlationId"] == "" {
				t.Fatalf("ags 429 body %v", body)
			}
		},
	},
}

// retryAfter returns the Retry-After of a 429 in whole seconds, failing
// the test unless the response is one in the dialect's shape.
func (d passwordDialect) retryAfter(t *testing.T, r apptest.Response) time.Duration {
	t.Helper()
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("%s: status %d, want 429: %s", d.name, r.Status, r.Body)
	}
	n, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || n < 1 {
		t.Fatalf("%s: Retry-After %q, want a positive number of seconds", d.name, r.Header.Get("Retry-After"))
	}
	d.throttledShape(t, r.JSON(t))
	if strings.Contains(string(r.Body), "victim") {
		t.Fatalf("%s: the refusal names the account: %s", d.name, r.Body)
	}
	return time.Duration(n) * time.Second
}

// TestPasswordGuessingThrottled is RFC 6749 §4.3.2's "MUST protect the
// endpoint against brute force attacks", in every password dialect: one
// address guessing one account meets a growing delay, enforced by refusal
// (429 with Retry-After) and never by holding the request; the owner is
// not locked out by it; another account is not slowed by it.
func TestPasswordGuessingThrottled(t *testing.T) {
	for _, d := range passwordDialects {
		t.Run(d.name, func(t *testing.T) {
			s := apptest.New(t, nil)
			s.User(t, "", "victim", "victim-password", true)
			s.User(t, "", "bystander", "bystander-password", true)
			owner, attacker := s.From("127.0.0.4"), s.From("127.0.0.2")

			// The owner mistypes once before the attack: their address
			// has a failure of its own.
			if r := d.signOn(t, owner, "victim", "victim-passwort"); r.Status != d.refused {
				t.Fatalf("owner's typo: %d %s", r.Status, r.Body)
			}

			// The attacker guesses as fast as the gateway lets it; every
			// refusal says how long to wait, and the test's clock waits
			// exactly that long. The waits grow: first the account's,
			// capped short, then the address's, far longer.
			var waits []time.Duration
			failures := 0
			for len(waits) < 20 {
				r := d.signOn(t, attacker, "victim", fmt.Sprintf("guess-%d", failures))
				if r.Status == d.refused {
					failures++
					if failures > 40 {
						t.Fatalf("%d wrong passwords in a row, none refused with 429", failures)
					}
					continue
				}
				wait := d.retryAfter(t, r)
				// Refused early, not answered: even the right password is
				// refused while the wait lasts, and costs no failure.
				if r := d.signOn(t, attacker, "victim", "victim-password"); r.Status != http.StatusTooManyRequests {
					t.Fatalf("right password during the wait: %d %s", r.Status, r.Body)
				}
				waits = append(waits, wait)
				s.Clock.Advance(wait)
			}
			for i := 1; i < len(waits); i++ {
				if waits[i] < waits[i-1] {
					t.Fatalf("the delay shrank while guessing went on: %v", waits)
				}
			}
			if waits[0] > 5*time.Second || waits[len(waits)-1] < 10*time.Minute {
				t.Fatalf("delays %v: want a short first delay growing past 10 minutes for one guessing address", waits)
			}
			// One last guess, and the guessing stops.
			if r := d.signOn(t, attacker, "victim", "last-guess"); r.Status != d.refused {
				t.Fatalf("last guess: %d %s", r.Status, r.Body)
			}
			if r := d.signOn(t, attacker, "victim", "victim-password"); r.Status != http.StatusTooManyRequests {
				t.Fatalf("the guessing address got in: %d %s", r.Status, r.Body)
			}

			// The owner signs on at once from an address without failures,
			// whatever others did.
			if r := d.signOn(t, s.From("127.0.0.3"), "victim", "victim-password"); r.Status != http.StatusOK {
				t.Fatalf("owner from a clean address: %d %s", r.Status, r.Body)
			}
			// The guessing address starts again on the account.
			if r := d.signOn(t, attacker, "victim", "more-guesses"); r.Status != http.StatusTooManyRequests {
				t.Fatalf("the guessing address is still throttled: %d %s", r.Status, r.Body)
			}

			// From an address with a failure of its own, the account's
			// delay applies; it is over within a minute of the last guess.
			if r := d.signOn(t, owner, "victim", "victim-password"); r.Status != http.StatusOK {
				t.Fatalf("owner after a sign-on from elsewhere: %d %s", r.Status, r.Body)
			}
			for i := range 8 { // guesses from many addresses, one each
				if r := d.signOn(t, s.From(fmt.Sprintf("127.0.1.%d", i+1)), "victim", "spread-guess"); r.Status != d.refused && r.Status != http.StatusTooManyRequests {
					t.Fatalf("spread guess: %d %s", r.Status, r.Body)
				}
			}
			r := d.signOn(t, owner, "victim", "victim-password")
			if r.Status == http.StatusTooManyRequests {
				if wait := d.retryAfter(t, r); wait > time.Minute {
					t.Fatalf("owner from an address with one typo must wait %v", wait)
				}
				s.Clock.Advance(time.Minute)
				r = d.signOn(t, owner, "victim", "victim-password")
			}
			if r.Status != http.StatusOK {
				t.Fatalf("owner a minute after the guessing stopped: %d %s", r.Status, r.Body)
			}

			// Another account is not slowed by the attack on this one.
			other := s.From("127.0.0.5")
			if r := d.signOn(t, other, "bystander", "wrong-password"); r.Status != d.refused {
				t.Fatalf("bystander's wrong password: %d %s", r.Status, r.Body)
			}
			if r := d.signOn(t, other, "bystander", "bystander-password"); r.Status != http.StatusOK {
				t.Fatalf("bystander: %d %s", r.Status, r.Body)
			}

			// The failures are counted by dialect and reason, never by
			// user name.
			metrics := scrape(t, s)
			for _, want := range []string{
				`tokengate_signon_failures_total{dialect="` + d.name + `",reason="wrong_password"}`,
				`tokengate_signon_failures_total{dialect="` + d.name + `",reason="throttled"}`,
			} {
				if !strings.Contains(metrics, want) {
					t.Errorf("metrics lack %s", want)
				}
			}
			if strings.Contains(metrics, "victim") || strings.Contains(metrics, "bystander") {
				t.Error("a user name is in the metrics")
			}
		})
	}
}

// TestPasswordSprayingThrottledByAddress: one address trying one password
// on many accounts (each seeing a single failure) is refused by the
// address's own count, and only that address is.
func TestPasswordSprayingThrottledByAddress(t *testing.T) {
	d := passwordDialects[0]
	s := apptest.New(t, nil)
	for i := range 3 {
		s.User(t, "", fmt.Sprintf("user%d", i), "right-password", true)
	}
	sprayer := s.From("127.0.0.2")
	refused := 0
	for i := range 40 {
		r := d.signOn(t, sprayer, fmt.Sprintf("user%d", i), "Summer2025!")
		if r.Status == http.StatusTooManyRequests {
			d.retryAfter(t, r)
			refused = i
			break
		}
		if r.Status != d.refused {
			t.Fatalf("spray %d: %d %s", i, r.Status, r.Body)
		}
	}
	if refused == 0 {
		t.Fatal("40 accounts sprayed from one address, none refused with 429")
	}
	if r := d.signOn(t, sprayer, "user0", "right-password"); r.Status != http.StatusTooManyRequests {
		t.Fatalf("the spraying address signed on: %d %s", r.Status, r.Body)
	}
	for i := range 3 {
		if r := d.signOn(t, s.From("127.0.0.3"), fmt.Sprintf("user%d", i), "right-password"); r.Status != http.StatusOK {
			t.Fatalf("user%d from another address: %d %s", i, r.Status, r.Body)
		}
	}
}

// TestThrottleHoldsAcrossNodes: two nodes on one store share the counts, so
// guessing spread over both meets the delay as soon as on one. On both
// backends: a shared SQLite file, a shared PostgreSQL database.
func TestThrottleHoldsAcrossNodes(t *testing.T) {
	d := passwordDialects[0]
	alone := guessesBeforeRefusal(t, d, []*apptest.Server{apptest.New(t, nil)})
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir() // one master key for both nodes
			url := ""
			if backend == "postgres" {
				url = pgtest.URL(t)
			}
			shared := func(c *config.Config) { c.DataDir, c.Database.URL = dir, url }
			a, b := apptest.New(t, shared), apptest.New(t, shared)
			b.Clock.Advance(a.Clock.Now().Sub(b.Clock.Now())) // the nodes' clocks agree
			if got := guessesBeforeRefusal(t, d, []*apptest.Server{a, b}); got != alone {
				t.Fatalf("two nodes let %d guesses through before refusing, one node %d", got, alone)
			}
		})
	}
}

// guessesBeforeRefusal creates victim on the first node and guesses its
// password from one address, over the nodes in turn, until one answers
// 429; it returns the number of wrong passwords answered before.
func guessesBeforeRefusal(t *testing.T, d passwordDialect, nodes []*apptest.Server) int {
	t.Helper()
	if _, err := nodes[0].App.Engine.CreateUser(context.Background(), engine.NewUser{Name: "victim", Password: "victim-password"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		r := d.signOn(t, nodes[i%len(nodes)].From("127.0.0.2"), "victim", fmt.Sprintf("guess-%d", i))
		if r.Status == http.StatusTooManyRequests {
			d.retryAfter(t, r)
			return i
		}
		if r.Status != d.refused || i > 20 {
			t.Fatalf("guess %d: %d %s", i, r.Status, r.Body)
		}
	}
}

// TestThrottleBehindTrustedProxy: behind a proxy of proxy.trusted_proxies
// the throttle counts the client its X-Forwarded-For names, so one
// guessing client does not lock out everyone behind the proxy; a peer that
// is not a trusted proxy can't name itself a fresh address that way.
func TestThrottleBehindTrustedProxy(t *testing.T) {
	d := passwordDialects[1] // Core: JSON, headers of its own
	s := apptest.New(t, func(c *config.Config) { c.Proxy.TrustedProxies = []string{"127.0.0.1/32"} })
	s.User(t, "", "victim", "victim-password", true)
	via := func(from, client string) *apptest.Server {
		c := s.From(from)
		tr := c.Client.Transport.(*http.Transport)
		c.Client = &http.Client{Transport: headerTransport{tr, client}}
		return c
	}
	proxy := "127.0.0.1"
	guesses := 0
	for {
		r := d.signOn(t, via(proxy, "198.51.100.7"), "victim", fmt.Sprint("guess-", guesses))
		if r.Status == http.StatusTooManyRequests {
			break
		}
		if guesses++; guesses > 40 {
			t.Fatal("no 429 for a client guessing behind the proxy")
		}
	}
	// Another client behind the same proxy, with no failures: in.
	if r := d.signOn(t, via(proxy, "198.51.100.8"), "victim", "victim-password"); r.Status != http.StatusOK {
		t.Fatalf("another client behind the proxy: %d %s", r.Status, r.Body)
	}
	// An untrusted peer naming a fresh address is counted as itself.
	spoofer := "127.0.0.9"
	for i := range 20 {
		r := d.signOn(t, via(spoofer, fmt.Sprintf("203.0.113.%d", i)), "victim", "spoofed-guess")
		if r.Status == http.StatusTooManyRequests {
			return
		}
	}
	t.Fatal("an untrusted peer escaped the throttle by naming fresh addresses in X-Forwarded-For")
}

// headerTransport adds X-Forwarded-For: client to every request.
type headerTransport struct {
	rt     http.RoundTripper
	client string
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", h.client)
	return h.rt.RoundTrip(r)
}

// scrape returns the node's /metrics.
func scrape(t *testing.T, s *apptest.Server) string {
	t.Helper()
	return string(s.Raw(t, "GET", "/metrics", nil).Body)
}
