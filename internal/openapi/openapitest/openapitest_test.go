package openapitest_test

import (
	"net/http"
	"testing"

	"github.com/tokengate/tokengate/internal/openapi/openapitest"
)

func TestCheck(t *testing.T) {
	jsonHdr := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name   string
		method string
		path   string
		status int
		body   string
		ok     bool
	}{
		{"core about minimal", "GET", "/api", 200, `{"app":"datarhei-core","auths":["localjwt"],"version":{"number":"16.16.0"}}`, true},
		{"core about wrong app", "GET", "/api", 200, `{"app":"nginx","auths":[],"version":{"number":"16.16.0"}}`, false},
		{"core about version 17", "GET", "/api", 200, `{"app":"datarhei-core","auths":[],"version":{"number":"17.0.0"}}`, false},
		{"core error", "POST", "/api/login", 401, `{"code":401,"message":"Unauthorized","details":[]}`, true},
		{"core error without details", "POST", "/api/login", 401, `{"code":401,"message":"Unauthorized"}`, false},
		{"undeclared status", "POST", "/api/login", 418, `{}`, false},
		{"unknown path", "GET", "/nowhere/at/all/x", 200, `{}`, false},
		{"syncgw error true", "GET", "/db/_oidc_refresh", 401, `{"error":true,"reason":"Invalid WSAUTH: Valid UserID must be supplied"}`, true},
		{"syncgw error number", "GET", "/db/_oidc_refresh", 401, `{"error":1}`, false},
		{"ags token", "POST", "/ags/refresh", 200, `{"access_token":"a","refresh_token":"r","client_id":"PUB_989","accountId":"1663","token_type":"bearer","expires_in":3600,"refresh_expires_in":172800,"fixed_refresh_expires_in":2592000}`, true},
		{"oauth2 token", "POST", "/oauth2/token", 200, `{"access_token":"a","token_type":"Bearer","expires_in":900,"refresh_token":"r","refresh_expires_in":604800}`, true},
		{"oauth2 token type", "POST", "/oauth2/token", 200, `{"access_token":"a","token_type":"mac","expires_in":900}`, false},
		{"oauth2 error", "POST", "/oauth2/token", 400, `{"error":"invalid_grant","error_description":"refresh token is invalid"}`, true},
		{"oauth2 error code not in the RFCs", "POST", "/oauth2/token", 400, `{"error":"bad_thing","error_description":"x"}`, false},
		{"oauth2 introspection", "POST", "/oauth2/introspect", 200, `{"active":true,"sub":"bob","aud":"tokengate","token_type":"refresh_token","usefor":"refresh"}`, true},
		{"oauth2 introspection usefor", "POST", "/oauth2/introspect", 200, `{"active":true,"usefor":"id"}`, false},
		{"oauth2 discovery", "GET", "/.well-known/openid-configuration", 200, `{"issuer":"i","token_endpoint":"t","jwks_uri":"j","grant_types_supported":["password"]}`, true},
		{"oauth2 discovery list", "GET", "/.well-known/openid-configuration", 200, `{"issuer":"i","token_endpoint":"t","jwks_uri":"j","grant_types_supported":"password"}`, false},
		{"ags token type", "POST", "/ags/refresh", 200, `{"access_token":"a","client_id":"c","accountId":"1","token_type":"Bearer","expires_in":1,"refresh_expires_in":1,"fixed_refresh_expires_in":1}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, "http://127.0.0.1:1"+tc.path, nil)
			err := openapitest.Check(req, tc.status, jsonHdr, []byte(tc.body))
			if (err == nil) != tc.ok {
				t.Fatalf("Check = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
