package token

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

var allAlgs = []string{AlgEdDSA, AlgES256, AlgRS256}

func TestNewRingOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    RingOptions
		wantErr bool
	}{
		{"default alg", RingOptions{Retention: time.Hour}, false},
		{"ES256", RingOptions{Alg: AlgES256, Retention: time.Hour}, false},
		{"RS256", RingOptions{Alg: AlgRS256, Retention: time.Hour}, false},
		{"HS256 refused", RingOptions{Alg: "HS256", Retention: time.Hour}, true},
		{"none refused", RingOptions{Alg: "none", Retention: time.Hour}, true},
		{"no retention", RingOptions{}, true},
		{"negative lead", RingOptions{PublishLead: -time.Second, Retention: time.Hour}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRing(newMemKeys(), testSealer(t), tt.opts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewRing err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestSignVerify(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			r, ks, clk := newTestRing(t, alg)
			in := testClaims(clk.Now())
			in.Extra = map[string]any{"accountId": "acc1"}
			tok, err := r.Sign(in)
			if err != nil {
				t.Fatal(err)
			}
			h := header(t, tok)
			keys := r.Keys()
			if len(keys) != 1 || h["kid"] != keys[0].ID || h["alg"] != alg || h["typ"] != TypeAccess {
				t.Fatalf("header %v, ring keys %+v", h, keys)
			}
			if len(keys[0].ID) != 16 || strings.ContainsAny(keys[0].ID, "+/=") {
				t.Errorf("key id %q is not 16 URL-safe characters", keys[0].ID)
			}
			out, err := r.Verify(tok)
			if err != nil {
				t.Fatal(err)
			}
			if out.Subject != in.Subject || out.Expiry != in.Expiry || out.Extra["accountId"] != "acc1" {
				t.Fatalf("Verify = %+v, want %+v", out, in)
			}
			if err := out.Validate(clk.Now(), in.Issuer, "api", UseAccess, 0); err != nil {
				t.Fatal(err)
			}
			// Another node loading the same store verifies the token.
			other, err := NewRing(ks, testSealer(t), RingOptions{Retention: time.Hour, Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			if err := other.Load(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, err := other.Verify(tok); err != nil {
				t.Fatalf("other node: %v", err)
			}
			if got := r.Algorithms(); !slices.Equal(got, []string{alg}) {
				t.Errorf("Algorithms = %v", got)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	ctx := context.Background()
	// The ring holds a retired EdDSA key and a current ES256 key.
	r, ks, clk := newTestRing(t, AlgEdDSA)
	edKID := r.Keys()[0].ID
	edTok, err := r.Sign(testClaims(clk.Now()))
	if err != nil {
		t.Fatal(err)
	}
	es, err := NewRing(ks, testSealer(t), RingOptions{Alg: AlgES256, Retention: time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	esKey, err := es.Rotate(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Load(ctx); err != nil {
		t.Fatal(err)
	}
	edRec, _ := ks.get(edKID)
	edPriv, esPriv := privateKey(t, ks, edKID), privateKey(t, ks, esKey.ID)

	payload := b64(mustJSON(t, testClaims(clk.Now())))
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: edRec.Public})
	stranger, _, _ := newTestRing(t, AlgEdDSA)
	strangerTok, err := stranger.Sign(testClaims(clk.Now()))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(edTok, ".")

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"alg none", b64(`{"alg":"none","kid":"`+edKID+`","typ":"JWT"}`) + "." + payload + ".", ErrMalformed},
		{"HS256 keyed with the PKIX public key", hs256(`{"alg":"HS256","kid":"`+edKID+`","typ":"JWT"}`, payload, edRec.Public), ErrMalformed},
		{"HS256 keyed with the PEM public key", hs256(`{"alg":"HS256","kid":"`+edKID+`","typ":"JWT"}`, payload, pubPEM), ErrMalformed},
		{"RS256 not in the ring", b64(`{"alg":"RS256","kid":"`+edKID+`"}`) + "." + payload + "." + parts[2], ErrMalformed},
		{"unknown kid", strangerTok, ErrUnknownKey},
		{"ES256 signature under an EdDSA kid", signWith(t, jose.ES256, esPriv, edKID, payload), ErrUnknownKey},
		{"EdDSA signature under an ES256 kid", signWith(t, jose.EdDSA, edPriv, esKey.ID, payload), ErrUnknownKey},
		{"missing kid", signWith(t, jose.EdDSA, edPriv, "", payload), ErrMalformed},
		{"tampered payload", parts[0] + "." + b64(`{"sub":"admin","exp":9999999999}`) + "." + parts[2], ErrSignature},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flipChar(parts[2]), ErrSignature},
		{"signature of another key with the same alg", parts[0] + "." + parts[1] + "." + strings.Split(strangerTok, ".")[2], ErrSignature},
		{"not a JWS", "hello", ErrMalformed},
		{"empty", "", ErrMalformed},
		{"four segments", edTok + ".x", ErrMalformed},
		{"JSON serialization", `{"payload":"` + payload + `","signatures":[]}`, ErrMalformed},
		{"payload not JSON", signWith(t, jose.EdDSA, edPriv, edKID, b64("not json")), ErrMalformed},
		{"wrong typ", signWithHeader(t, jose.EdDSA, edPriv, edKID, payload, "at+jwt+foo"), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := r.Verify(tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %+v, %v; want %v", c, err, tt.want)
			}
		})
	}
	t.Run("both keys still verify their own tokens", func(t *testing.T) {
		if _, err := r.Verify(edTok); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Verify(signWith(t, jose.ES256, esPriv, esKey.ID, payload)); err != nil {
			t.Fatal(err)
		}
	})
}

// TestVerifyRequiresAccessType checks RFC 8725 section 3.11 and RFC 9068
// section 4 for every algorithm: a token signed by a key of the ring is an
// access token only when its typ says at+jwt (the media type compared
// case-insensitively, with or without "application/").
func TestVerifyRequiresAccessType(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			r, ks, clk := newTestRing(t, alg)
			kid := r.Keys()[0].ID
			priv := privateKey(t, ks, kid)
			payload := b64(mustJSON(t, testClaims(clk.Now())))
			ja := jose.SignatureAlgorithm(alg)
			for typ, ok := range map[string]bool{
				TypeAccess: true, "AT+JWT": true, "application/at+jwt": true, "Application/At+JWT": true,
				"JWT": false, "jwt": false, "application/jwt": false, TypeRefresh: false, "at+jwt+x": false,
				"xat+jwt": false, "application/": false, "": false,
			} {
				_, err := r.Verify(signWithHeader(t, ja, priv, kid, payload, typ))
				if ok && err != nil {
					t.Errorf("typ %q: %v", typ, err)
				}
				if !ok && !errors.Is(err, ErrMalformed) {
					t.Errorf("typ %q: Verify = %v, want ErrMalformed", typ, err)
				}
			}
			s, err := jose.NewSigner(jose.SigningKey{Algorithm: ja, Key: jose.JSONWebKey{Key: priv, KeyID: kid}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := base64.RawURLEncoding.DecodeString(payload)
			obj, err := s.Sign(raw)
			if err != nil {
				t.Fatal(err)
			}
			untyped, _ := obj.CompactSerialize()
			if _, ok := header(t, untyped)["typ"]; ok {
				t.Fatal("the untyped token has a typ")
			}
			if _, err := r.Verify(untyped); !errors.Is(err, ErrMalformed) {
				t.Errorf("no typ: Verify = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestSignWithoutKeys(t *testing.T) {
	r, err := NewRing(newMemKeys(), testSealer(t), RingOptions{Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Sign(&Claims{Subject: "x"}); !errors.Is(err, ErrNoSigningKey) {
		t.Fatalf("Sign = %v, want ErrNoSigningKey", err)
	}
	if _, err := r.Verify("a.b.c"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Verify = %v, want ErrUnknownKey", err)
	}
	if got := string(r.JWKS()); got != `{"keys":[]}` {
		t.Fatalf("JWKS = %s", got)
	}
	if len(r.Algorithms()) != 0 || len(r.Keys()) != 0 {
		t.Fatal("a ring without keys reports keys")
	}
}

// privateKey unseals a stored private key, as only a test may.
func privateKey(t *testing.T, ks *memKeys, id string) crypto.Signer {
	t.Helper()
	rec, ok := ks.get(id)
	if !ok {
		t.Fatalf("no key %s", id)
	}
	der, err := testSealer(t).Open(rec.PrivateSealed, []byte(id))
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	return k.(crypto.Signer)
}

// signWith signs the base64url payload with key as an access token,
// setting kid unless empty.
func signWith(t *testing.T, alg jose.SignatureAlgorithm, key crypto.Signer, kid, payload string) string {
	return signWithHeader(t, alg, key, kid, payload, TypeAccess)
}

func signWithHeader(t *testing.T, alg jose.SignatureAlgorithm, key crypto.Signer, kid, payload, typ string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign(raw)
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// hs256 builds by hand an HMAC-SHA256 JWS keyed with key: the classic
// algorithm-confusion attack when key is a public key.
func hs256(headerJSON, payload string, key []byte) string {
	input := b64(headerJSON) + "." + payload
	m := hmac.New(sha256.New, key)
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func flipChar(s string) string {
	b := []byte(s)
	if b[3] == 'A' {
		b[3] = 'B'
	} else {
		b[3] = 'A'
	}
	return string(b)
}

// jwsHeader is a decoded JWS header.
type jwsHeader map[string]any

// Get returns a string header parameter.
func (h jwsHeader) Get(name string) string {
	s, _ := h[name].(string)
	return s
}

// header decodes the protected header of a compact JWS.
func header(t *testing.T, tok string) jwsHeader {
	t.Helper()
	seg, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var h jwsHeader
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestConcurrentSignVerifyLoad(t *testing.T) {
	r, _, clk := newTestRing(t, AlgEdDSA)
	ctx := context.Background()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				tok, err := r.Sign(testClaims(clk.Now()))
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := r.Verify(tok); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 5 {
		if _, err := r.Rotate(ctx, 0); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
		if err := r.Load(ctx); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}
