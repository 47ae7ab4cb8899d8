package apptest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/openapi/openapitest"
)

// Request is one request to the server.
type Request struct {
	// Method defaults to POST when there is a body, else GET.
	Method string
	Path   string
	// Header values "" are not sent. A Content-Type here replaces the
	// default one.
	Header map[string]string
	// Body is sent as application/json; Form, when set, is sent instead
	// as application/x-www-form-urlencoded.
	Body string
	Form url.Values
	// BasicUser and BasicPass, when BasicUser is set, are sent as HTTP
	// Basic credentials, each form-urlencoded first (RFC 6749 §2.3.1).
	BasicUser, BasicPass string
}

// Response is a response read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as an object.
func (r Response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// Do sends a request with a JSON body ("" for none) and validates the
// response against the OpenAPI document. header values "" are not sent.
func (s *Server) Do(t *testing.T, method, path string, header map[string]string, body string) Response {
	t.Helper()
	return s.Send(t, Request{Method: method, Path: path, Header: header, Body: body})
}

// Send sends req and validates the response against the OpenAPI document:
// a response the document does not describe fails the test. It may be
// called from several goroutines at once.
func (s *Server) Send(t *testing.T, req Request) Response {
	t.Helper()
	r := s.newRequest(t, t.Context(), req)
	resp, err := s.Client.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, req.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	openapitest.ValidateBody(t, r, resp.StatusCode, resp.Header, b)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Raw sends a request without a body and reads the response whole,
// without validating it and without following a redirect: for the routes
// the OpenAPI document does not describe (proxied paths, /metrics) and the
// answers it does not list. header values are sent as they are.
func (s *Server) Raw(t *testing.T, method, path string, header map[string]string) Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := *s.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Claims decodes a JWT's payload without verifying it.
func Claims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", tok)
	}
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
