// Package fakeclock is the one settable clock of tokengate's tests. The
// engine, the key ring, the proxy and the node take the time from a
// func() time.Time (app.Options.Now and friends); a test hands them
// Clock.Now and moves time with Advance, so that expiry, grace windows and
// revocation bounds take no wall time.
package fakeclock

import (
	"sync"
	"time"
)

// Clock is a clock that moves only when told to. It is safe for
// concurrent use: handlers read it while the test advances it.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock standing at start.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (back, for a negative d).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
