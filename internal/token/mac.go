package token

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// MAC signs and verifies the JWTs that only their issuer ever reads back,
// such as refresh tokens, with HMAC-SHA256 (JWS "HS256", RFC 7518 section
// 3.2). Nobody but the issuer verifies such a token, so publishing a public
// key buys nothing, and a symmetric signature costs a small fraction of an
// Ed25519 verification plus signature on every refresh. Because its tokens
// are never signed by a key of the Ring, a MAC token can never pass for an
// access token, and the reverse.
//
// Verification is strict: the protected header must be byte for byte the
// one MAC writes (alg HS256, the MAC's kid, its typ), so the algorithm and
// the token type (RFC 8725 section 3.11) are pinned without parsing
// untrusted JSON. A MAC is safe for concurrent use.
type MAC struct {
	key    []byte
	kid    string
	header string // base64url of the protected header, without padding
}

var b64url = base64.RawURLEncoding

// NewMAC returns a MAC keyed by key, which must hold at least 32 bytes,
// for tokens of type typ (TypeRefresh for refresh tokens). Its kid is
// derived from the key, so tokens signed under another key are told apart
// as ErrUnknownKey rather than a bad signature.
func NewMAC(key []byte, typ string) (*MAC, error) {
	if len(key) < 32 {
		return nil, errors.New("token: MAC key must be at least 32 bytes")
	}
	sum := sha256.Sum256(append([]byte("tokengate mac kid\x00"), key...))
	kid := "hs-" + b64url.EncodeToString(sum[:9])
	if typ == "" {
		return nil, errors.New("token: MAC needs a token type")
	}
	h, err := encodeHeader("HS256", kid, typ)
	if err != nil {
		return nil, err
	}
	return &MAC{key: bytes.Clone(key), kid: kid, header: h}, nil
}

// KeyID returns the kid the MAC writes into its tokens.
func (m *MAC) KeyID() string { return m.kid }

// Sign encodes c as a compact JWS signed with HS256. The same claims always
// give the same token.
func (m *MAC) Sign(c *Claims) (string, error) {
	if c == nil {
		return "", errors.New("token: sign: nil claims")
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("token: encode claims: %w", err)
	}
	return compactJWS(m.header, payload, sha256.Size, m.sum), nil
}

// Verify checks a compact JWS signed by Sign and returns its claims. Like
// Ring.Verify it does not check time claims, issuer or audience. Errors
// wrap ErrMalformed, ErrUnknownKey or ErrSignature.
func (m *MAC) Verify(tok string) (*Claims, error) {
	head, rest, ok := strings.Cut(tok, ".")
	if !ok {
		return nil, fmt.Errorf("%w: not a compact JWS", ErrMalformed)
	}
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(sig, ".") {
		return nil, fmt.Errorf("%w: not a compact JWS", ErrMalformed)
	}
	if head != m.header {
		return nil, fmt.Errorf("%w: not a token of this issuer's %s key and type", ErrUnknownKey, m.kid)
	}
	got, err := b64url.DecodeString(sig)
	if err != nil || len(got) != sha256.Size || !canonicalSegment(sig) {
		return nil, fmt.Errorf("%w: signature encoding", ErrMalformed)
	}
	if !hmac.Equal(got, m.sum([]byte(tok[:len(head)+1+len(payload)]))) {
		return nil, ErrSignature
	}
	raw, err := b64url.DecodeString(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload encoding", ErrMalformed)
	}
	c := new(Claims)
	if err := json.Unmarshal(raw, c); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	return c, nil
}

// IsMAC reports whether tok carries this MAC's protected header, without
// verifying anything: a cheap way to route a token to the right verifier.
func (m *MAC) IsMAC(tok string) bool {
	return len(tok) > len(m.header) && tok[len(m.header)] == '.' && tok[:len(m.header)] == m.header
}

func (m *MAC) sum(signingInput []byte) []byte {
	h := hmac.New(sha256.New, m.key)
	h.Write(signingInput)
	return h.Sum(nil)
}
