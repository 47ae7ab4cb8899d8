package proxy

import (
	"sync"
	"time"
)

// cache is a bounded map whose entries expire at a time of the injected
// clock. When full, it first drops expired entries, then arbitrary ones
// (Go's map order), so an attacker can't grow it and a busy node keeps
// working with a lower hit rate rather than more memory.
type cache[V any] struct {
	mu  sync.Mutex
	max int
	m   map[string]cacheEntry[V]
}

type cacheEntry[V any] struct {
	v     V
	until time.Time
}

func newCache[V any](max int) *cache[V] {
	return &cache[V]{max: max, m: make(map[string]cacheEntry[V])}
}

// get returns the value of key if it has not expired at now.
func (c *cache[V]) get(key string, now time.Time) (V, bool) {
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

// put stores v under key until the given time.
func (c *cache[V]) put(key string, v V, until, now time.Time) {
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
	c.m[key] = cacheEntry[V]{v: v, until: until}
}

func (c *cache[V]) delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

func (c *cache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
