package token

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// Sign encodes c as an access token: a compact JWS (RFC 7515 section 7.1)
// with the header parameters kid, alg and typ "at+jwt" (RFC 9068 section
// 2.1), signed by the key that is current at the ring's clock. It returns an error wrapping ErrNoSigningKey when no key
// may sign.
func (r *Ring) Sign(c *Claims) (string, error) {
	tok, _, err := r.sign(c, false)
	return tok, err
}

// SignID encodes c as an OpenID Connect ID token (OpenID Connect Core §2):
// the same keys as access tokens, with typ "JWT", so that neither passes
// for the other (Verify takes only at+jwt, VerifyID only JWT). It also
// returns the algorithm of the key that signed, which decides the hash of
// at_hash (§3.1.3.6).
func (r *Ring) SignID(c *Claims) (tok, alg string, err error) { return r.sign(c, true) }

// SigningAlg returns the algorithm of the key that signs now ("" when
// none does).
func (r *Ring) SigningAlg() string {
	if k := r.state.Load().current(r.opts.Now()); k != nil {
		return string(k.alg)
	}
	return ""
}

// sign signs c with the current key and returns the token and that key's
// algorithm.
func (r *Ring) sign(c *Claims, id bool) (string, string, error) {
	if c == nil {
		return "", "", errors.New("token: sign: nil claims")
	}
	k := r.state.Load().current(r.opts.Now())
	if k == nil {
		return "", "", ErrNoSigningKey
	}
	alg := string(k.alg)
	payload, err := json.Marshal(c)
	if err != nil {
		return "", "", fmt.Errorf("token: encode claims: %w", err)
	}
	header, signer := k.header, k.signer
	if id {
		header, signer = k.idHeader, k.idSigner
	}
	if k.ed != nil {
		return compactJWS(header, payload, ed25519.SignatureSize, func(in []byte) []byte { return ed25519.Sign(k.ed, in) }), alg, nil
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", "", fmt.Errorf("token: sign with key %s: %w", k.rec.ID, err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		return "", "", fmt.Errorf("token: serialize: %w", err)
	}
	return s, alg, nil
}

// encodeHeader returns the base64url protected header tokengate writes
// itself: {"alg","kid","typ"}, the parameters jose.Signer writes too.
func encodeHeader(alg, kid, typ string) (string, error) {
	h, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{alg, kid, typ})
	if err != nil {
		return "", err
	}
	return b64url.EncodeToString(h), nil
}

// compactJWS assembles header.payload.signature (RFC 7515 section 7.1)
// around an encoded header, signing the signing input with sign, whose
// signatures are sigSize bytes.
func compactJWS(header string, payload []byte, sigSize int, sign func(signingInput []byte) []byte) string {
	buf := make([]byte, 0, len(header)+2+b64url.EncodedLen(len(payload))+b64url.EncodedLen(sigSize))
	buf = append(buf, header...)
	buf = append(buf, '.')
	buf = b64url.AppendEncode(buf, payload)
	sig := sign(buf)
	buf = append(buf, '.')
	return string(b64url.AppendEncode(buf, sig))
}

// Verify checks the signature of an access token, a compact JWS, and
// returns its claims. It does not check time claims, issuer or audience:
// call Claims.Validate.
//
// The algorithm is pinned (RFC 8725 section 3.1): only the algorithms of the
// ring's keys parse, the kid header is required and must name a key of the
// ring, and that key's algorithm must equal the header's alg. The type is
// explicit (RFC 8725 section 3.11, RFC 9068 section 4): typ must be at+jwt,
// so no other JWT signed by these keys passes for an access token. Errors
// wrap ErrMalformed, ErrUnknownKey or ErrSignature.
func (r *Ring) Verify(token string) (*Claims, error) { return r.verify(token, TypeAccess) }

// VerifyID checks the signature of an ID token this ring signed (typ JWT),
// as Verify does an access token's, and returns its claims. It does not
// check time claims, issuer or audience.
func (r *Ring) VerifyID(token string) (*Claims, error) { return r.verify(token, TypeID) }

func (r *Ring) verify(token, typ string) (*Claims, error) {
	st := r.state.Load()
	if len(st.allowed) == 0 {
		return nil, fmt.Errorf("%w: the ring has no keys", ErrUnknownKey)
	}
	// Only compact serialization is accepted: a JSON-serialized JWS may
	// carry unprotected headers.
	if strings.Count(token, ".") != 2 {
		return nil, fmt.Errorf("%w: not a compact JWS", ErrMalformed)
	}
	if !canonicalJWS(token) {
		return nil, fmt.Errorf("%w: not canonical base64url", ErrMalformed)
	}
	obj, err := jose.ParseSignedCompact(token, st.allowed)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(obj.Signatures) != 1 {
		return nil, fmt.Errorf("%w: want exactly one signature", ErrMalformed)
	}
	h := obj.Signatures[0].Protected
	if h.KeyID == "" {
		return nil, fmt.Errorf("%w: missing kid", ErrMalformed)
	}
	if got, _ := h.ExtraHeaders[jose.HeaderType].(string); !isType(got, typ) {
		return nil, fmt.Errorf("%w: typ is not %s", ErrMalformed, typ)
	}
	k := st.byID[h.KeyID]
	if k == nil {
		return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, clip(h.KeyID))
	}
	if string(k.alg) != h.Algorithm {
		return nil, fmt.Errorf("%w: kid %q is not a %s key", ErrUnknownKey, clip(h.KeyID), h.Algorithm)
	}
	payload, err := obj.Verify(k.public)
	if err != nil {
		return nil, ErrSignature
	}
	c := new(Claims)
	if err := json.Unmarshal(payload, c); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	c.KeyID = k.rec.ID
	return c, nil
}

// canonicalJWS reports whether every segment of a compact JWS is
// unpadded base64url in its one canonical spelling. Decoders, go-jose's
// and encoding/base64's alike, skip '\r' and '\n' and ignore the padding
// bits of a segment's last character, so without this check one token
// has many spellings that all verify: a token would no longer be the
// credential it was issued as, only something that decodes to it.
func canonicalJWS(tok string) bool {
	for seg := range strings.SplitSeq(tok, ".") {
		if !canonicalSegment(seg) {
			return false
		}
	}
	return true
}

// canonicalSegment reports whether seg is what RawURLEncoding writes for
// the bytes it decodes to.
func canonicalSegment(seg string) bool {
	for i := 0; i < len(seg); i++ {
		if b64urlValue(seg[i]) < 0 {
			return false
		}
	}
	var pad byte // the bits of the last character that carry nothing
	switch len(seg) % 4 {
	case 0:
		return true
	case 1:
		return false
	case 2:
		pad = 0x0f
	case 3:
		pad = 0x03
	}
	return byte(b64urlValue(seg[len(seg)-1]))&pad == 0
}

// b64urlValue is the value of a base64url character, or -1.
func b64urlValue(c byte) int {
	switch {
	case 'A' <= c && c <= 'Z':
		return int(c - 'A')
	case 'a' <= c && c <= 'z':
		return int(c-'a') + 26
	case '0' <= c && c <= '9':
		return int(c-'0') + 52
	case c == '-':
		return 62
	case c == '_':
		return 63
	}
	return -1
}

// isType reports whether a typ header names the media type want, which
// RFC 7515 section 4.1.9 lets a token write with or without "application/"
// and compares case-insensitively.
func isType(typ, want string) bool {
	typ, _ = strings.CutPrefix(strings.ToLower(typ), "application/")
	return typ == strings.ToLower(want)
}

// clip shortens an untrusted header value before it goes into an error
// message, which may be logged.
func clip(s string) string {
	const max = 40
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
