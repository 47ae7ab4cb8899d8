package engine

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

// TestThrottleWait is the throttle's rule as a table: (failure records,
// now) → wait.
func TestThrottleWait(t *testing.T) {
	p := DefaultThrottle
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	run := func(count int, last time.Duration) store.FailureRecord {
		return store.FailureRecord{Count: count, First: now.Add(-time.Hour), Last: now.Add(-last)}
	}
	none := store.FailureRecord{}
	dirty := run(1, time.Minute) // an address that failed once, a minute ago
	for _, tc := range []struct {
		name string
		f    failures
		want time.Duration
	}{
		{"nothing known", failures{}, 0},
		{"account within its free failures", failures{account: run(4, 0), address: dirty}, 0},
		{"account at its free failures: the base delay", failures{account: run(5, 0), address: dirty}, time.Second},
		{"part of the delay gone", failures{account: run(5, 400*time.Millisecond), address: dirty}, 600 * time.Millisecond},
		{"the delay over", failures{account: run(5, time.Second), address: dirty}, 0},
		{"doubling", failures{account: run(8, 0), address: dirty}, 8 * time.Second},
		{"account capped short", failures{account: run(50, 0), address: dirty}, 30 * time.Second},
		{"account run ended", failures{account: run(50, time.Hour), address: dirty}, 0},
		{"clean address: the account's delay does not bind it", failures{account: run(50, 0), address: none}, 0},
		{"address run ended: clean again", failures{account: run(50, 0), address: run(3, 24*time.Hour)}, 0},
		{"no address: the account's delay binds", failures{account: run(50, 0), anonymous: true}, 30 * time.Second},
		{"address within its free failures", failures{address: run(9, 0)}, 0},
		{"address at its free failures", failures{address: run(10, 0)}, time.Second},
		{"address harsher than the account", failures{account: run(50, 0), address: run(17, 0)}, 128 * time.Second},
		{"address capped at a quarter of an hour", failures{address: run(1000, 0)}, 15 * time.Minute},
		{"address run ended", failures{address: run(1000, 24*time.Hour)}, 0},
		{"another node's clock ahead, within the free failures", failures{account: run(4, -2*time.Second), address: run(9, -2*time.Second)}, 0},
		{"another node's clock ahead, past them", failures{account: run(5, -2*time.Second), address: dirty}, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := throttleWait(p, tc.f, now); got != tc.want {
				t.Fatalf("throttleWait = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestThrottleDelayGrows: the delay never shrinks as failures mount, and
// never exceeds the cap, for any count.
func TestThrottleDelayGrows(t *testing.T) {
	for _, r := range []ThrottleRule{DefaultThrottle.Account, DefaultThrottle.Address, {Free: 0, BaseDelay: time.Nanosecond, MaxDelay: time.Hour, Forget: time.Hour}} {
		prev := time.Duration(0)
		for n := 0; n < 10000; n++ {
			d := r.delay(n)
			if d < prev || d > r.MaxDelay || (n >= r.Free && d < r.BaseDelay) {
				t.Fatalf("rule %+v: delay(%d) = %v after %v", r, n, d, prev)
			}
			prev = d
		}
	}
}

func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "",
		"192.0.2.7":               "address:192.0.2.7",
		"::ffff:192.0.2.7":        "address:192.0.2.7",
		"2001:db8:1:2:3:4:5:6":    "address:2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1":    "address:2001:db8:1:2::/64",
		"fe80::1%eth0":            "address:fe80::/64",
		"not an address":          "address:not an address",
		string(make([]byte, 100)): "address:" + string(make([]byte, 64)),
	} {
		if got := addressKey(in); got != want {
			t.Errorf("addressKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{throttledError(time.Millisecond), 1},
		{throttledError(time.Second), 1},
		{throttledError(1001 * time.Millisecond), 2},
		{fmt.Errorf("wrapped: %w", throttledError(30*time.Second)), 30},
		{&Error{Kind: ErrBusy, Public: "busy", RetryAfter: 5 * time.Second}, 5},
		{&Error{Kind: ErrBusy}, 0},
		{ErrThrottled, 0},
		{ErrInvalidCredentials, 0},
	} {
		if got := RetryAfter(tc.err); got != tc.want {
			t.Errorf("RetryAfter(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	err := throttledError(30 * time.Second)
	if !errors.Is(err, ErrThrottled) || PublicText(err) != "too many failed sign-ons, try again in 30 seconds" {
		t.Fatalf("throttled error %v: %q", err, PublicText(err))
	}
}

// TestBoundAudit: whatever a caller puts in an event, what is stored is
// at most a few kilobytes, cut at character boundaries.
func TestBoundAudit(t *testing.T) {
	huge := string(make([]byte, 60<<10))
	detail := map[string]string{}
	for i := range 100 {
		detail[fmt.Sprintf("key-%03d-%s", i, huge)] = huge
	}
	ev := boundAudit(store.AuditEvent{Type: huge, TenantID: huge, UserID: huge, SessionID: huge, ClientID: huge,
		CorrelationID: huge, RemoteAddr: huge, Detail: detail})
	size := len(ev.Type) + len(ev.TenantID) + len(ev.UserID) + len(ev.SessionID) + len(ev.ClientID) + len(ev.CorrelationID) + len(ev.RemoteAddr)
	for k, v := range ev.Detail {
		size += len(k) + len(v)
	}
	if len(ev.Detail) != auditDetailKeys || ev.Detail["truncated"] != "85" || size > 8<<10 {
		t.Fatalf("bounded event: %d detail entries (truncated %q), %d bytes", len(ev.Detail), ev.Detail["truncated"], size)
	}
	if got := cut("aé", 2); got != "a" {
		t.Fatalf("cut inside a character: %q", got)
	}
	small := store.AuditEvent{Type: "signon", Detail: map[string]string{"service": "oauth2"}}
	if got := boundAudit(small); got.Type != "signon" || len(got.Detail) != 1 || got.Detail["service"] != "oauth2" {
		t.Fatalf("a small event changed: %+v", got)
	}
}

// TestAPITokenAllowed is the rule of who may create an API token.
func TestAPITokenAllowed(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	const window, leeway = 5 * time.Minute, 30 * time.Second
	pw := func(ago time.Duration) APITokenRequest {
		return APITokenRequest{Method: store.AuthPassword, AuthenticatedAt: now.Add(-ago)}
	}
	for _, tc := range []struct {
		name string
		req  APITokenRequest
		ok   bool
	}{
		{"password just now", pw(0), true},
		{"password at the window's end", pw(window), true},
		{"password past the window", pw(window + time.Millisecond), false},
		{"password in the future within leeway", pw(-leeway), true},
		{"password further in the future", pw(-leeway - time.Second), false},
		{"no time", APITokenRequest{Method: store.AuthPassword}, false},
		{"external sign-on", APITokenRequest{Method: store.AuthExternal, AuthenticatedAt: now}, false},
		{"unknown method", APITokenRequest{AuthenticatedAt: now}, false},
		{"from an API token, even fresh", APITokenRequest{Method: store.AuthPassword, AuthenticatedAt: now, FromAPIToken: true}, false},
		{"an administrator offline", APITokenRequest{ByAdministrator: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := apiTokenAllowed(tc.req, now, window, leeway)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrReauthenticationRequired)) {
				t.Fatalf("apiTokenAllowed = %v, want ok %v", err, tc.ok)
			}
		})
	}
}
