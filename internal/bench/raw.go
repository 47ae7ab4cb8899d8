package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"time"
)

// rawConn is a minimal HTTP/1.1 client over one keep-alive connection,
// used for plain-http targets. The load generator shares the machine with
// the server it measures: net/http's client spends several goroutine
// hand-offs and allocations per request (two goroutines per connection),
// which on a 2-core machine is CPU taken from the server. rawConn writes a
// request in one write and parses the response in place, like wrk or
// redis-benchmark. It understands Content-Length and chunked bodies and
// redials after the server closes the connection.
type rawConn struct {
	addr string // host:port to dial
	host string // Host header
	nc   net.Conn
	br   *bufio.Reader
	wbuf []byte
	stop func() bool // unregisters the context watch of nc
}

func newRawConn(addr, host string) *rawConn {
	return &rawConn{addr: addr, host: host}
}

func (c *rawConn) close() {
	if c.nc != nil {
		if c.stop != nil {
			c.stop()
		}
		c.nc.Close()
		c.nc, c.br, c.stop = nil, nil, nil
	}
}

func (c *rawConn) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: 5 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return err
	}
	c.nc, c.br = nc, bufio.NewReaderSize(nc, 16<<10)
	// The end of the run interrupts a request in flight.
	c.stop = context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	return nil
}

// do sends one request and reads the body into out. header is written as
// is ("Name: value\r\n" lines).
func (c *rawConn) do(ctx context.Context, method, path string, header []byte, body string, out *bytes.Buffer) (int, error) {
	for attempt := 0; ; attempt++ {
		fresh := c.nc == nil
		if fresh {
			if err := c.dial(ctx); err != nil {
				return 0, err
			}
		}
		status, keep, err := c.roundTrip(method, path, header, body, out)
		if err == nil {
			if !keep {
				c.close()
			}
			return status, nil
		}
		c.close()
		// A kept-alive connection the server closed meanwhile fails
		// before any response: retry once on a new one.
		if fresh || attempt > 0 || status != 0 || ctx.Err() != nil {
			return status, err
		}
	}
}

func (c *rawConn) roundTrip(method, path string, header []byte, body string, out *bytes.Buffer) (status int, keep bool, err error) {
	b := c.wbuf[:0]
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, c.host...)
	b = append(b, "\r\nUser-Agent: tokengate-bench\r\n"...)
	b = append(b, header...)
	if body != "" || method == http.MethodPost {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	c.wbuf = b
	if _, err := c.nc.Write(b); err != nil {
		return 0, false, err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, errors.New("malformed status line")
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, errors.New("malformed status code")
	}
	keep = line[7] == '1'
	length, chunked := int64(-1), false
	for {
		h, err := c.br.ReadSlice('\n')
		if err != nil {
			return status, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return status, false, errors.New("malformed header")
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
				return status, false, errors.New("malformed Content-Length")
			}
		case asciiEqualFold(name, "Transfer-Encoding"):
			chunked = asciiEqualFold(value, "chunked")
		case asciiEqualFold(name, "Connection"):
			if asciiEqualFold(value, "close") {
				keep = false
			}
		}
	}
	out.Reset()
	switch {
	case method == http.MethodHead || status == http.StatusNoContent || status == http.StatusNotModified:
	case chunked:
		if _, err := out.ReadFrom(httputil.NewChunkedReader(c.br)); err != nil {
			return status, false, err
		}
		// Trailers end with an empty line.
		for {
			t, err := c.br.ReadSlice('\n')
			if err != nil {
				return status, false, err
			}
			if len(bytes.TrimRight(t, "\r\n")) == 0 {
				break
			}
		}
	case length >= 0:
		if _, err := io.CopyN(out, c.br, length); err != nil {
			return status, false, err
		}
	default:
		// Body until close.
		if _, err := out.ReadFrom(c.br); err != nil {
			return status, false, err
		}
		keep = false
	}
	return status, keep, nil
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// headerBytes renders h as raw header lines.
func headerBytes(h http.Header) []byte {
	var b []byte
	for k, vs := range h {
		for _, v := range vs {
			b = fmt.Appendf(b, "%s: %s\r\n", k, v)
		}
	}
	return b
}
