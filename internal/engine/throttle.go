package engine

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

// ErrThrottled: too many failed sign-ons from this address or for this
// account; the caller must wait before the gateway checks a password
// again (RFC 6749 §4.3.2). Its *Error carries the wait: RetryAfter(err).
var ErrThrottled = errors.New("too many failed sign-ons, try again later")

// throttledError is ErrThrottled for an attempt that must wait.
func throttledError(wait time.Duration) *Error {
	return &Error{Kind: ErrThrottled, RetryAfter: wait,
		Public: fmt.Sprintf("too many failed sign-ons, try again in %d seconds", retrySeconds(wait))}
}

// ThrottleRule is the delay rule for one kind of key (an account, a client
// address): the first Free failures of a run cost nothing; after that each
// attempt must wait BaseDelay from the run's last failure, doubled for
// every failure past Free, at most MaxDelay. A run ends Forget after its
// last failure. The wait is enforced by refusing attempts that come
// early, never by holding a request.
type ThrottleRule struct {
	Free      int
	BaseDelay time.Duration
	MaxDelay  time.Duration
	Forget    time.Duration
}

// active reports whether rec is a run of failures that has not ended.
func (r ThrottleRule) active(rec store.FailureRecord, now time.Time) bool {
	return rec.Count > 0 && now.Sub(rec.Last) < r.Forget
}

// delay is the wait after the count-th failure of a run.
func (r ThrottleRule) delay(count int) time.Duration {
	past := count - r.Free
	if past < 0 {
		return 0
	}
	d := r.BaseDelay
	for ; past > 0 && d < r.MaxDelay; past-- {
		d *= 2
	}
	return min(d, r.MaxDelay)
}

// wait returns how long after now an attempt under rec must wait (0: it
// may go ahead).
func (r ThrottleRule) wait(rec store.FailureRecord, now time.Time) time.Duration {
	if !r.active(rec, now) || rec.Count < r.Free {
		// Within its free failures a run costs nothing, even when its
		// last failure is in the future (another node's clock ahead).
		return 0
	}
	return max(0, rec.Last.Add(r.delay(rec.Count)).Sub(now))
}

// ThrottlePolicy throttles password sign-on per account and per client
// address; docs/SECURITY.md says what each protects against.
type ThrottlePolicy struct {
	// Account throttles guessing of one account from anywhere. Its delay
	// stays short (its owner may be the one kept waiting), and it binds
	// only addresses with failures of their own.
	Account ThrottleRule
	// Address throttles one client address, across every account it
	// tries; far harsher.
	Address ThrottleRule
}

// DefaultThrottle is the throttle policy tokengate runs with unless
// configured otherwise: an account's delay is at most 30 s, so its owner
// signs on within a minute of the last guess even from an address that
// failed before; one address reaches a quarter of an hour per attempt
// after 20 failures.
var DefaultThrottle = ThrottlePolicy{
	Account: ThrottleRule{Free: 5, BaseDelay: time.Second, MaxDelay: 30 * time.Second, Forget: time.Hour},
	Address: ThrottleRule{Free: 10, BaseDelay: time.Second, MaxDelay: 15 * time.Minute, Forget: 24 * time.Hour},
}

// failures is what the store knows of one sign-on attempt's keys.
type failures struct {
	account, address store.FailureRecord
	// anonymous: the attempt has no client address (an in-process
	// caller); the account's delay then binds it as if its address had
	// failed before.
	anonymous bool
}

// throttleWait decides whether an attempt may go ahead: 0, or how long it
// must wait. It is the whole rule; the sign-on only loads its inputs.
//
// The account's delay binds only an address with an active run of
// failures of its own: a correct password from an address that never
// failed is not held up by guessing elsewhere, so no one can lock an
// owner out from their usual address. That leaves a guesser one attempt
// on the account per fresh address before the account's delay binds it,
// which the address's harsher rule and its long memory bound.
func throttleWait(p ThrottlePolicy, f failures, now time.Time) time.Duration {
	wait := p.Address.wait(f.address, now)
	if f.anonymous || p.Address.active(f.address, now) {
		wait = max(wait, p.Account.wait(f.account, now))
	}
	return wait
}

// accountKey names the failure record of a user name in a tenant. Only
// valid user names get one (at most 128 bytes), whether or not a user of
// that name exists, so that throttling tells nothing of which names do.
func accountKey(tenantID, name string) string { return "account:" + tenantID + ":" + name }

// addressKey names the failure record of a client address: an IPv4
// address, or the /64 prefix of an IPv6 one (what one subscriber gets, so
// that a host can't make itself 2^64 fresh addresses). "" for no address.
func addressKey(remote string) string {
	if remote == "" {
		return ""
	}
	a, err := netip.ParseAddr(remote)
	if err != nil {
		// Not an IP (a Unix socket, a test's transport): keep it, bounded.
		if len(remote) > 64 {
			remote = remote[:64]
		}
		return "address:" + remote
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "address:" + p.String()
	}
	return "address:" + a.String()
}
