package config

import (
	"testing"
)

func TestValidateDialects(t *testing.T) {
	good := OIDCIssuer{ID: "auth0", Issuer: "https://example.eu.auth0.com/", Audience: "https://api", AllowAnyUser: true}
	checkValidate(t, []validateCase{
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
	})
}
