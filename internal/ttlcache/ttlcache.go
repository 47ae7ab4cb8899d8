// Package ttlcache is a bounded, concurrency-safe map whose entries expire
// at a time of the caller's clock: the one cache shape the gateway's hot
// paths share (the proxy's verified tokens and memberships, the engine's
// verified access tokens and client records).
package ttlcache

import (
	"sync"
	"time"
)

// Cache maps keys to values until each entry's expiry. When full, Put first
// drops expired entries, then arbitrary ones (Go's map order), so a caller
// presenting ever new keys can't grow it and a busy node keeps working with
// a lower hit rate rather than more memory.
type Cache[K comparable, V any] struct {
	mu  sync.Mutex
	max int
	m   map[K]entry[V]
}

type entry[V any] struct {
	v     V
	until time.Time
}

// New returns a cache of at most max entries.
func New[K comparable, V any](max int) *Cache[K, V] {
	return &Cache[K, V]{max: max, m: make(map[K]entry[V])}
}

// Get returns the value of key if it has not expired at now.
func (c *Cache[K, V]) Get(key K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		var zero V
		return zero, false
	}
	if !now.Before(e.until) {
		delete(c.m, key)
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put stores v under key until the given time; an entry already expired at
// now is not stored.
func (c *Cache[K, V]) Put(key K, v V, until, now time.Time) {
	if !now.Before(until) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
		for k, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < c.max {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = entry[V]{v: v, until: until}
}

// Delete drops key.
func (c *Cache[K, V]) Delete(key K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

// Clear drops every entry.
func (c *Cache[K, V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

// Len returns the number of entries, expired ones included.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
