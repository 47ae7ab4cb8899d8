package token

import (
	"errors"
	"testing"
)

// TestIDTokensApart: an ID token is signed by the ring's current key with
// typ JWT; it verifies only as an ID token and an access token only as an
// access token, so neither passes for the other anywhere.
func TestIDTokensApart(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			r, _, clk := newTestRing(t, alg)
			in := testClaims(clk.Now())
			id, gotAlg, err := r.SignID(in)
			if err != nil {
				t.Fatal(err)
			}
			if gotAlg != alg || r.SigningAlg() != alg {
				t.Errorf("SignID alg %q, SigningAlg %q, want %q", gotAlg, r.SigningAlg(), alg)
			}
			if h := header(t, id); h["typ"] != TypeID || h["kid"] != r.Keys()[0].ID || h["alg"] != alg {
				t.Errorf("ID token header %v", h)
			}
			out, err := r.VerifyID(id)
			if err != nil {
				t.Fatal(err)
			}
			if out.Subject != in.Subject {
				t.Errorf("VerifyID sub %q, want %q", out.Subject, in.Subject)
			}
			if _, err := r.Verify(id); !errors.Is(err, ErrMalformed) {
				t.Errorf("an ID token verified as an access token: %v", err)
			}
			at, err := r.Sign(in)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.VerifyID(at); !errors.Is(err, ErrMalformed) {
				t.Errorf("an access token verified as an ID token: %v", err)
			}
		})
	}
}
