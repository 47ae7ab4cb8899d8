package apptest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// abandonHeader marks a request sent by Abandon; the gate in front of the
// node's handler takes it off before the gateway sees the request.
const abandonHeader = "X-Apptest-Abandon"

// hangBound turns a request that never finishes into a test failure. It
// is far above anything here takes on a loaded machine under -race, so it
// never decides an outcome.
const hangBound = 2 * time.Minute

// gate stands in front of the node's real handler. It passes every request
// through untouched, except those Abandon marks: it tells Abandon when it
// has read such a request whole and when the gateway has finished with
// it, and in hold mode it hands the request on only once net/http has
// noticed that the client went away (the request's context is canceled).
// That orders the events without timing: the gateway handles the request
// on a context that is already canceled, as it does when a client closes
// its connection while its request waits for a lock or a hash.
type gate struct {
	next  http.Handler
	mu    sync.Mutex
	calls map[string]*abandoned
	seq   atomic.Int64
}

type abandoned struct {
	hold bool
	read chan struct{} // closed when the gate has read the request
	done chan struct{} // closed when the gateway has finished with it
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(abandonHeader)
	if id == "" {
		g.next.ServeHTTP(w, r)
		return
	}
	r.Header.Del(abandonHeader)
	g.mu.Lock()
	a := g.calls[id]
	g.mu.Unlock()
	if a == nil {
		g.next.ServeHTTP(w, r)
		return
	}
	defer close(a.done)
	// Reading the body to its end is what makes net/http watch the
	// connection, and so cancel the request's context when it closes.
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	close(a.read)
	if a.hold {
		<-r.Context().Done()
	}
	g.next.ServeHTTP(w, r)
}

// Leave says when a client sent by Abandon goes away.
type Leave struct {
	// When, if set, is closed by the test (say, by an upstream that got the
	// proxied request) to make the client go; the gateway handles the
	// request meanwhile. Unset, the client goes as soon as the gateway has
	// read the request, and the gateway handles it only after it noticed.
	When <-chan struct{}
	// AfterHeaders makes the client go once it has read the response's
	// status and headers (with When set, after both).
	AfterHeaders bool
}

// Abandon sends req as a client that goes away mid-request (a load run
// ending, a browser closing) and returns once the gateway has finished
// handling it. The client closes its connection, as a real one does.
func (s *Server) Abandon(t *testing.T, req Request, leave Leave) {
	t.Helper()
	id := strconv.FormatInt(s.gate.seq.Add(1), 10)
	a := &abandoned{hold: leave.When == nil && !leave.AfterHeaders, read: make(chan struct{}), done: make(chan struct{})}
	s.gate.mu.Lock()
	s.gate.calls[id] = a
	s.gate.mu.Unlock()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r := s.newRequest(t, ctx, req)
	r.Header.Set(abandonHeader, id)
	// A connection of its own, so that going away closes it.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		resp, err := client.Do(r)
		if err == nil {
			if leave.AfterHeaders {
				cancel()
			}
			resp.Body.Close()
		}
	}()
	wait := func(ch <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(hangBound):
			t.Fatalf("%s %s: %s never happened", r.Method, req.Path, what)
		}
	}
	wait(a.read, "the gateway reading the request")
	if leave.When != nil {
		wait(leave.When, "the signal to leave")
	}
	if !leave.AfterHeaders {
		cancel()
	}
	wait(a.done, "the gateway finishing the request")
	wait(sent, "the client ending")
}

// newRequest builds the HTTP request of req on ctx.
func (s *Server) newRequest(t *testing.T, ctx context.Context, req Request) *http.Request {
	t.Helper()
	body, ctype := req.Body, ""
	switch {
	case req.Form != nil:
		body, ctype = req.Form.Encode(), "application/x-www-form-urlencoded"
	case body != "":
		ctype = "application/json"
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
		if body != "" {
			method = http.MethodPost
		}
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequestWithContext(ctx, method, s.URL+req.Path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	if req.BasicUser != "" {
		r.SetBasicAuth(url.QueryEscape(req.BasicUser), url.QueryEscape(req.BasicPass))
	}
	for k, v := range req.Header {
		if v != "" {
			r.Header.Set(k, v)
		}
	}
	return r
}
