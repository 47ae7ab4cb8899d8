package token

import (
	"context"
	"time"
)

// KeyRecord is one asymmetric key of the ring as it is kept at rest. The
// ring declares its own record (and the narrow KeyStore below) so that it
// depends on no storage package; whoever wires a ring to a store converts
// between the store's record and this one.
type KeyRecord struct {
	ID  string // the JWS kid
	Alg string // EdDSA, ES256 or RS256
	// Public is the PKIX DER encoding of the public key.
	Public []byte
	// PrivateSealed is the PKCS#8 private key sealed with the master key.
	PrivateSealed []byte
	CreatedAt     time.Time
	// ActiveFrom is when the key starts signing; it is published in JWKS
	// from CreatedAt on.
	ActiveFrom time.Time
	// RetiredAt is when a newer key took over signing (zero while current).
	RetiredAt time.Time
	// ExpiresAt is when the last token this key signed expires; the public
	// key leaves the JWKS after it. Zero while the key may still sign.
	ExpiresAt time.Time
	// RevokedAt is when the key was revoked (zero while it is not): a
	// revoked key neither signs nor verifies nor is published, and its
	// record is kept until ExpiresAt so that listings show it.
	RevokedAt time.Time
}

// KeyStore is where a ring keeps its keys: the four calls it needs, and no
// more. Times it returns must be those it was given, to the millisecond.
type KeyStore interface {
	CreateKey(ctx context.Context, k KeyRecord) error
	// ListKeys lists keys oldest first.
	ListKeys(ctx context.Context) ([]KeyRecord, error)
	UpdateKey(ctx context.Context, k KeyRecord) error
	DeleteKey(ctx context.Context, id string) error
}
