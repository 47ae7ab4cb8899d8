package token

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/fakeclock"
)

// memKeys is an in-memory KeyStore. The real backends are tested by the
// store conformance suite; the ring only needs these four calls.
type memKeys struct {
	mu   sync.Mutex
	keys map[string]KeyRecord
	fail error // returned by every call when set
}

var _ KeyStore = (*memKeys)(nil)

// The errors of memKeys, standing for a store's own sentinels.
var (
	errKeyExists = errors.New("memKeys: key exists")
	errNoKey     = errors.New("memKeys: no such key")
)

func newMemKeys() *memKeys { return &memKeys{keys: map[string]KeyRecord{}} }

func (m *memKeys) CreateKey(_ context.Context, k KeyRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if _, ok := m.keys[k.ID]; ok {
		return fmt.Errorf("key %s: %w", k.ID, errKeyExists)
	}
	m.keys[k.ID] = clone(k)
	return nil
}

func (m *memKeys) ListKeys(context.Context) ([]KeyRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	out := make([]KeyRecord, 0, len(m.keys))
	for _, k := range m.keys {
		out = append(out, clone(k))
	}
	slices.SortFunc(out, func(a, b KeyRecord) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func (m *memKeys) UpdateKey(_ context.Context, k KeyRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if _, ok := m.keys[k.ID]; !ok {
		return fmt.Errorf("key %s: %w", k.ID, errNoKey)
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
		return fmt.Errorf("key %s: %w", id, errNoKey)
	}
	delete(m.keys, id)
	return nil
}

func (m *memKeys) get(id string) (KeyRecord, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	return clone(k), ok
}

func clone(k KeyRecord) KeyRecord {
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
