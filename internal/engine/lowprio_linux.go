package engine

import (
	"runtime"
	"syscall"
)

// hashNice is the scheduling niceness of the threads that compute password
// hashes. Under contention Linux gives a nice-10 thread about a tenth of
// the CPU of a nice-0 one: a flood of sign-ons then takes the CPU that
// refreshes and proxied calls leave idle, instead of a share of it.
const hashNice = 10

// lowPriority runs f on an OS thread of its own at hashNice and returns
// when f has returned. The thread is discarded afterwards (its goroutine
// exits while still locked to it), because an unprivileged process may
// lower a thread's priority but not raise it back. Thread creation costs
// tens of microseconds, nothing next to a password hash.
func lowPriority(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		// No UnlockOSThread: see above. A failure (a seccomp profile that
		// forbids setpriority, say) leaves the normal priority.
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), hashNice)
		f()
	}()
	<-done
}
