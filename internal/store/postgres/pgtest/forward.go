package pgtest

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Forwarder is a TCP forwarder in front of the server that a test can cut
// and restore, to put the database out of reach for real: Cut drops every
// connection and refuses new ones, as a network or server failure does;
// Restore listens again on the same address.
type Forwarder struct {
	// URL is the URL given to Forward with its host the forwarder's.
	URL          string
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

// Forward starts a forwarder on loopback to the server of u (a URL such as
// URL's) and stops it when the test ends.
func Forward(tb testing.TB, u string) *Forwarder {
	tb.Helper()
	p, err := url.Parse(u)
	if err != nil {
		tb.Fatal(err)
	}
	f := &Forwarder{target: p.Host}
	if p.Port() == "" {
		f.target = net.JoinHostPort(p.Hostname(), "5432")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	f.addr = ln.Addr().String()
	p.Host = f.addr
	f.URL = p.String()
	f.serve(ln)
	tb.Cleanup(f.Cut)
	return f
}

func (f *Forwarder) serve(ln net.Listener) {
	f.mu.Lock()
	f.ln = ln
	f.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", f.target)
			if err != nil {
				c.Close()
				continue
			}
			f.mu.Lock()
			if f.ln != ln { // cut meanwhile: this pair must not outlive it
				f.mu.Unlock()
				c.Close()
				up.Close()
				continue
			}
			f.conns = append(f.conns, c, up)
			f.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// Cut stops listening and drops every connection.
func (f *Forwarder) Cut() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ln != nil {
		f.ln.Close()
		f.ln = nil
	}
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
}

// Restore listens again on the forwarder's address.
func (f *Forwarder) Restore(tb testing.TB) {
	tb.Helper()
	var ln net.Listener
	var err error
	// The port was the forwarder's a moment ago; a listener may take it
	// at once (SO_REUSEADDR), and a bounded retry covers a slow close.
	for range 100 {
		if ln, err = net.Listen("tcp", f.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("pgtest: listen again on %s: %v", f.addr, err)
	}
	f.serve(ln)
}
