package token

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

func testMAC(t testing.TB, fill byte) *MAC {
	t.Helper()
	m, err := NewMAC(bytes.Repeat([]byte{fill}, 32), TypeRefresh)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMACRoundTrip(t *testing.T) {
	m := testMAC(t, 1)
	c := &Claims{Issuer: "https://gw", Subject: "sumo", Expiry: 2000000000, UseFor: UseRefresh, SessionID: "s1", Generation: 3,
		Extra: map[string]any{"typ": "RefreshAuthN"}}
	tok, err := m.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := m.Sign(c)
	if again != tok {
		t.Error("signing the same claims twice gave different tokens")
	}
	if !m.IsMAC(tok) {
		t.Error("IsMAC = false for the MAC's own token")
	}
	got, err := m.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "sumo" || got.Generation != 3 || got.SessionID != "s1" || got.Extra["typ"] != "RefreshAuthN" {
		t.Errorf("claims %+v", got)
	}

	// A standard JOSE library verifies it with the same key: it is an
	// ordinary HS256 JWS.
	obj, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil {
		t.Fatal(err)
	}
	if obj.Signatures[0].Header.KeyID != m.KeyID() {
		t.Errorf("kid %q, want %q", obj.Signatures[0].Header.KeyID, m.KeyID())
	}
	if _, err := obj.Verify(bytes.Repeat([]byte{1}, 32)); err != nil {
		t.Errorf("go-jose verification: %v", err)
	}
}

func TestMACRejects(t *testing.T) {
	m := testMAC(t, 1)
	tok, err := m.Sign(&Claims{Subject: "sumo", UseFor: UseRefresh})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	enc := base64.RawURLEncoding
	flipped := []byte(tok)
	flipped[len(flipped)-3] ^= 'A' ^ 'B'
	otherPayload := parts[0] + "." + enc.EncodeToString([]byte(`{"sub":"admin","usefor":"refresh"}`)) + "." + parts[2]
	noneHeader := enc.EncodeToString([]byte(`{"alg":"none","kid":"`+m.KeyID()+`","typ":"JWT"}`)) + "." + parts[1] + "."
	otherKey, _ := testMAC(t, 2).Sign(&Claims{Subject: "sumo", UseFor: UseRefresh})

	tests := []struct {
		name string
		tok  string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"two parts", parts[0] + "." + parts[1], ErrMalformed},
		{"four parts", tok + ".x", ErrMalformed},
		{"bad signature", string(flipped), ErrSignature},
		{"payload swapped", otherPayload, ErrSignature},
		{"signature stripped", parts[0] + "." + parts[1] + ".", ErrMalformed},
		{"alg none", noneHeader, ErrUnknownKey},
		{"another key", otherKey, ErrUnknownKey},
		{"signature not base64url", parts[0] + "." + parts[1] + ".!!!!", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := m.Verify(tt.tok); !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := NewMAC(make([]byte, 16), TypeRefresh); err == nil {
		t.Error("NewMAC accepted a 16-byte key")
	}
	if _, err := NewMAC(make([]byte, 32), ""); err == nil {
		t.Error("NewMAC accepted no token type")
	}
}

// TestMACPinsType checks RFC 8725 section 3.11 for MAC tokens: a token is
// written with the MAC's typ, and one signed under the same key but of
// another type, or of none, is refused.
func TestMACPinsType(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	m := testMAC(t, 1)
	c := &Claims{Subject: "sumo", UseFor: UseRefresh, Expiry: 2000000000}
	tok, err := m.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	if h := header(t, tok); h["typ"] != TypeRefresh || h["alg"] != "HS256" {
		t.Errorf("header %v", h)
	}
	for _, typ := range []string{"JWT", "jwt", TypeAccess, "RT+JWT", "application/rt+jwt", "rt+jwt+x"} {
		other, err := NewMAC(key, typ)
		if err != nil {
			t.Fatal(err)
		}
		forged, err := other.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Verify(forged); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("typ %q: Verify = %v, want ErrUnknownKey", typ, err)
		}
		if m.IsMAC(forged) {
			t.Errorf("typ %q: IsMAC = true", typ)
		}
	}
	// No typ at all: the header {"alg","kid"} signed under the key.
	parts := strings.Split(tok, ".")
	head := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"` + m.KeyID() + `"}`))
	untyped := head + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(m.sum([]byte(head+"."+parts[1])))
	if _, err := m.Verify(untyped); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("no typ: Verify = %v, want ErrUnknownKey", err)
	}
}

func BenchmarkMACSign(b *testing.B) {
	m := testMAC(b, 1)
	c := &Claims{Issuer: "http://127.0.0.1:8080", Subject: "bench", Expiry: 2000000000, UseFor: UseRefresh, SessionID: "01JSESSIONID0000000000000", Generation: 7}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Sign(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMACVerify(b *testing.B) {
	m := testMAC(b, 1)
	tok, _ := m.Sign(&Claims{Issuer: "http://127.0.0.1:8080", Subject: "bench", Expiry: 2000000000, UseFor: UseRefresh, SessionID: "01JSESSIONID0000000000000", Generation: 7})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// nonCanonical returns tok with the padding bits of its last base64url
// character set: another spelling of the same signature bytes, which a
// lenient decoder reads as the original.
func nonCanonical(t *testing.T, tok string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, tok[len(tok)-1])
	sig := tok[strings.LastIndexByte(tok, '.')+1:]
	pad := (len(sig) * 6) % 8 // bits of the last character that carry nothing
	if pad == 0 {
		t.Fatalf("signature of %d characters has no padding bits", len(sig))
	}
	return tok[:len(tok)-1] + string(alphabet[last^1])
}

// withNewline puts a "\r\n" into tok's signature, which base64 decoders skip.
func withNewline(tok string) string { return tok[:len(tok)-4] + "\r\n" + tok[len(tok)-4:] }

// TestVerifyRefusesNonCanonicalSignature checks that a token whose
// signature segment is another base64url spelling of the same bytes (a
// one-bit flip in the padding bits of its last character) is refused:
// only the very token that was issued is a credential, so a modified
// refresh token can never act on the family it imitates.
func TestVerifyRefusesNonCanonicalSignature(t *testing.T) {
	t.Run("MAC", func(t *testing.T) {
		m, err := NewMAC([]byte("0123456789abcdef0123456789abcdef"), TypeRefresh)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := m.Sign(&Claims{Subject: "u1", Expiry: 10, UseFor: UseRefresh})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Verify(nonCanonical(t, tok)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("Verify of a non-canonical spelling = %v, want ErrMalformed", err)
		}
		if _, err := m.Verify(withNewline(tok)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("Verify with a newline in the signature = %v, want ErrMalformed", err)
		}
	})
	for _, alg := range []string{AlgEdDSA, AlgES256, AlgRS256} {
		t.Run(alg, func(t *testing.T) {
			r, _, clk := newTestRing(t, alg)
			tok, err := r.Sign(testClaims(clk.Now()))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Verify(nonCanonical(t, tok)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Verify of a non-canonical spelling = %v, want ErrMalformed", err)
			}
			if _, err := r.Verify(withNewline(tok)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Verify with a newline in the signature = %v, want ErrMalformed", err)
			}
		})
	}
}
