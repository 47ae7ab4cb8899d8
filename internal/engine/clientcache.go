package engine

import (
	"sync"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

// clientCacheMaxAge bounds how long AuthenticateClient may accept a client
// on a stored record read earlier: disabling a client, deleting it or
// changing its grant types (by any process sharing the store) takes effect
// within this time. A presented secret that does not match the cached
// record is always checked against the store again, so a new secret works
// at once.
const clientCacheMaxAge = 2 * time.Second

// clientCacheSize bounds the number of remembered clients; unknown client
// ids are never remembered, so the cache can't be grown from outside.
const clientCacheSize = 1024

// clientCache remembers client records for AuthenticateClient, which every
// token request of a confidential or public client calls: without it a
// refresh spends about a tenth of its CPU reading the client back.
type clientCache struct {
	mu sync.Mutex
	m  map[string]clientEntry
}

type clientEntry struct {
	c    store.Client
	read time.Time
}

func newClientCache() *clientCache { return &clientCache{m: make(map[string]clientEntry)} }

func (cc *clientCache) get(id string, now time.Time) (store.Client, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	e, ok := cc.m[id]
	if !ok {
		return store.Client{}, false
	}
	if age := now.Sub(e.read); age < 0 || age >= clientCacheMaxAge {
		delete(cc.m, id)
		return store.Client{}, false
	}
	return e.c, true
}

func (cc *clientCache) put(c store.Client, now time.Time) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if _, ok := cc.m[c.ID]; !ok && len(cc.m) >= clientCacheSize {
		for id, e := range cc.m {
			if now.Sub(e.read) >= clientCacheMaxAge || len(cc.m) >= clientCacheSize {
				delete(cc.m, id)
			}
		}
	}
	cc.m[c.ID] = clientEntry{c: c, read: now}
}

func (cc *clientCache) forget(id string) {
	cc.mu.Lock()
	delete(cc.m, id)
	cc.mu.Unlock()
}
