package token

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestPruneShortensRetention checks that a key retired under an older,
// longer retention (a year: the longest session, before only access tokens
// counted) leaves the JWKS once the current retention has passed.
func TestPruneShortensRetention(t *testing.T) {
	ctx := context.Background()
	r, ks, clk := newTestRing(t, AlgEdDSA) // Retention: 24h
	old := r.Keys()[0].ID
	if _, err := r.Rotate(ctx, 0); err != nil {
		t.Fatal(err)
	}
	rec, _ := ks.get(old)
	rec.ExpiresAt = rec.RetiredAt.Add(365 * 24 * time.Hour)
	if err := ks.UpdateKey(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	if rec, _ = ks.get(old); !rec.ExpiresAt.Equal(rec.RetiredAt.Add(24 * time.Hour)) {
		t.Fatalf("retired key expires %s after retirement, want the retention 24h", rec.ExpiresAt.Sub(rec.RetiredAt))
	}
	clk.Advance(25 * time.Hour)
	if n, err := r.Prune(ctx); err != nil || n != 1 {
		t.Fatalf("Prune a day later = %d, %v; want the old key deleted", n, err)
	}
	if ids := jwksKIDs(t, r); slices.Contains(ids, old) {
		t.Fatalf("JWKS still has the old key: %v", ids)
	}
}

// TestRevoke checks that a revoked key leaves the JWKS and stops verifying
// at once on the node that revoked it and at the next Load on every other,
// and that signing never stops, whichever key is revoked.
func TestRevoke(t *testing.T) {
	ctx := context.Background()
	// node2 shares the store and only ever Loads, as another gateway node.
	node2 := func(t *testing.T, ks *memKeys, r *Ring) *Ring {
		t.Helper()
		n, err := NewRing(ks, testSealer(t), RingOptions{Retention: time.Hour, Now: r.opts.Now})
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Load(ctx); err != nil {
			t.Fatal(err)
		}
		return n
	}
	refused := func(t *testing.T, r *Ring, tok, who string) {
		t.Helper()
		if _, err := r.Verify(tok); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("%s: a token of the revoked key verifies: %v", who, err)
		}
	}
	t.Run("retired key", func(t *testing.T) {
		r, ks, clk := newTestRing(t, AlgEdDSA)
		old := r.Keys()[0].ID
		tok := mustSign(t, r, clk)
		cur, err := r.Rotate(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		other := node2(t, ks, r)
		if _, err := other.Verify(tok); err != nil {
			t.Fatalf("before the revocation: %v", err)
		}
		rv, err := r.Revoke(ctx, old)
		if err != nil {
			t.Fatal(err)
		}
		if rv.Revoked.ID != old || rv.Signer.ID != cur.ID || rv.Created {
			t.Fatalf("revocation %+v", rv)
		}
		refused(t, r, tok, "this node")
		if ids := jwksKIDs(t, r); !slices.Equal(ids, []string{cur.ID}) {
			t.Fatalf("JWKS %v, want only %s", ids, cur.ID)
		}
		if s := states(r); s[old] != StateRevoked || s[cur.ID] != StateCurrent {
			t.Fatalf("states %v", s)
		}
		// Until it reloads, another node still trusts the key: the
		// reload interval is the bound.
		if _, err := other.Verify(tok); err != nil {
			t.Fatalf("another node before its reload: %v", err)
		}
		if err := other.Load(ctx); err != nil {
			t.Fatal(err)
		}
		refused(t, other, tok, "another node after its reload")
		if got := header(t, mustSign(t, r, clk)).Get("kid"); got != cur.ID {
			t.Fatalf("signed by %s, want %s", got, cur.ID)
		}
	})
	t.Run("current key with a next one", func(t *testing.T) {
		r, _, clk := newTestRing(t, AlgES256)
		old := r.Keys()[0].ID
		tok := mustSign(t, r, clk)
		next, err := r.Rotate(ctx, -1) // signs in an hour
		if err != nil {
			t.Fatal(err)
		}
		rv, err := r.Revoke(ctx, old)
		if err != nil {
			t.Fatal(err)
		}
		if rv.Signer.ID != next.ID || rv.Created || !rv.Signer.ActiveFrom.Equal(storeTime(clk.Now())) {
			t.Fatalf("revocation %+v: want the published next key %s to sign from now", rv, next.ID)
		}
		refused(t, r, tok, "this node")
		if got := header(t, mustSign(t, r, clk)).Get("kid"); got != next.ID {
			t.Fatalf("signed by %s, want the next key %s at once", got, next.ID)
		}
	})
	t.Run("the only key", func(t *testing.T) {
		r, _, clk := newTestRing(t, AlgRS256)
		old := r.Keys()[0].ID
		tok := mustSign(t, r, clk)
		rv, err := r.Revoke(ctx, old)
		if err != nil {
			t.Fatal(err)
		}
		if !rv.Created || rv.Signer.ID == old || rv.Signer.Alg != AlgRS256 {
			t.Fatalf("revocation %+v: want a new key", rv)
		}
		refused(t, r, tok, "this node")
		if got := header(t, mustSign(t, r, clk)).Get("kid"); got != rv.Signer.ID {
			t.Fatalf("signed by %s, want the new key %s", got, rv.Signer.ID)
		}
	})
	t.Run("next key", func(t *testing.T) {
		r, _, clk := newTestRing(t, AlgEdDSA)
		cur := r.Keys()[0].ID
		next, err := r.Rotate(ctx, -1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Revoke(ctx, next.ID); err != nil {
			t.Fatal(err)
		}
		// The current key was to retire when the next one took over; it
		// keeps signing past that moment instead.
		clk.Advance(2 * time.Hour)
		if _, err := r.Prune(ctx); err != nil {
			t.Fatal(err)
		}
		if got := header(t, mustSign(t, r, clk)).Get("kid"); got != cur {
			t.Fatalf("signed by %s, want the current key %s", got, cur)
		}
		if ids := jwksKIDs(t, r); !slices.Equal(ids, []string{cur}) {
			t.Fatalf("JWKS %v", ids)
		}
	})
	t.Run("a revoked key supersedes nothing", func(t *testing.T) {
		// Two nodes ran EnsureKey together; the newer key is revoked.
		r, ks, clk := newTestRing(t, AlgEdDSA)
		first := r.Keys()[0].ID
		clk.Advance(time.Second)
		second, err := r.createKey(ctx, clk.Now(), 0)
		if err != nil {
			t.Fatal(err)
		}
		rv, err := r.Revoke(ctx, second.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rv.Signer.ID != first || rv.Created {
			t.Fatalf("revocation %+v, want the first key to go on signing", rv)
		}
		if _, err := r.Prune(ctx); err != nil {
			t.Fatal(err)
		}
		if rec, _ := ks.get(first); !rec.RetiredAt.IsZero() {
			t.Fatal("Prune retired the first key in favour of the revoked one")
		}
		if got := header(t, mustSign(t, r, clk)).Get("kid"); got != first {
			t.Fatalf("signed by %s", got)
		}
	})
	t.Run("twice, unknown, and pruned", func(t *testing.T) {
		r, ks, clk := newTestRing(t, AlgEdDSA)
		old := r.Keys()[0].ID
		if _, err := r.Revoke(ctx, old); err != nil {
			t.Fatal(err)
		}
		rv, err := r.Revoke(ctx, old)
		if err != nil || rv.Created || rv.Revoked.RevokedAt.IsZero() {
			t.Fatalf("second revocation = %+v, %v", rv, err)
		}
		if _, err := r.Revoke(ctx, "no-such-kid"); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("unknown kid: %v", err)
		}
		clk.Advance(25 * time.Hour) // past the retention
		if n, err := r.Prune(ctx); err != nil || n != 1 {
			t.Fatalf("Prune = %d, %v", n, err)
		}
		if _, ok := ks.get(old); ok {
			t.Fatal("the revoked key is still stored after the retention")
		}
	})
}
