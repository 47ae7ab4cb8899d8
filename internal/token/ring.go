package token

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// RingOptions configures a Ring.
type RingOptions struct {
	// Alg is the algorithm of new keys: "EdDSA" (the default, Ed25519),
	// "ES256" or "RS256" (2048-bit). Keys of other algorithms already in the
	// store keep working.
	Alg string
	// PublishLead is how long a rotated key is published in the JWKS before
	// it signs, so that relying parties caching the JWKS see it first.
	PublishLead time.Duration
	// Retention is how long a key's public key is kept after the key stops
	// signing. The ring signs access tokens only (refresh tokens are MACed
	// under an unpublished key, see MAC), so it must cover the longest
	// access-token lifetime, the verifiers' leeway and the time other
	// nodes may go on signing with a retired key before they reload. It
	// must be positive.
	Retention time.Duration
	// JWKSMaxAge is how long a verifier may cache the JWKS (its
	// Cache-Control max-age): a key revoked or rotated in may stay unknown
	// or trusted by a verifier for that long.
	JWKSMaxAge time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of key IDs and key material; nil means
	// crypto/rand.Reader.
	Rand io.Reader
}

// KeyInfo describes one key of the ring, without key material.
type KeyInfo struct {
	ID         string
	Alg        string
	CreatedAt  time.Time
	ActiveFrom time.Time
	RetiredAt  time.Time
	ExpiresAt  time.Time
	RevokedAt  time.Time
	// State is "next" (published, not signing yet), "current" (the key Sign
	// uses), "retired" (verifies tokens in flight only) or "revoked"
	// (trusted for nothing).
	State string
}

// Key states reported in KeyInfo.State.
const (
	StateNext    = "next"
	StateCurrent = "current"
	StateRetired = "retired"
	StateRevoked = "revoked"
)

// Ring signs and verifies JWTs with the signing keys kept in the store. Sign,
// Verify, JWKS and Algorithms read an immutable snapshot through an atomic
// pointer, so they never wait for Load and never touch the store. A Ring is
// safe for concurrent use.
type Ring struct {
	ks     KeyStore
	sealer *Sealer
	opts   RingOptions

	loadMu sync.Mutex // serialises Load; never taken by Sign or Verify
	state  atomic.Pointer[ringState]
}

// ringState is one immutable snapshot of the ring.
type ringState struct {
	all     []KeyRecord         // every stored key, for Keys
	byID    map[string]*ringKey // keys that verify
	signing []*ringKey          // keys that sign now or later, newest ActiveFrom first
	allowed []jose.SignatureAlgorithm
	algs    []string
	jwks    []byte
}

// ringKey is one parsed key.
type ringKey struct {
	rec    KeyRecord
	alg    jose.SignatureAlgorithm
	public crypto.PublicKey
	signer jose.Signer // nil when the key can no longer sign
	// ed and header are set for an Ed25519 key that signs: Sign then
	// writes the compact JWS itself (header precomputed), which costs a
	// fifth less than going through jose.Signer.
	ed     ed25519.PrivateKey
	header string
	// idSigner and idHeader are signer and header for ID tokens (typ
	// JWT), which the same keys sign (OpenID Connect Core §10.1).
	idSigner jose.Signer
	idHeader string
}

// NewRing returns a ring over ks. Call Load or EnsureKey before signing.
func NewRing(ks KeyStore, sealer *Sealer, opts RingOptions) (*Ring, error) {
	if ks == nil || sealer == nil {
		return nil, errors.New("token: NewRing needs a key store and a sealer")
	}
	if opts.Alg == "" {
		opts.Alg = AlgEdDSA
	}
	if !validAlg(opts.Alg) {
		return nil, fmt.Errorf("token: unsupported signing algorithm %q (want EdDSA, ES256 or RS256)", opts.Alg)
	}
	if opts.PublishLead < 0 {
		return nil, errors.New("token: key publish lead must not be negative")
	}
	if opts.Retention <= 0 {
		return nil, errors.New("token: key retention must be positive (the longest access-token lifetime)")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	r := &Ring{ks: ks, sealer: sealer, opts: opts}
	r.state.Store(&ringState{byID: map[string]*ringKey{}, jwks: []byte(`{"keys":[]}`)})
	return r, nil
}

// Load reads every key from the store, unseals the private keys that may
// still sign and swaps in a new snapshot. Keys unchanged since the previous
// Load are reused without unsealing or parsing, so calling Load every few
// seconds is cheap. On error the previous snapshot stays in place.
func (r *Ring) Load(ctx context.Context) error {
	// Listing under the lock keeps a slow Load from storing an older
	// snapshot over a newer one.
	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	recs, err := r.ks.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("token: load keys: %w", err)
	}
	now := r.opts.Now()
	prev := r.state.Load()
	st := &ringState{all: recs, byID: make(map[string]*ringKey, len(recs))}
	for _, rec := range recs {
		if !rec.ExpiresAt.IsZero() && !now.Before(rec.ExpiresAt) {
			continue // every token it signed has expired; Prune deletes it
		}
		if !rec.RevokedAt.IsZero() {
			continue // revoked: trusted for nothing (Revoke)
		}
		k, err := r.parseKey(rec, prev.byID[rec.ID], now)
		if err != nil {
			return fmt.Errorf("token: load key %s: %w", rec.ID, err)
		}
		st.byID[rec.ID] = k
		if k.signer != nil {
			st.signing = append(st.signing, k)
		}
	}
	slices.SortFunc(st.signing, func(a, b *ringKey) int {
		return cmp.Or(b.rec.ActiveFrom.Compare(a.rec.ActiveFrom),
			b.rec.CreatedAt.Compare(a.rec.CreatedAt), cmp.Compare(b.rec.ID, a.rec.ID))
	})
	if st.jwks, err = buildJWKS(recs, st.byID); err != nil {
		return err
	}
	for _, k := range st.byID {
		if !slices.Contains(st.algs, string(k.alg)) {
			st.algs = append(st.algs, string(k.alg))
		}
	}
	slices.Sort(st.algs)
	for _, a := range st.algs {
		st.allowed = append(st.allowed, jose.SignatureAlgorithm(a))
	}
	r.state.Store(st)
	return nil
}

// parseKey builds the ring key for rec, reusing prev when it holds the same
// key material.
func (r *Ring) parseKey(rec KeyRecord, prev *ringKey, now time.Time) (*ringKey, error) {
	canSign := rec.RetiredAt.IsZero() || now.Before(rec.RetiredAt)
	if prev != nil && prev.rec.Alg == rec.Alg && bytes.Equal(prev.rec.Public, rec.Public) &&
		bytes.Equal(prev.rec.PrivateSealed, rec.PrivateSealed) && (prev.signer != nil || !canSign) {
		k := *prev
		k.rec = rec
		if !canSign {
			k.signer, k.idSigner = nil, nil
		}
		return &k, nil
	}
	if !validAlg(rec.Alg) {
		return nil, fmt.Errorf("unsupported algorithm %q", rec.Alg)
	}
	pub, err := parsePublic(rec.Alg, rec.Public)
	if err != nil {
		return nil, err
	}
	k := &ringKey{rec: rec, alg: jose.SignatureAlgorithm(rec.Alg), public: pub}
	if !canSign {
		return k, nil
	}
	der, err := r.sealer.Open(rec.PrivateSealed, []byte(rec.ID))
	if err != nil {
		return nil, err
	}
	priv, err := parsePrivate(rec.Alg, der, pub)
	clear(der)
	if err != nil {
		return nil, err
	}
	k.signer, err = jose.NewSigner(
		jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: priv, KeyID: rec.ID, Algorithm: rec.Alg}},
		(&jose.SignerOptions{}).WithType(TypeAccess))
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	k.idSigner, err = jose.NewSigner(
		jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: priv, KeyID: rec.ID, Algorithm: rec.Alg}},
		(&jose.SignerOptions{}).WithType(TypeID))
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	if ed, ok := priv.(ed25519.PrivateKey); ok && k.alg == jose.EdDSA {
		if k.header, err = encodeHeader(rec.Alg, rec.ID, TypeAccess); err != nil {
			return nil, err
		}
		if k.idHeader, err = encodeHeader(rec.Alg, rec.ID, TypeID); err != nil {
			return nil, err
		}
		k.ed = ed
	}
	return k, nil
}

// buildJWKS encodes the public keys of byID as a JWK Set (RFC 7517
// section 5), in store order.
func buildJWKS(recs []KeyRecord, byID map[string]*ringKey) ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, rec := range recs {
		if k := byID[rec.ID]; k != nil {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.public, KeyID: rec.ID, Algorithm: rec.Alg, Use: "sig"})
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("token: encode JWKS: %w", err)
	}
	return b, nil
}

// current returns the key Sign uses at now: the newest key whose ActiveFrom
// is not after now and that is not retired at now.
func (st *ringState) current(now time.Time) *ringKey {
	for _, k := range st.signing {
		if !k.rec.ActiveFrom.After(now) && (k.rec.RetiredAt.IsZero() || now.Before(k.rec.RetiredAt)) {
			return k
		}
	}
	return nil
}

// Trusts reports whether the key kid verifies tokens as of the last Load:
// it is in the ring, unexpired and not revoked. A cache of tokens verified
// earlier asks it before answering from memory, so that a revoked key's
// tokens stop at once.
func (r *Ring) Trusts(kid string) bool {
	return r.state.Load().byID[kid] != nil
}

// JWKS returns the JSON Web Key Set of every published, unexpired public key
// as of the last Load. The caller must not modify the returned bytes.
func (r *Ring) JWKS() []byte {
	return r.state.Load().jwks
}

// JWKSMaxAge returns how long verifiers may cache the JWKS.
func (r *Ring) JWKSMaxAge() time.Duration { return r.opts.JWKSMaxAge }

// Algorithms returns the sorted, distinct algorithms of the published keys,
// for discovery's *_signing_alg_values_supported.
func (r *Ring) Algorithms() []string {
	return slices.Clone(r.state.Load().algs)
}

// Keys describes every stored key as of the last Load, oldest first, with
// its state at the current time.
func (r *Ring) Keys() []KeyInfo {
	st := r.state.Load()
	now := r.opts.Now()
	cur := st.current(now)
	out := make([]KeyInfo, 0, len(st.all))
	for _, rec := range st.all {
		state := StateRetired
		switch {
		case !rec.RevokedAt.IsZero():
			state = StateRevoked
		case cur != nil && cur.rec.ID == rec.ID:
			state = StateCurrent
		case rec.ActiveFrom.After(now) && (rec.RetiredAt.IsZero() || rec.RetiredAt.After(rec.ActiveFrom)):
			state = StateNext
		}
		out = append(out, KeyInfo{ID: rec.ID, Alg: rec.Alg, CreatedAt: rec.CreatedAt, ActiveFrom: rec.ActiveFrom,
			RetiredAt: rec.RetiredAt, ExpiresAt: rec.ExpiresAt, RevokedAt: rec.RevokedAt, State: state})
	}
	return out
}
