// Command verify checks an access token against a tokengate issuer with a
// standard OIDC library (github.com/coreos/go-oidc/v3): it fetches
// discovery and the JWKS, and verifies signature, issuer, audience and
// expiry, and that the token says it is an access token (JOSE typ
// "at+jwt", which RFC 9068 section 4 asks resource servers to check and
// go-oidc does not).
//
//	go run ./examples/verify -issuer http://127.0.0.1:8080 "$ACCESS_TOKEN"
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
)

func main() {
	issuer := flag.String("issuer", "http://127.0.0.1:8080", "the gateway's issuer URL (its --public-url)")
	audience := flag.String("audience", "tokengate", "expected audience")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: verify [-issuer URL] [-audience AUD] ACCESS_TOKEN")
		os.Exit(2)
	}
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, *issuer)
	if err != nil {
		fmt.Fprintln(os.Stderr, "discovery:", err)
		os.Exit(1)
	}
	tok, err := provider.Verifier(&oidc.Config{ClientID: *audience}).Verify(ctx, flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "invalid token:", err)
		os.Exit(1)
	}
	if err := accessType(flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "invalid token:", err)
		os.Exit(1)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// sub is the user's immutable id (a client's own token: client:ID);
	// the name a person knows is preferred_username.
	who, _ := claims["preferred_username"].(string)
	if who == "" {
		who = tok.Subject
	}
	out, _ := json.MarshalIndent(claims, "", "  ")
	fmt.Printf("valid token for %s (sub %s), expires %s\n%s\n", who, tok.Subject, tok.Expiry.Format("2006-01-02 15:04:05 MST"), out)
}

// accessType checks the typ of a JWS whose signature was verified.
func accessType(tok string) error {
	head, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return err
	}
	var h struct {
		Typ string `json:"typ"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return err
	}
	if typ := strings.TrimPrefix(strings.ToLower(h.Typ), "application/"); typ != "at+jwt" {
		return fmt.Errorf("typ %q is not at+jwt: not an access token", h.Typ)
	}
	return nil
}
