// Package token mints and verifies tokengate's JWTs.
//
// It owns three concepts: the master key and the Sealer that encrypts
// private keys at rest (seal.go), the JWT claim set and its validation
// (claims.go), and the key Ring that signs, verifies, publishes a JWKS and
// rotates keys kept in a KeyStore (ring.go, rotate.go, jws.go, keys.go,
// keystore.go).
//
// Verification pins algorithms: a token is accepted only when its header
// names, by kid, a key of the ring whose algorithm equals the header's alg,
// so "alg":"none", HMAC tokens keyed with a public key and kid/alg
// mismatches are refused before any signature check (RFC 8725 section 3.1).
// All JOSE processing is done by github.com/go-jose/go-jose/v4.
package token

import "errors"

// Sentinel errors. Functions of this package wrap them with %w; callers
// match them with errors.Is. Their text never carries key material or
// token contents.
var (
	// ErrMalformed is returned by Verify for a token that is not a
	// well-formed compact JWS with a JSON claim set, or whose header lacks
	// a kid or names an algorithm the ring does not use.
	ErrMalformed = errors.New("token: malformed")
	// ErrUnknownKey is returned by Verify when the kid names no key of the
	// ring, or a key whose algorithm differs from the header's alg.
	ErrUnknownKey = errors.New("token: unknown signing key")
	// ErrSignature is returned by Verify when the signature does not match.
	ErrSignature = errors.New("token: invalid signature")
	// ErrNoSigningKey is returned by Sign when no key of the ring may sign
	// at the current time.
	ErrNoSigningKey = errors.New("token: no signing key")
	// ErrExpired is returned by Claims.Validate for a token past its exp.
	ErrExpired = errors.New("token: expired")
	// ErrNotYetValid is returned by Claims.Validate for a token whose nbf or
	// iat lies in the future.
	ErrNotYetValid = errors.New("token: not yet valid")
	// ErrInvalidClaims is returned by Claims.Validate for a token with a
	// missing exp or a wrong issuer, audience or use.
	ErrInvalidClaims = errors.New("token: invalid claims")
)
