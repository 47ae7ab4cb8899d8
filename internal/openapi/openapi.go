// Package openapi holds the OpenAPI 3.1 document of every tokengate
// endpoint (all dialects, the OAuth 2.0 surface, the proxy's built-ins and
// the operational endpoints), embedded in the binary and served as JSON at
// GET /openapi.json. Package openapitest validates real responses against it.
package openapi

import (
	"context"
	_ "embed"
	"fmt"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed openapi.yaml
var source []byte

var (
	once    sync.Once
	doc     *openapi3.T
	docJSON []byte
	docErr  error
)

func load() {
	loader := openapi3.NewLoader()
	d, err := loader.LoadFromData(source)
	if err != nil {
		docErr = fmt.Errorf("openapi: load: %w", err)
		return
	}
	if err := d.Validate(context.Background()); err != nil {
		docErr = fmt.Errorf("openapi: invalid document: %w", err)
		return
	}
	b, err := d.MarshalJSON()
	if err != nil {
		docErr = fmt.Errorf("openapi: marshal: %w", err)
		return
	}
	doc, docJSON = d, b
}

// Document returns the parsed, validated document. Callers must not
// modify it.
func Document() (*openapi3.T, error) {
	once.Do(load)
	return doc, docErr
}

// JSON returns the document as JSON.
func JSON() ([]byte, error) {
	once.Do(load)
	return docJSON, docErr
}

// Register mounts GET /openapi.json on mux.
func Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		b, err := JSON()
		if err != nil {
			http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(b)
	})
}
