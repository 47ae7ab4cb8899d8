package token

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// Revocation is what Revoke did.
type Revocation struct {
	// Revoked is the revoked key's record as stored.
	Revoked KeyRecord
	// Signer is the key that signs after the revocation.
	Signer KeyRecord
	// Created reports that Signer is a key Revoke created, because no
	// other key could sign at once.
	Created bool
	// Activated reports that Signer is a published next key that Revoke
	// made sign from now instead of at its ActiveFrom.
	Activated bool
}

// Revoke withdraws a compromised key at once: it leaves the JWKS and no
// longer verifies anything, neither the tokens it signed nor tokens forged
// with it. The ring that revokes it drops it before Revoke returns; a ring
// of another node sharing the store drops it at its next Load (the key
// reload interval).
//
// Signing never stops. Should kid be the key that signs now, Revoke first
// gives the signing to another key: one that may sign already, else the
// published next key (from now instead of at its ActiveFrom), else a new
// key of RingOptions.Alg active at once. Verifiers that cached the JWKS
// before that key was published reject its tokens until they fetch it
// again, at most RingOptions.JWKSMaxAge later: a compromise leaves no
// better choice. Should kid be a next key, the keys it was to retire keep
// signing.
//
// Revoking a revoked key changes nothing; an unknown kid is ErrUnknownKey.
func (r *Ring) Revoke(ctx context.Context, kid string) (Revocation, error) {
	recs, err := r.ks.ListKeys(ctx)
	if err != nil {
		return Revocation{}, fmt.Errorf("token: revoke: %w", err)
	}
	i := slices.IndexFunc(recs, func(k KeyRecord) bool { return k.ID == kid })
	if i < 0 {
		return Revocation{}, fmt.Errorf("%w: kid %q", ErrUnknownKey, clip(kid))
	}
	target := recs[i]
	now := storeTime(r.opts.Now())
	var rv Revocation
	if target.RevokedAt.IsZero() {
		// Whatever the target was to retire at its ActiveFrom goes on
		// signing (Rotate retired every signing key then).
		if target.ActiveFrom.After(now) {
			for j, k := range recs {
				if k.ID != kid && k.RevokedAt.IsZero() && k.RetiredAt.Equal(target.ActiveFrom) {
					k.RetiredAt, k.ExpiresAt = time.Time{}, time.Time{}
					if err := r.ks.UpdateKey(ctx, k); err != nil {
						return Revocation{}, fmt.Errorf("token: revoke: keep key %s: %w", k.ID, err)
					}
					recs[j] = k
				}
			}
		}
		// Then make sure another key signs now, before the target stops.
		others := slices.DeleteFunc(slices.Clone(recs), func(k KeyRecord) bool { return k.ID == kid })
		signer, ok := signerAt(others, now)
		if !ok {
			if next, found := nextKey(others, now); found {
				next.ActiveFrom = now
				if err := r.ks.UpdateKey(ctx, next); err != nil {
					return Revocation{}, fmt.Errorf("token: revoke: activate key %s: %w", next.ID, err)
				}
				signer, rv.Activated = next, true
			} else {
				if signer, err = r.createKey(ctx, now, 0); err != nil {
					return Revocation{}, err
				}
				rv.Created = true
			}
		}
		rv.Signer = signer
		target.RevokedAt = now
		if target.RetiredAt.IsZero() || target.RetiredAt.After(now) {
			target.RetiredAt = now
		}
		// The record stays until it would have left the JWKS anyway, so
		// that listings show the revocation; Prune deletes it then.
		if target.ExpiresAt.IsZero() || target.ExpiresAt.Before(target.RetiredAt) {
			target.ExpiresAt = target.RetiredAt.Add(r.opts.Retention)
		}
		if err := r.ks.UpdateKey(ctx, target); err != nil {
			return Revocation{}, fmt.Errorf("token: revoke key %s: %w", kid, err)
		}
	} else {
		rv.Signer, _ = signerAt(recs, now)
	}
	rv.Revoked = target
	return rv, r.Load(ctx)
}

// signerAt returns the key that signs at now among recs, by the rule of
// ringState.current: the newest key active at now, neither retired then
// nor revoked nor expired.
func signerAt(recs []KeyRecord, now time.Time) (KeyRecord, bool) {
	var best KeyRecord
	found := false
	for _, k := range recs {
		if !k.RevokedAt.IsZero() || (!k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt)) ||
			k.ActiveFrom.After(now) || (!k.RetiredAt.IsZero() && !now.Before(k.RetiredAt)) {
			continue
		}
		if !found || newer(k, best) {
			best, found = k, true
		}
	}
	return best, found
}

// nextKey returns the newest published key that is to sign later, if any.
func nextKey(recs []KeyRecord, now time.Time) (KeyRecord, bool) {
	var best KeyRecord
	found := false
	for _, k := range recs {
		if !k.RevokedAt.IsZero() || !k.ActiveFrom.After(now) || (!k.RetiredAt.IsZero() && !k.RetiredAt.After(k.ActiveFrom)) {
			continue
		}
		if !found || newer(k, best) {
			best, found = k, true
		}
	}
	return best, found
}

// newer orders keys as Load orders the signing keys: later ActiveFrom,
// then later CreatedAt, then greater ID.
func newer(a, b KeyRecord) bool {
	return cmp.Or(a.ActiveFrom.Compare(b.ActiveFrom), a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID)) > 0
}
