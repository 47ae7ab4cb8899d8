package engine

import (
	"context"
	"errors"
	"time"

	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/ttlcache"
)

// clientCacheMaxAge bounds how long AuthenticateClient (and clientUsable)
// may accept a client on a stored record read earlier: disabling a client,
// removing it, rotating its secret or changing its grant types by another
// process sharing the store (another node, the CLI) takes effect within
// this time. Through this engine it takes effect at once: every change
// forgets the record. A presented secret that does not match the cached
// record is always checked against the store again, so a new secret works
// at once everywhere.
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

// clientUsable reports, from the remembered record when there is one,
// whether the tokens of client id may be used: ErrTokenRevoked while the
// client is disabled or gone. A token issued to no client (id "": the
// sessions of Core and AGS sign-ons) has none to check.
func (e *Engine) clientUsable(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	_, err := e.clientRecord(ctx, id)
	return err
}

// clientRecord returns the record of client id, remembered or read, when
// its tokens may be used, and ErrTokenRevoked while it is disabled or gone.
func (e *Engine) clientRecord(ctx context.Context, id string) (AuthenticatedClient, error) {
	now := time.Now()
	c, ok := e.clients.get(id, now)
	if !ok {
		sc, err := e.st.GetClient(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return AuthenticatedClient{}, refused(ErrTokenRevoked, "the client it was issued to no longer exists")
		} else if err != nil {
			return AuthenticatedClient{}, err
		}
		t, err := e.st.GetTenant(ctx, sc.TenantID)
		if err != nil {
			return AuthenticatedClient{}, err
		}
		c = AuthenticatedClient{Client: sc, Tenant: t.Name}
		e.clients.put(c, now)
	}
	if c.Disabled {
		return AuthenticatedClient{}, refused(ErrTokenRevoked, "the client it was issued to is disabled")
	}
	return c, nil
}
