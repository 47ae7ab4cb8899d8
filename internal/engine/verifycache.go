package engine

import (
	"crypto/sha256"
	"time"

	"github.com/tokengate/tokengate/internal/token"
	"github.com/tokengate/tokengate/internal/ttlcache"
)

// verifiedMaxAge bounds how long a verified access token is remembered,
// whatever its exp. A hit also asks the ring whether the token's key is
// still trusted, so a revoked key's tokens stop at once on this node.
const verifiedMaxAge = 10 * time.Second

// verifiedCacheSize bounds the number of remembered tokens.
const verifiedCacheSize = 10000

// verifiedCache remembers access tokens whose signature and claims were
// verified, keyed by the SHA-256 of the whole token, so that a token
// presented again (a resource server introspecting the same bearer token
// on every call) is not verified again. Only the signature check is
// skipped: time claims are checked again at each use, and every caller
// still checks the session's state in the store. Refresh tokens are never
// cached. When full, expired entries go first, then arbitrary ones (Go's
// map order), so the cache can't be grown by presenting many tokens.
type verifiedCache struct {
	c *ttlcache.Cache[[sha256.Size]byte, *token.Claims]
}

func newVerifiedCache() *verifiedCache {
	return &verifiedCache{c: ttlcache.New[[sha256.Size]byte, *token.Claims](verifiedCacheSize)}
}

func (vc *verifiedCache) get(key [sha256.Size]byte, now time.Time) (*token.Claims, bool) {
	return vc.c.Get(key, now)
}

// put remembers c until its exp, at most verifiedMaxAge.
func (vc *verifiedCache) put(key [sha256.Size]byte, c *token.Claims, now time.Time) {
	vc.c.Put(key, c, minTime(now.Add(verifiedMaxAge), time.Unix(c.Expiry, 0)), now)
}

// parseSeen is parse for tokens that may be presented many times: an
// access token whose exact bytes were verified within verifiedMaxAge is
// taken from the cache, its time claims checked again. use is as for
// parse ("" accepts both kinds; refresh tokens are always verified).
func (e *Engine) parseSeen(tok, use string) (*token.Claims, error) {
	if use == token.UseRefresh || e.verified == nil {
		return e.parse(tok, use)
	}
	key := sha256.Sum256([]byte(tok))
	now := e.now()
	if c, ok := e.verified.get(key, now); ok && e.ring.Trusts(c.KeyID) {
		if err := c.Validate(now, e.opts.Issuer, "", "", e.opts.Leeway); err != nil {
			return nil, tokenError(err)
		}
		cp := *c // callers get their own copy of the claims
		return &cp, nil
	}
	c, err := e.parse(tok, use)
	if err != nil {
		return nil, err
	}
	if c.UseFor == token.UseAccess {
		cp := *c
		e.verified.put(key, &cp, now)
	}
	return c, nil
}
