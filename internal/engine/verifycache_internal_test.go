package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/token"
)

func TestVerifiedCacheBoundedAndExpiring(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	vc := newVerifiedCache()
	key := func(i int) [sha256.Size]byte {
		var k [sha256.Size]byte
		binary.BigEndian.PutUint64(k[:], uint64(i))
		return k
	}
	long := &token.Claims{Expiry: now.Add(time.Hour).Unix()}
	for i := range verifiedCacheSize + 500 {
		vc.put(key(i), long, now)
	}
	if n := vc.c.Len(); n > verifiedCacheSize {
		t.Fatalf("cache holds %d entries, bound %d", n, verifiedCacheSize)
	}
	if _, ok := vc.get(key(verifiedCacheSize+499), now); !ok {
		t.Error("the newest entry was evicted")
	}

	short := &token.Claims{Expiry: now.Add(3 * time.Second).Unix()}
	vc.put(key(-1), short, now)
	if _, ok := vc.get(key(-1), now.Add(2*time.Second)); !ok {
		t.Error("entry gone before its token's exp")
	}
	if _, ok := vc.get(key(-1), now.Add(3*time.Second)); ok {
		t.Error("entry outlived its token's exp")
	}
	vc.put(key(-2), long, now)
	if _, ok := vc.get(key(-2), now.Add(verifiedMaxAge)); ok {
		t.Error("entry outlived the maximum age")
	}
	vc.put(key(-3), &token.Claims{Expiry: now.Unix()}, now)
	if _, ok := vc.get(key(-3), now); ok {
		t.Error("an expired token was cached")
	}
}

func TestClientCacheExpiresAndIsBounded(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	cc := newClientCache()
	cc.put(AuthenticatedClient{Client: store.Client{ID: "svc"}}, now)
	if _, ok := cc.get("svc", now.Add(clientCacheMaxAge-time.Millisecond)); !ok {
		t.Error("entry gone before its bound")
	}
	if _, ok := cc.get("svc", now.Add(clientCacheMaxAge)); ok {
		t.Error("entry served at its bound")
	}
	if _, ok := cc.get("svc", now.Add(-time.Second)); ok {
		t.Error("entry served when the clock went back")
	}
	for i := range clientCacheSize + 100 {
		cc.put(AuthenticatedClient{Client: store.Client{ID: fmt.Sprint("c", i)}}, now)
	}
	if n := cc.c.Len(); n > clientCacheSize {
		t.Fatalf("cache holds %d clients, bound %d", n, clientCacheSize)
	}
	if _, ok := cc.get(fmt.Sprint("c", clientCacheSize+99), now); !ok {
		t.Error("the newest entry was evicted")
	}
}
