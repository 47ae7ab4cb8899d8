package token

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/tokengate/tokengate/internal/fuzzseed"
)

// The fuzz targets of this package run on fixed keys, so that the tokens
// of the checked-in corpus (testdata/fuzz) verify on every run: a
// mutation of a valid token is what reaches the signature check.

var fuzzT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	fuzzEdKID = "fuzz-ed"
	fuzzESKID = "fuzz-es"
)

// fuzzKeys are the fixed private keys of the fuzz ring, by kid.
func fuzzKeys(tb testing.TB) map[string]crypto.Signer {
	tb.Helper()
	seed := sha256.Sum256([]byte("tokengate fuzz ed25519"))
	d := sha256.Sum256([]byte("tokengate fuzz p256"))
	es, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
	if err != nil {
		tb.Fatal(err)
	}
	return map[string]crypto.Signer{fuzzEdKID: ed25519.NewKeyFromSeed(seed[:]), fuzzESKID: es}
}

// fuzzRing returns a ring holding the two fixed keys, both valid at fuzzT0.
func fuzzRing(tb testing.TB) (*Ring, map[string]crypto.Signer) {
	tb.Helper()
	ks, sealer, keys := newMemKeys(), testSealer(tb), fuzzKeys(tb)
	for id, alg := range map[string]string{fuzzEdKID: AlgEdDSA, fuzzESKID: AlgES256} {
		pkcs8, err := x509.MarshalPKCS8PrivateKey(keys[id])
		if err != nil {
			tb.Fatal(err)
		}
		pkix, err := x509.MarshalPKIXPublicKey(keys[id].Public())
		if err != nil {
			tb.Fatal(err)
		}
		sealed, err := sealer.Seal(pkcs8, []byte(id))
		if err != nil {
			tb.Fatal(err)
		}
		if err := ks.CreateKey(context.Background(), KeyRecord{ID: id, Alg: alg, Public: pkix, PrivateSealed: sealed,
			CreatedAt: fuzzT0.Add(-time.Hour), ActiveFrom: fuzzT0.Add(-time.Hour)}); err != nil {
			tb.Fatal(err)
		}
	}
	r, err := NewRing(ks, sealer, RingOptions{Retention: 24 * time.Hour, Now: func() time.Time { return fuzzT0 }})
	if err != nil {
		tb.Fatal(err)
	}
	if err := r.Load(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return r, keys
}

func fuzzMAC(tb testing.TB) *MAC {
	tb.Helper()
	m, err := NewMAC([]byte("tokengate fuzz refresh key 0123456789"), TypeRefresh)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func fuzzClaims() *Claims {
	return &Claims{Issuer: "https://gate.example", Subject: "u1", PreferredUsername: "alice", Audience: Audience{"api"},
		IssuedAt: fuzzT0.Unix(), NotBefore: fuzzT0.Unix(), Expiry: fuzzT0.Add(time.Hour).Unix(), Exi: 3600,
		ID: "j1", UseFor: UseAccess, SessionID: "s1", Tenant: "default", ClientID: "cli", Scope: "openid",
		Extra: map[string]any{"accountId": "acc1"}}
}

// signHeader signs payload (JSON) under a header given as JSON, with key.
func signHeader(tb testing.TB, headerJSON, payload string, key crypto.Signer) string {
	tb.Helper()
	input := b64(headerJSON) + "." + b64(payload)
	var sig []byte
	switch k := key.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(input))
	case *ecdsa.PrivateKey:
		h := sha256.Sum256([]byte(input))
		r, s, err := ecdsa.Sign(nil, k, h[:])
		if err != nil {
			tb.Fatal(err)
		}
		sig = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

var strictB64 = base64.RawURLEncoding.Strict()

// independentVerify is the fuzz targets' own account of a valid access
// token, written without go-jose: three canonical base64url segments, a
// header naming a kid of the ring with that key's algorithm and typ
// at+jwt, and a signature the standard library accepts over the exact
// signing input.
func independentVerify(tok string, keys map[string]crypto.Signer) error {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return errors.New("not three segments")
	}
	hb, err1 := strictB64.DecodeString(parts[0])
	_, err2 := strictB64.DecodeString(parts[1])
	sig, err3 := strictB64.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return errors.New("a segment is not canonical base64url: " + err.Error())
	}
	var h map[string]any
	if err := json.Unmarshal(hb, &h); err != nil {
		return err
	}
	kid, _ := h["kid"].(string)
	alg, _ := h["alg"].(string)
	typ, _ := h["typ"].(string)
	if !isType(typ, TypeAccess) {
		return errors.New("typ is not at+jwt")
	}
	// jku, x5u, jwk and x5c are ignored (no key comes from a token);
	// crit names extensions the verifier would have to understand.
	for _, name := range []string{"crit", "b64"} {
		if _, ok := h[name]; ok {
			return errors.New("header " + name + " present")
		}
	}
	input := []byte(parts[0] + "." + parts[1])
	switch k := keys[kid].(type) {
	case ed25519.PrivateKey:
		if alg != AlgEdDSA || !ed25519.Verify(k.Public().(ed25519.PublicKey), input, sig) {
			return errors.New("not a valid EdDSA signature of kid " + kid)
		}
	case *ecdsa.PrivateKey:
		hash := sha256.Sum256(input)
		if alg != AlgES256 || len(sig) != 64 ||
			!ecdsa.Verify(&k.PublicKey, hash[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return errors.New("not a valid ES256 signature of kid " + kid)
		}
	default:
		return errors.New("kid names no key")
	}
	return nil
}

// maxErrLen bounds the text of a verification error whatever the input:
// errors are logged, so they never carry more than a clipped piece of it.
const maxErrLen = 400

func checkVerifyError(t *testing.T, tok string, err error) {
	t.Helper()
	if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrSignature) {
		t.Fatalf("Verify error %q wraps none of ErrMalformed, ErrUnknownKey, ErrSignature", err)
	}
	if msg := err.Error(); len(msg) > maxErrLen {
		t.Fatalf("Verify error is %d bytes long (input %d bytes): %.200q", len(msg), len(tok), msg)
	}
	if len(tok) > 60 && strings.Contains(err.Error(), tok[:60]) {
		t.Fatalf("Verify error echoes the token: %q", err)
	}
}

// FuzzVerifyAccess feeds Ring.Verify arbitrary strings around valid,
// forged and malformed access tokens. Properties: it never panics; a
// refusal wraps one of its three sentinels with a bounded message; an
// acceptance is exactly what an independent verifier accepts (alg pinned
// to the kid's key, typ at+jwt, canonical encoding, a valid signature over
// the signing input), and its claims survive a JSON round trip.
func FuzzVerifyAccess(f *testing.F) {
	r, keys := fuzzRing(f)
	c, _ := json.Marshal(fuzzClaims())
	claims := string(c)
	edPub := []byte(keys[fuzzEdKID].Public().(ed25519.PublicKey))
	esPKIX, _ := x509.MarshalPKIXPublicKey(keys[fuzzESKID].Public())
	hdr := func(alg, kid, extra string) string {
		return `{"alg":"` + alg + `","kid":"` + kid + `","typ":"at+jwt"` + extra + `}`
	}
	valid := signHeader(f, hdr("EdDSA", fuzzEdKID, ""), claims, keys[fuzzEdKID])
	parts := strings.Split(valid, ".")
	fuzzseed.Add(f, map[string]fuzzseed.Seed{
		"eddsa":           {valid},
		"es256":           {signHeader(f, hdr("ES256", fuzzESKID, ""), claims, keys[fuzzESKID])},
		"typ-app":         {signHeader(f, `{"alg":"EdDSA","kid":"fuzz-ed","typ":"application/AT+JWT"}`, claims, keys[fuzzEdKID])},
		"alg-none":        {b64(hdr("none", fuzzEdKID, "")) + "." + parts[1] + "."},
		"alg-None":        {b64(hdr("None", fuzzEdKID, "")) + "." + parts[1] + "."},
		"hs256-pubkey":    {hs256(hdr("HS256", fuzzEdKID, ""), parts[1], edPub)},
		"hs256-pkix":      {hs256(hdr("HS256", fuzzESKID, ""), parts[1], esPKIX)},
		"alg-swap":        {signHeader(f, hdr("ES256", fuzzEdKID, ""), claims, keys[fuzzESKID])},
		"kid-traversal":   {signHeader(f, hdr("EdDSA", "../../etc/passwd", ""), claims, keys[fuzzEdKID])},
		"kid-sql":         {signHeader(f, hdr("EdDSA", "x' OR '1'='1", ""), claims, keys[fuzzEdKID])},
		"jku":             {signHeader(f, hdr("EdDSA", fuzzEdKID, `,"jku":"http://127.0.0.1:1/jwks"`), claims, keys[fuzzEdKID])},
		"jwk":             {signHeader(f, hdr("EdDSA", fuzzEdKID, `,"jwk":{"kty":"OKP","crv":"Ed25519","x":"AAAA"}`), claims, keys[fuzzEdKID])},
		"crit":            {signHeader(f, hdr("EdDSA", fuzzEdKID, `,"crit":["exp"],"exp":1`), claims, keys[fuzzEdKID])},
		"b64-false":       {signHeader(f, hdr("EdDSA", fuzzEdKID, `,"crit":["b64"],"b64":false`), claims, keys[fuzzEdKID])},
		"tampered":        {parts[0] + "." + b64(strings.Replace(claims, "alice", "admin", 1)) + "." + parts[2]},
		"two-segments":    {parts[0] + "." + parts[1]},
		"four-segments":   {valid + "." + parts[2]},
		"bad-base64":      {parts[0] + ".*." + parts[2]},
		"padded":          {parts[0] + "=." + parts[1] + "." + parts[2]},
		"json-serialized": {`{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`},
		"empty":           {""},
	})
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := r.Verify(tok)
		if err != nil {
			checkVerifyError(t, tok, err)
			return
		}
		if ierr := independentVerify(tok, keys); ierr != nil {
			t.Fatalf("Verify accepted a token the independent verifier refuses: %v", ierr)
		}
		if c.KeyID != fuzzEdKID && c.KeyID != fuzzESKID {
			t.Fatalf("KeyID %q", c.KeyID)
		}
		roundTrip(t, c)
	})
}

// FuzzVerifyRefresh feeds MAC.Verify (refresh tokens) arbitrary strings
// around a valid refresh token. Properties: never a panic; a refusal wraps
// a sentinel with a bounded message; an acceptance is the very token MAC
// signs for the claims it returns, byte for byte (no other spelling of a
// refresh token passes, so a modified token can never act on its family).
func FuzzVerifyRefresh(f *testing.F) {
	m := fuzzMAC(f)
	rc := fuzzClaims()
	rc.UseFor, rc.Generation = UseRefresh, 3
	valid, err := m.Sign(rc)
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(valid, ".")
	r, keys := fuzzRing(f)
	access, err := r.Sign(fuzzClaims())
	if err != nil {
		f.Fatal(err)
	}
	other, _ := NewMAC([]byte("another refresh key, 32 bytes or more"), TypeRefresh)
	otherTok, _ := other.Sign(rc)
	sigBytes, _ := b64url.DecodeString(parts[2])
	fuzzseed.Add(f, map[string]fuzzseed.Seed{
		"valid":          {valid},
		"access-token":   {access},
		"other-key":      {otherTok},
		"tampered":       {parts[0] + "." + b64(strings.Replace(mustJSONF(rc), `"gen":3`, `"gen":4`, 1)) + "." + parts[2]},
		"truncated":      {valid[:len(valid)-1]},
		"sig-padded":     {valid + "="},
		"alg-none":       {b64(`{"alg":"none","kid":"`+m.KeyID()+`","typ":"rt+jwt"}`) + "." + parts[1] + "."},
		"two-segments":   {parts[0] + "." + parts[1]},
		"four-segments":  {valid + ".x"},
		"sig-std-base64": {parts[0] + "." + parts[1] + "." + base64.StdEncoding.EncodeToString(sigBytes)},
		"es256":          {signHeader(f, `{"alg":"ES256","kid":"fuzz-es","typ":"rt+jwt"}`, mustJSONF(rc), keys[fuzzESKID])},
		"empty":          {""},
	})
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := m.Verify(tok)
		if err != nil {
			checkVerifyError(t, tok, err)
			return
		}
		again, err := m.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		if again != tok {
			t.Fatalf("MAC.Verify accepted %q, a spelling other than the token it signs for those claims, %q", tok, again)
		}
		roundTrip(t, c)
	})
}

// FuzzClaimsJSON decodes arbitrary JSON as a claim set. Properties: never
// a panic; a decoded claim set reads each standard claim from its own
// name exactly (as every other JWT library does, so no two readers of one
// token disagree on iss, sub, aud or exp); it survives
// MarshalJSON/UnmarshalJSON, and signing and verifying it with the ring
// and with the MAC returns it unchanged.
func FuzzClaimsJSON(f *testing.F) {
	r, _ := fuzzRing(f)
	m := fuzzMAC(f)
	full, _ := json.Marshal(fuzzClaims())
	fuzzseed.Add(f, map[string]fuzzseed.Seed{
		"full":           {full},
		"aud-array":      {[]byte(`{"iss":"i","aud":["a","b"],"exp":1,"gen":2}`)},
		"aud-null":       {[]byte(`{"aud":null,"exp":1}`)},
		"extra-nested":   {[]byte(`{"exp":1,"sessionControl":{"a":[1,2,{"b":null}]},"typ":"Bearer"}`)},
		"case-twin":      {[]byte(`{"iss":"https://gate.example","ISS":"https://evil.example","exp":1}`)},
		"long-s":         {[]byte(`{"exp":1,"\u017fub":"admin"}`)},
		"duplicate":      {[]byte(`{"sub":"a","sub":"b"}`)},
		"not-object":     {[]byte(`["iss"]`)},
		"null":           {[]byte(`null`)},
		"big-number":     {[]byte(`{"exp":1e400}`)},
		"std-wrong-type": {[]byte(`{"exp":"tomorrow"}`)},
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Claims
		if err := json.Unmarshal(data, &c); err != nil {
			return
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatalf("Claims decoded what is not a JSON object: %v", err)
		}
		for name, got := range map[string]string{"iss": c.Issuer, "sub": c.Subject, "jti": c.ID, "sid": c.SessionID,
			"tenant": c.Tenant, "usefor": c.UseFor, "client_id": c.ClientID, "scope": c.Scope, "preferred_username": c.PreferredUsername} {
			var want string
			if v, ok := raw[name]; ok {
				_ = json.Unmarshal(v, &want)
			}
			if got != want {
				t.Fatalf("claim %s decoded as %q, but the token's %q claim is %q", name, got, name, want)
			}
		}
		var exp int64
		if v, ok := raw["exp"]; ok {
			_ = json.Unmarshal(v, &exp)
		}
		if c.Expiry != exp {
			t.Fatalf("exp decoded as %d, the token's exp is %d", c.Expiry, exp)
		}
		roundTrip(t, &c)
		rc := c
		if tok, err := m.Sign(&rc); err == nil {
			back, err := m.Verify(tok)
			if err != nil {
				t.Fatalf("MAC refuses its own token: %v", err)
			}
			sameClaims(t, "MAC sign/verify", &rc, back)
		}
		ac := c
		if tok, err := r.Sign(&ac); err == nil {
			back, err := r.Verify(tok)
			if err != nil {
				t.Fatalf("ring refuses its own token: %v", err)
			}
			back.KeyID = ""
			sameClaims(t, "ring sign/verify", &ac, back)
		}
	})
}

func mustJSONF(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// roundTrip checks that c encodes and decodes to itself.
func roundTrip(t *testing.T, c *Claims) {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("claims that decoded do not encode: %v", err)
	}
	var back Claims
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("encoded claims %s do not decode: %v", b, err)
	}
	back.KeyID = c.KeyID
	sameClaims(t, "JSON round trip", c, &back)
}

func sameClaims(t *testing.T, what string, want, got *Claims) {
	t.Helper()
	w, g := *want, *got
	// A nil and an empty Extra or Audience say the same.
	if len(w.Extra) == 0 {
		w.Extra = nil
	}
	if len(g.Extra) == 0 {
		g.Extra = nil
	}
	if len(w.Audience) == 0 {
		w.Audience = nil
	}
	if len(g.Audience) == 0 {
		g.Audience = nil
	}
	for k := range w.Extra {
		if standardClaims[k] {
			delete(w.Extra, k)
		}
	}
	if !reflect.DeepEqual(w, g) {
		wb, _ := json.Marshal(w)
		gb, _ := json.Marshal(g)
		if !bytes.Equal(wb, gb) || !reflect.DeepEqual(w.Extra, g.Extra) {
			t.Fatalf("%s changed the claims:\n want %+v\n got  %+v", what, w, g)
		}
	}
}

var _ = jose.EdDSA
