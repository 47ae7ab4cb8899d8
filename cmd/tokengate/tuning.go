package main

import "runtime/debug"

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
// operator made through GOGC or GOMEMLIMIT alone.
func tuneRuntime(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemoryLimit)
	}
}
