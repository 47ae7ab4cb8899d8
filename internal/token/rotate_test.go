package token

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/internal/fakeclock"
)

// jwksKIDs returns the key IDs of the ring's JWKS, checking each entry.
func jwksKIDs(t *testing.T, r *Ring) []string {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(r.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range set.Keys {
		if !k.IsPublic() || k.Use != "sig" || k.Algorithm == "" || !k.Valid() {
			t.Errorf("bad JWKS entry %s: public=%v use=%q alg=%q", k.KeyID, k.IsPublic(), k.Use, k.Algorithm)
		}
		ids = append(ids, k.KeyID)
	}
	if strings.Contains(string(r.JWKS()), `"d"`) {
		t.Error("JWKS contains private key material")
	}
	slices.Sort(ids)
	return ids
}

func states(r *Ring) map[string]string {
	m := map[string]string{}
	for _, k := range r.Keys() {
		m[k.ID] = k.State
	}
	return m
}

func TestRotationWithTokensInFlight(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			ctx := context.Background()
			r, ks, clk := newTestRing(t, alg)
			// A second node shares the store and only ever Loads.
			node2, err := NewRing(ks, testSealer(t), RingOptions{Retention: time.Hour, Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			old := r.Keys()[0].ID
			tokOld, err := r.Sign(testClaims(clk.Now()))
			if err != nil {
				t.Fatal(err)
			}

			next, err := r.Rotate(ctx, -1) // PublishLead: one hour
			if err != nil {
				t.Fatal(err)
			}
			if err := node2.Load(ctx); err != nil {
				t.Fatal(err)
			}
			if !next.ActiveFrom.Equal(clk.Now().Add(time.Hour)) {
				t.Fatalf("ActiveFrom = %v, want now+PublishLead", next.ActiveFrom)
			}
			if got, want := jwksKIDs(t, node2), sortedIDs(old, next.ID); !slices.Equal(got, want) {
				t.Fatalf("JWKS before activation = %v, want both keys %v", got, want)
			}
			if got := header(t, mustSign(t, r, clk)).Get("kid"); got != old {
				t.Fatalf("before activation signed by %s, want the old key %s", got, old)
			}
			if s := states(r); s[old] != StateCurrent || s[next.ID] != StateNext {
				t.Fatalf("states before activation %v", s)
			}
			oldRec, _ := ks.get(old)
			if !oldRec.RetiredAt.Equal(next.ActiveFrom) || !oldRec.ExpiresAt.Equal(next.ActiveFrom.Add(24*time.Hour)) {
				t.Fatalf("old key retired %v expires %v", oldRec.RetiredAt, oldRec.ExpiresAt)
			}

			// The new key takes over at ActiveFrom without another Load.
			clk.Advance(time.Hour)
			tokNew := mustSign(t, r, clk)
			if got := header(t, tokNew).Get("kid"); got != next.ID {
				t.Fatalf("after activation signed by %s, want %s", got, next.ID)
			}
			for _, node := range []*Ring{r, node2} {
				for _, tok := range []string{tokOld, tokNew} {
					if _, err := node.Verify(tok); err != nil {
						t.Fatalf("token in flight rejected: %v", err)
					}
				}
			}
			if s := states(r); s[old] != StateRetired || s[next.ID] != StateCurrent {
				t.Fatalf("states after activation %v", s)
			}

			// Prune keeps the old key until Retention has passed.
			if n, err := r.Prune(ctx); err != nil || n != 0 {
				t.Fatalf("early Prune = %d, %v", n, err)
			}
			if _, err := r.Verify(tokOld); err != nil {
				t.Fatalf("old token after early Prune: %v", err)
			}
			clk.Advance(24 * time.Hour)
			if n, err := r.Prune(ctx); err != nil || n != 1 {
				t.Fatalf("Prune = %d, %v; want 1 key deleted", n, err)
			}
			if got := jwksKIDs(t, r); !slices.Equal(got, []string{next.ID}) {
				t.Fatalf("JWKS after Prune = %v, want only %s", got, next.ID)
			}
			if _, err := r.Verify(tokOld); !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("pruned key's token: %v, want ErrUnknownKey", err)
			}
			if _, err := r.Verify(tokNew); err != nil {
				t.Fatal(err)
			}
			if err := node2.Load(ctx); err != nil {
				t.Fatal(err)
			}
			if got := jwksKIDs(t, node2); !slices.Equal(got, []string{next.ID}) {
				t.Fatalf("node 2 JWKS after Prune = %v", got)
			}
		})
	}
}

func TestRotateImmediatelyAndTwice(t *testing.T) {
	ctx := context.Background()
	r, ks, clk := newTestRing(t, AlgEdDSA)
	k1 := r.Keys()[0].ID
	k2, err := r.Rotate(ctx, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// A second rotation that activates sooner supersedes both.
	k3, err := r.Rotate(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := header(t, mustSign(t, r, clk)).Get("kid"); got != k3.ID {
		t.Fatalf("signed by %s, want %s", got, k3.ID)
	}
	for _, id := range []string{k1, k2.ID} {
		rec, _ := ks.get(id)
		if !rec.RetiredAt.Equal(k3.ActiveFrom) {
			t.Errorf("key %s RetiredAt = %v, want %v", id, rec.RetiredAt, k3.ActiveFrom)
		}
	}
	clk.Advance(3 * time.Hour) // k2's ActiveFrom has passed but it was superseded
	if got := header(t, mustSign(t, r, clk)).Get("kid"); got != k3.ID {
		t.Fatalf("signed by %s, want %s", got, k3.ID)
	}
	if s := states(r); s[k1] != StateRetired || s[k2.ID] != StateRetired || s[k3.ID] != StateCurrent {
		t.Fatalf("states %v", s)
	}
}

func TestEnsureKey(t *testing.T) {
	ctx := context.Background()
	r, _, clk := newTestRing(t, AlgES256)
	if created, err := r.EnsureKey(ctx); err != nil || created {
		t.Fatalf("EnsureKey with a current key = %v, %v", created, err)
	}
	// A store holding only a key not yet active gets an immediate key.
	ks2 := newMemKeys()
	r2, err := NewRing(ks2, testSealer(t), RingOptions{Retention: time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r2.createKey(ctx, clk.Now(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if created, err := r2.EnsureKey(ctx); err != nil || !created {
		t.Fatalf("EnsureKey with only a next key = %v, %v", created, err)
	}
	mustSign(t, r2, clk)
	if len(r.Keys()) != 1 || len(r2.Keys()) != 2 {
		t.Fatalf("keys: %d and %d", len(r.Keys()), len(r2.Keys()))
	}
}

func TestPruneRetiresSupersededKeys(t *testing.T) {
	// Two nodes ran EnsureKey together and each created a current key.
	ctx := context.Background()
	r, ks, clk := newTestRing(t, AlgEdDSA)
	first := r.Keys()[0].ID
	clk.Advance(time.Second)
	second, err := r.createKey(ctx, clk.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := r.Prune(ctx); err != nil || n != 0 {
		t.Fatalf("Prune = %d, %v", n, err)
	}
	rec, _ := ks.get(first)
	if !rec.RetiredAt.Equal(second.ActiveFrom) || !rec.ExpiresAt.Equal(second.ActiveFrom.Add(24*time.Hour)) {
		t.Fatalf("superseded key: retired %v expires %v", rec.RetiredAt, rec.ExpiresAt)
	}
	if rec, _ := ks.get(second.ID); !rec.RetiredAt.IsZero() {
		t.Fatal("the newest key was retired")
	}
}

func TestLoad(t *testing.T) {
	ctx := context.Background()
	t.Run("reuses unchanged keys", func(t *testing.T) {
		r, _, _ := newTestRing(t, AlgRS256)
		before := r.state.Load()
		if err := r.Load(ctx); err != nil {
			t.Fatal(err)
		}
		after := r.state.Load()
		if before == after || len(after.signing) != 1 || before.signing[0].signer != after.signing[0].signer {
			t.Fatal("Load rebuilt an unchanged key's signer")
		}
	})
	t.Run("wrong master key keeps the previous snapshot", func(t *testing.T) {
		r, ks, clk := newTestRing(t, AlgEdDSA)
		other, err := NewSealer([]byte(strings.Repeat("x", 32)))
		if err != nil {
			t.Fatal(err)
		}
		intruder, err := NewRing(ks, other, RingOptions{Retention: time.Hour, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		if err := intruder.Load(ctx); err == nil {
			t.Fatal("Load with the wrong master key succeeded")
		}
		if _, err := intruder.Sign(testClaims(clk.Now())); !errors.Is(err, ErrNoSigningKey) {
			t.Fatalf("Sign after failed Load = %v", err)
		}
		mustSign(t, r, clk)
	})
	t.Run("sealed key swapped between rows", func(t *testing.T) {
		r, ks, clk := newTestRing(t, AlgEdDSA)
		clk.Advance(time.Second)
		k2, err := r.createKey(ctx, clk.Now(), 0)
		if err != nil {
			t.Fatal(err)
		}
		k1, _ := ks.get(r.Keys()[0].ID)
		k1.PrivateSealed = k2.PrivateSealed
		k1.RetiredAt = time.Time{}
		if err := ks.UpdateKey(ctx, k1); err != nil {
			t.Fatal(err)
		}
		if err := r.Load(ctx); err == nil {
			t.Fatal("Load accepted a private key sealed for another row")
		}
	})
	t.Run("store error", func(t *testing.T) {
		r, ks, clk := newTestRing(t, AlgEdDSA)
		ks.fail = errors.New("disk on fire")
		if err := r.Load(ctx); err == nil {
			t.Fatal("Load hid the store error")
		}
		mustSign(t, r, clk)
	})
}

func mustSign(t *testing.T, r *Ring, clk *fakeclock.Clock) string {
	t.Helper()
	tok, err := r.Sign(testClaims(clk.Now()))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func sortedIDs(ids ...string) []string {
	slices.Sort(ids)
	return ids
}
