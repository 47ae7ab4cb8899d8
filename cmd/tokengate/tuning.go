package main

import (
	"runtime"
	"runtime/debug"
)

// serveGCPercent is the garbage collector's target when GOGC is not set.
// A gateway's live heap is small (sessions live in the store), so the
// default GOGC=100 collects very often under load; 400 spends noticeably
// less CPU per refresh (docs/PERFORMANCE.md).
const serveGCPercent = 400

// serveMemoryLimit is the Go runtime's soft memory limit when GOMEMLIMIT
// is not set. Each password hash allocates its argon2id memory (19 MiB by
// default) afresh, so under a sign-on flood a high GOGC alone would let
// the heap grow to several times the hashes in flight; the limit makes the
// collector run sooner instead, keeping the node's resident memory within
// the 150 MB target (docs/PERFORMANCE.md).
const serveMemoryLimit = 96 << 20

// tuneRuntime applies serve's runtime defaults, leaving any choice the
// operator made through GOGC, GOMEMLIMIT or GOMAXPROCS alone.
//
// Password hashes run on threads of low OS priority (internal/engine), but
// each still holds one of the Go scheduler's Ps while it computes. So that
// hashing never takes a P from refreshes and proxied calls, serve adds one
// P per hash worker: when the CPU is contended the OS runs the hashes last.
func tuneRuntime(getenv func(string) string, hashWorkers int) {
	if getenv("GOMAXPROCS") == "" && hashWorkers > 0 {
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + hashWorkers)
	}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemoryLimit)
	}
}
