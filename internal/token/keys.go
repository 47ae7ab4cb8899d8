package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/go-jose/go-jose/v4"
)

// Algorithms of new keys; see RingOptions.Alg.
const (
	AlgEdDSA = string(jose.EdDSA)
	AlgES256 = string(jose.ES256)
	AlgRS256 = string(jose.RS256)
)

// rsaBits is the modulus size of new RS256 keys.
const rsaBits = 2048

// kidBytes random bytes make a 16-character base64url key ID.
const kidBytes = 12

// validAlg reports whether alg is an algorithm the ring can create.
func validAlg(alg string) bool {
	switch alg {
	case AlgEdDSA, AlgES256, AlgRS256:
		return true
	}
	return false
}

// newKeyID returns a random URL-safe key ID.
func newKeyID(random io.Reader) (string, error) {
	b := make([]byte, kidBytes)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", fmt.Errorf("token: key id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// generateKey creates a private key for alg and returns it with the PKCS#8
// encoding of the private key and the PKIX encoding of the public key.
func generateKey(alg string, random io.Reader) (priv crypto.Signer, pkcs8, pkix []byte, err error) {
	switch alg {
	case AlgEdDSA:
		_, priv, err = ed25519.GenerateKey(random)
	case AlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), random)
	case AlgRS256:
		priv, err = rsa.GenerateKey(random, rsaBits)
	default:
		err = fmt.Errorf("unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("token: generate %s key: %w", alg, err)
	}
	if pkcs8, err = x509.MarshalPKCS8PrivateKey(priv); err != nil {
		return nil, nil, nil, fmt.Errorf("token: encode %s key: %w", alg, err)
	}
	if pkix, err = x509.MarshalPKIXPublicKey(priv.Public()); err != nil {
		return nil, nil, nil, fmt.Errorf("token: encode %s key: %w", alg, err)
	}
	return priv, pkcs8, pkix, nil
}

// parsePublic decodes a PKIX public key and checks that it suits alg.
func parsePublic(alg string, der []byte) (crypto.PublicKey, error) {
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	if err := checkKeyAlg(alg, pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// parsePrivate decodes a PKCS#8 private key and checks that it suits alg
// and belongs to pub.
func parsePrivate(alg string, der []byte, pub crypto.PublicKey) (crypto.Signer, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	priv, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("private key: %T cannot sign", k)
	}
	if err := checkKeyAlg(alg, priv.Public()); err != nil {
		return nil, err
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := priv.Public().(equaler); !ok || !e.Equal(pub) {
		return nil, fmt.Errorf("private key does not match the public key")
	}
	return priv, nil
}

// checkKeyAlg reports an error unless pub is a key type alg uses.
func checkKeyAlg(alg string, pub crypto.PublicKey) error {
	ok := false
	switch k := pub.(type) {
	case ed25519.PublicKey:
		ok = alg == AlgEdDSA
	case *ecdsa.PublicKey:
		ok = alg == AlgES256 && k.Curve == elliptic.P256()
	case *rsa.PublicKey:
		ok = alg == AlgRS256 && k.N.BitLen() >= rsaBits
	}
	if !ok {
		return fmt.Errorf("%T key does not suit algorithm %q", pub, alg)
	}
	return nil
}
