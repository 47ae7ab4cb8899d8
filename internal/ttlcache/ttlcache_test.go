package ttlcache

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestCacheBoundedAndExpiring(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	c := New[string, int](100)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				k := fmt.Sprint(g, "/", i)
				c.Put(k, i, now.Add(time.Second), now)
				c.Get(k, now)
			}
		}()
	}
	wg.Wait()
	if n := c.Len(); n > 100 {
		t.Fatalf("cache holds %d entries, bound 100", n)
	}
	c.Put("x", 1, now.Add(2*time.Second), now)
	if v, ok := c.Get("x", now.Add(time.Second)); !ok || v != 1 {
		t.Fatalf("fresh entry missing")
	}
	if _, ok := c.Get("x", now.Add(2*time.Second)); ok {
		t.Fatalf("entry outlived its time")
	}
	c.Put("y", 1, now, now)
	if _, ok := c.Get("y", now); ok {
		t.Fatalf("an already expired entry was stored")
	}
}
