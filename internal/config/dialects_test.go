package config

import (
	"strings"
	"testing"
)

func TestValidateDialects(t *testing.T) {
	good := OIDCIssuer{ID: "auth0", Issuer: "https://example.eu.auth0.com/", Audience: "https://api", AllowAnyUser: true}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // substring of the error; "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"one issuer", func(c *Config) { c.OIDC.Issuers = []OIDCIssuer{good} }, ""},
		{"core version 17", func(c *Config) { c.Core.Version = "17.0.0" }, "core.version"},
		{"core version disabled", func(c *Config) { c.Core.Enabled, c.Core.Version = false, "" }, ""},
		{"negative leeway", func(c *Config) { c.OIDC.Leeway = -1 }, "oidc.leeway"},
		{"issuer id password", func(c *Config) { i := good; i.ID = "password"; c.OIDC.Issuers = []OIDCIssuer{i} }, ".id"},
		{"issuer id twice", func(c *Config) { c.OIDC.Issuers = []OIDCIssuer{good, good} }, "used twice"},
		{"same id in two tenants", func(c *Config) { i := good; i.Tenant = "acme"; c.OIDC.Issuers = []OIDCIssuer{good, i} }, ""},
		{"relative issuer", func(c *Config) { i := good; i.Issuer = "example.com"; c.OIDC.Issuers = []OIDCIssuer{i} }, ".issuer"},
		{"no audience", func(c *Config) { i := good; i.Audience = ""; c.OIDC.Issuers = []OIDCIssuer{i} }, "audience or client_id"},
		{"no allowed users", func(c *Config) { i := good; i.AllowAnyUser = false; c.OIDC.Issuers = []OIDCIssuer{i} }, "allowed_subjects"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.mutate(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate = %v, want an error about %q", err, tc.want)
			}
		})
	}
}
