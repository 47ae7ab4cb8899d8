package engine_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/token"
)

func jwksKids(t *testing.T, ring *token.Ring) []string {
	t.Helper()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(ring.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	return out
}

// TestKeyRotationWithTokensInFlight rotates the signing key while a
// session's tokens are out and checks that they keep working, that the new
// key is published before it signs, and that it signs after the lead.
func TestKeyRotationWithTokensInFlight(t *testing.T) {
	for _, alg := range []string{token.AlgEdDSA, token.AlgES256, token.AlgRS256} {
		t.Run(alg, func(t *testing.T) {
			e := newEnvAlg(t, alg)
			e.user("alice", true)
			g := e.signOn("alice", "oauth2")
			oldKid := kid(t, g.AccessToken)
			// Refresh tokens are signed with the engine's own HS256 key,
			// which is never published and does not rotate with the ring.
			refreshKid := kid(t, g.RefreshToken)
			if refreshKid == oldKid || slices.Contains(jwksKids(t, e.ring), refreshKid) {
				t.Fatalf("refresh token kid %s: want the unpublished refresh key", refreshKid)
			}

			k, err := e.ring.Rotate(e.ctx, -1)
			if err != nil {
				t.Fatal(err)
			}
			if k.ID == oldKid || k.Alg != alg {
				t.Fatalf("rotated key %s (%s)", k.ID, k.Alg)
			}
			if kids := jwksKids(t, e.ring); !slices.Contains(kids, k.ID) || !slices.Contains(kids, oldKid) {
				t.Fatalf("JWKS after rotate has %v; want both %s and %s", kids, oldKid, k.ID)
			}
			// Within the publish lead the old key still signs.
			e.clock.Advance(publishLead / 2)
			mid := e.mustRefresh(g.RefreshToken)
			if got := kid(t, mid.AccessToken); got != oldKid {
				t.Fatalf("token minted during the publish lead carries kid %s, want the old %s", got, oldKid)
			}
			e.clock.Advance(publishLead)
			// Tokens minted before the rotation still verify and refresh.
			if _, err := e.eng.VerifyAccess(g.AccessToken); err != nil {
				t.Fatalf("old access token after rotation: %v", err)
			}
			n := e.mustRefresh(mid.RefreshToken)
			if got := kid(t, n.AccessToken); got != k.ID {
				t.Fatalf("token minted after the lead carries kid %s, want %s", got, k.ID)
			}
			if got := kid(t, n.RefreshToken); got != refreshKid {
				t.Fatalf("refresh token minted after the lead carries kid %s, want %s", got, refreshKid)
			}
			if _, err := e.eng.VerifyAccess(n.RefreshToken); !errors.Is(err, engine.ErrWrongTokenUse) {
				t.Fatalf("refresh token as access token: %v, want ErrWrongTokenUse", err)
			}
			if _, err := e.eng.VerifyAccess(n.AccessToken); err != nil {
				t.Fatalf("new access token: %v", err)
			}
			// The old key stays published while tokens it signed may live.
			if _, err := e.ring.Prune(e.ctx); err != nil {
				t.Fatal(err)
			}
			if kids := jwksKids(t, e.ring); !slices.Contains(kids, oldKid) {
				t.Fatalf("old key left JWKS too early: %v", kids)
			}
			if algs := e.ring.Algorithms(); !slices.Equal(algs, []string{alg}) {
				t.Fatalf("algorithms %v, want [%s]", algs, alg)
			}
			// After the retention every token it signed has expired.
			e.clock.Advance(stableAbs + time.Minute)
			if _, err := e.ring.Prune(e.ctx); err != nil {
				t.Fatal(err)
			}
			if kids := jwksKids(t, e.ring); slices.Contains(kids, oldKid) || !slices.Contains(kids, k.ID) {
				t.Fatalf("JWKS after retention: %v", kids)
			}
		})
	}
}
