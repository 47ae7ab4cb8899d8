package token

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// TestJWKSWithGoOIDC checks the JWKS and the tokens against an independent
// verifier: go-oidc fetches JWKS() over HTTP and verifies signature, issuer,
// audience and expiry.
func TestJWKSWithGoOIDC(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			r, _, clk := newTestRing(t, alg)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/jwk-set+json")
				w.Write(r.JWKS())
			}))
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			claims := testClaims(clk.Now())
			tok, err := r.Sign(claims)
			if err != nil {
				t.Fatal(err)
			}
			newVerifier := func() *oidc.IDTokenVerifier {
				return oidc.NewVerifier(claims.Issuer, oidc.NewRemoteKeySet(ctx, srv.URL), &oidc.Config{
					ClientID:             "api",
					SupportedSigningAlgs: r.Algorithms(),
					Now:                  clk.Now,
				})
			}
			verifier := newVerifier()
			idt, err := verifier.Verify(ctx, tok)
			if err != nil {
				t.Fatalf("go-oidc rejected the token: %v", err)
			}
			if idt.Subject != claims.Subject {
				t.Fatalf("subject %q, want %q", idt.Subject, claims.Subject)
			}

			// After a rotation both keys verify. A fresh key set is used
			// because go-oidc briefly hands a just-finished fetch to the
			// next caller, which would make the test flaky.
			if _, err := r.Rotate(ctx, 0); err != nil {
				t.Fatal(err)
			}
			tok2, err := r.Sign(testClaims(clk.Now()))
			if err != nil {
				t.Fatal(err)
			}
			verifier = newVerifier()
			for _, tk := range []string{tok, tok2} {
				if _, err := verifier.Verify(ctx, tk); err != nil {
					t.Fatalf("go-oidc rejected a token after rotation: %v", err)
				}
			}

			// A key go-oidc has never seen is refused.
			stranger, _, _ := newTestRing(t, alg)
			tok3, err := stranger.Sign(testClaims(clk.Now()))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := verifier.Verify(ctx, tok3); err == nil {
				t.Fatal("go-oidc accepted a token of a foreign key")
			}
		})
	}
}
