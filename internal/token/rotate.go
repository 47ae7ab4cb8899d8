package token

import (
	"context"
	"fmt"
	"time"
)

// EnsureKey makes sure a key may sign now: after loading the store, it
// creates a key of RingOptions.Alg active immediately when none may, and
// loads again. It reports whether it created a key.
//
// Two nodes starting together may both create a key; that is harmless, as
// Sign picks the newest and Prune retires the other.
func (r *Ring) EnsureKey(ctx context.Context) (created bool, err error) {
	if err := r.Load(ctx); err != nil {
		return false, err
	}
	if r.state.Load().current(r.opts.Now()) != nil {
		return false, nil
	}
	if _, err := r.createKey(ctx, storeTime(r.opts.Now()), 0); err != nil {
		return false, err
	}
	return true, r.Load(ctx)
}

// Rotate creates a key of RingOptions.Alg that is published now and signs
// from now+activateIn (activateIn < 0 means RingOptions.PublishLead), so
// that relying parties can fetch it before the first token it signs. Every
// older key still signing at that moment is retired then: its RetiredAt
// becomes the new key's ActiveFrom and its ExpiresAt RetiredAt+Retention,
// so tokens in flight keep verifying until they expire. Rotate then loads
// the ring and returns the new key's record.
func (r *Ring) Rotate(ctx context.Context, activateIn time.Duration) (KeyRecord, error) {
	if activateIn < 0 {
		activateIn = r.opts.PublishLead
	}
	recs, err := r.ks.ListKeys(ctx)
	if err != nil {
		return KeyRecord{}, fmt.Errorf("token: rotate: %w", err)
	}
	now := storeTime(r.opts.Now())
	// Create first: should an update below fail, the new key still takes
	// over at ActiveFrom and a later Prune retires the old one.
	k, err := r.createKey(ctx, now, activateIn)
	if err != nil {
		return KeyRecord{}, err
	}
	for _, old := range recs {
		if old.RetiredAt.IsZero() || old.RetiredAt.After(k.ActiveFrom) {
			if err := r.retire(ctx, old, k.ActiveFrom); err != nil {
				return KeyRecord{}, err
			}
		}
	}
	return k, r.Load(ctx)
}

// Prune deletes the keys whose ExpiresAt has passed and returns how many it
// deleted. It also retires keys superseded without being retired (as when
// two nodes ran EnsureKey together), so their expiry is set. Then it loads
// the ring.
func (r *Ring) Prune(ctx context.Context) (int, error) {
	recs, err := r.ks.ListKeys(ctx)
	if err != nil {
		return 0, fmt.Errorf("token: prune: %w", err)
	}
	now := r.opts.Now()
	n := 0
	for _, k := range recs {
		if !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt) {
			if err := r.ks.DeleteKey(ctx, k.ID); err != nil {
				return n, fmt.Errorf("token: prune key %s: %w", k.ID, err)
			}
			n++
			continue
		}
		if !k.RetiredAt.IsZero() {
			// A key retired under a longer retention than today's (an
			// older release kept keys as long as the longest session)
			// needs to stay no longer than today's retention says.
			if limit := k.RetiredAt.Add(r.opts.Retention); k.ExpiresAt.After(limit) {
				k.ExpiresAt = storeTime(limit)
				if err := r.ks.UpdateKey(ctx, k); err != nil {
					return n, fmt.Errorf("token: prune key %s: %w", k.ID, err)
				}
			}
			continue
		}
		if !k.RevokedAt.IsZero() {
			continue
		}
		// The earliest newer key already active supersedes k. A revoked
		// key supersedes nothing.
		var by time.Time
		for _, o := range recs {
			if o.RevokedAt.IsZero() && o.ActiveFrom.After(k.ActiveFrom) && !o.ActiveFrom.After(now) &&
				(o.RetiredAt.IsZero() || o.RetiredAt.After(o.ActiveFrom)) &&
				(by.IsZero() || o.ActiveFrom.Before(by)) {
				by = o.ActiveFrom
			}
		}
		if !by.IsZero() {
			if err := r.retire(ctx, k, by); err != nil {
				return n, err
			}
		}
	}
	return n, r.Load(ctx)
}

// retire records that k stops signing at at.
func (r *Ring) retire(ctx context.Context, k KeyRecord, at time.Time) error {
	k.RetiredAt = storeTime(at)
	k.ExpiresAt = k.RetiredAt.Add(r.opts.Retention)
	if err := r.ks.UpdateKey(ctx, k); err != nil {
		return fmt.Errorf("token: retire key %s: %w", k.ID, err)
	}
	return nil
}

// createKey generates, seals and stores a key that is published at now and
// signs from now+activateIn.
func (r *Ring) createKey(ctx context.Context, now time.Time, activateIn time.Duration) (KeyRecord, error) {
	id, err := newKeyID(r.opts.Rand)
	if err != nil {
		return KeyRecord{}, err
	}
	_, pkcs8, pkix, err := generateKey(r.opts.Alg, r.opts.Rand)
	if err != nil {
		return KeyRecord{}, err
	}
	sealed, err := r.sealer.Seal(pkcs8, []byte(id))
	clear(pkcs8)
	if err != nil {
		return KeyRecord{}, err
	}
	k := KeyRecord{
		ID:            id,
		Alg:           r.opts.Alg,
		Public:        pkix,
		PrivateSealed: sealed,
		CreatedAt:     now,
		ActiveFrom:    now.Add(activateIn),
	}
	if err := r.ks.CreateKey(ctx, k); err != nil {
		return KeyRecord{}, fmt.Errorf("token: store key %s: %w", id, err)
	}
	return k, nil
}

// storeTime rounds t to the precision the store keeps, so that the records
// the ring writes equal the ones it reads back.
func storeTime(t time.Time) time.Time {
	return t.Truncate(time.Millisecond).UTC()
}
