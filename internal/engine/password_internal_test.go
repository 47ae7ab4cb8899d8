package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"runtime"
	"testing"
	"time"
)

// TestHasherQueue checks the counts behind the hash pool's gauges: a
// caller holding a worker is busy, one waiting for a worker is queued,
// and one that gives up leaves the queue.
func TestHasherQueue(t *testing.T) {
	h, err := newHasher(1, 8192, 1, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := h.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if len(h.slots) != 1 || h.waiting.Load() != 0 {
		t.Fatalf("one worker taken: busy %d, queue %d", len(h.slots), h.waiting.Load())
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- h.acquire(wctx) }()
	// Wait for the second caller to queue; the bound only turns a hang
	// into a failure.
	for deadline := time.Now().Add(time.Minute); h.waiting.Load() != 1; runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatal("the second caller never queued")
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, ErrBusy) {
		t.Fatalf("the caller that gave up: %v", err)
	}
	if h.waiting.Load() != 0 || len(h.slots) != 1 {
		t.Fatalf("after giving up: busy %d, queue %d", len(h.slots), h.waiting.Load())
	}
	h.release()
	if len(h.slots) != 0 {
		t.Fatalf("after release: busy %d", len(h.slots))
	}
}
