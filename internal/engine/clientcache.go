package engine

import (
	"time"

	"github.com/tokengate/tokengate/internal/ttlcache"
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
	c *ttlcache.Cache[string, clientEntry]
}

type clientEntry struct {
	c    AuthenticatedClient
	read time.Time
}

func newClientCache() *clientCache {
	return &clientCache{c: ttlcache.New[string, clientEntry](clientCacheSize)}
}

func (cc *clientCache) get(id string, now time.Time) (AuthenticatedClient, bool) {
	e, ok := cc.c.Get(id, now)
	if !ok || now.Before(e.read) { // a clock that went back: read again
		return AuthenticatedClient{}, false
	}
	return e.c, true
}

func (cc *clientCache) put(c AuthenticatedClient, now time.Time) {
	cc.c.Put(c.ID, clientEntry{c: c, read: now}, now.Add(clientCacheMaxAge), now)
}

func (cc *clientCache) forget(id string) { cc.c.Delete(id) }
