package engine

import (
	"runtime"
	"syscall"
	"testing"
)

// niceOf returns the niceness of the calling thread. The raw getpriority
// system call returns 20 - nice.
func niceOf(t *testing.T) int {
	t.Helper()
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	if err != nil {
		t.Fatal(err)
	}
	return 20 - p
}

func TestLowPriorityRunsOnANicedThreadOfItsOwn(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := niceOf(t)
	var inside, tid int
	lowPriority(func() {
		inside, tid = niceOf(t), syscall.Gettid()
	})
	if want := min(before+hashNice, 19); inside != want {
		t.Errorf("nice inside lowPriority = %d, want %d", inside, want)
	}
	if tid == syscall.Gettid() {
		t.Error("lowPriority ran f on the caller's thread")
	}
	if after := niceOf(t); after != before {
		t.Errorf("caller's nice changed from %d to %d", before, after)
	}
}
