package openapi_test

import (
	"encoding/json"
	"testing"

	"github.com/tokengate/tokengate/internal/openapi"
)

func TestDocumentIsValid31(t *testing.T) {
	doc, err := openapi.Document()
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	for _, p := range []string{"/oauth2/token", "/oauth2/revoke", "/oauth2/introspect", "/.well-known/jwks.json",
		"/api", "/api/login", "/api/login/refresh", "/servicediscovery", "/ags/servicediscovery", "/ags/signOn",
		"/ags/refresh", "/ags/signOff", "/{bucket}/_oidc_refresh", "/{api}/shared/corporate", "/{api}/user/myDetails",
		"/healthz", "/readyz", "/metrics", "/openapi.json"} {
		if doc.Paths.Value(p) == nil {
			t.Errorf("path %s is not described", p)
		}
	}
	b, err := openapi.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || m["openapi"] != "3.1.0" {
		t.Fatalf("JSON form: %v %v", err, m["openapi"])
	}
}
