// Package openapitest validates real HTTP responses against tokengate's
// OpenAPI document, for tests of any surface:
//
//	resp, _ := client.Do(req)
//	openapitest.Validate(t, req, resp)
//
// A response whose route, status or body the document does not describe
// fails the test.
package openapitest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/tokengate/tokengate/internal/openapi"
)

var (
	once      sync.Once
	router    routers.Router
	routerErr error
)

func getRouter() (routers.Router, error) {
	once.Do(func() {
		doc, err := openapi.Document()
		if err != nil {
			routerErr = err
			return
		}
		router, routerErr = legacy.NewRouter(doc)
	})
	return router, routerErr
}

// Validate checks resp (the response to req) against the document. It
// reads resp.Body and replaces it with a fresh reader of the same bytes.
func Validate(t testing.TB, req *http.Request, resp *http.Response) {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("openapitest: read body: %v", err)
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	ValidateBody(t, req, resp.StatusCode, resp.Header, b)
}

// ValidateBody checks a response given as status, header and body.
func ValidateBody(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	if err := Check(req, status, header, body); err != nil {
		t.Errorf("openapi: %s %s → %d: %v\nbody: %s", req.Method, req.URL.Path, status, err, body)
	}
}

// Check returns why a response does not match the document, or nil.
func Check(req *http.Request, status int, header http.Header, body []byte) error {
	r, err := getRouter()
	if err != nil {
		return err
	}
	route, params, err := r.FindRoute(req)
	if err != nil && status == http.StatusMethodNotAllowed {
		// The document lists the operations that exist; a 405 to another
		// method of a documented path is right when it says what is
		// allowed.
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
			other := req.Clone(context.Background())
			other.Method = m
			if _, _, ferr := r.FindRoute(other); ferr == nil && m != req.Method {
				if header.Get("Allow") == "" {
					return errors.New("405 without an Allow header")
				}
				return nil
			}
		}
	}
	if err != nil {
		return err
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  status,
		Header:  header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), in)
}
