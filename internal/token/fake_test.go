package token

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/fakeclock"
	"github.com/tokengate/tokengate/internal/store"
)

// memKeys is an in-memory KeyStore. The real backends are tested by the
// store conformance suite; the ring only needs these four calls.
type memKeys struct {
	mu   sync.Mutex
	keys map[string]store.SigningKey
	fail error // returned by every call when set
}

var _ KeyStore = (*memKeys)(nil)

func newMemKeys() *memKeys { return &memKeys{keys: map[string]store.SigningKey{}} }

func (m *memKeys) CreateKey(_ context.Context, k store.SigningKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if _, ok := m.keys[k.ID]; ok {
		return fmt.Errorf("key %s: %w", k.ID, store.ErrConflict)
	}
	m.keys[k.ID] = clone(k)
	return nil
}

func (m *memKeys) ListKeys(context.Context) ([]store.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	out := make([]store.SigningKey, 0, len(m.keys))
	for _, k := range m.keys {
		out = append(out, clone(k))
	}
	slices.SortFunc(out, func(a, b store.SigningKey) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func (m *memKeys) UpdateKey(_ context.Context, k store.SigningKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if _, ok := m.keys[k.ID]; !ok {
		return fmt.Errorf("key %s: %w", k.ID, store.ErrNotFound)
	}
	m.keys[k.ID] = clone(k)
	return nil
}

func (m *memKeys) DeleteKey(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if _, ok := m.keys[id]; !ok {
		return fmt.Errorf("key %s: %w", id, store.ErrNotFound)
	}
	delete(m.keys, id)
	return nil
}

func (m *memKeys) get(id string) (store.SigningKey, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	return clone(k), ok
}

func clone(k store.SigningKey) store.SigningKey {
	k.Public = slices.Clone(k.Public)
	k.PrivateSealed = slices.Clone(k.PrivateSealed)
	return k
}

// testMasterKey is a fixed master key for tests.
var testMasterKey = []byte("0123456789abcdef0123456789abcdef")

func testSealer(t testing.TB) *Sealer {
	t.Helper()
	s, err := NewSealer(testMasterKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newTestRing returns a ring with one key of alg, on a fake store and clock.
func newTestRing(t testing.TB, alg string) (*Ring, *memKeys, *fakeclock.Clock) {
	t.Helper()
	ks, clk := newMemKeys(), fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	r, err := NewRing(ks, testSealer(t), RingOptions{
		Alg: alg, PublishLead: time.Hour, Retention: 24 * time.Hour, Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.EnsureKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r, ks, clk
}

// testClaims returns claims valid for an hour from now.
func testClaims(now time.Time) *Claims {
	return &Claims{
		Issuer: "https://gate.example", Subject: "u1", Audience: Audience{"api"},
		IssuedAt: now.Unix(), Expiry: now.Add(time.Hour).Unix(), Exi: 3600,
		ID: "j1", UseFor: UseAccess,
	}
}
