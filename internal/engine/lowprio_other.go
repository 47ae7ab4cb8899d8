//go:build !linux

package engine

// lowPriority runs f. Only on Linux does it lower the thread's priority.
func lowPriority(f func()) { f() }
