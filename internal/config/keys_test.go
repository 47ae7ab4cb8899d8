package config

import (
	"testing"
	"time"
)

func TestValidateKeysAndLeeway(t *testing.T) {
	checkValidate(t, []validateCase{
		{"defaults", func(*Config) {}, ""},
		{"lead equal to max-age plus reload", func(c *Config) { c.Keys.PublishLead = Duration(70 * time.Second) }, "keys.publish_lead 1m10s must exceed"},
		{"lead of one minute", func(c *Config) { c.Keys.PublishLead = Duration(time.Minute) }, "keys.publish_lead"},
		{"zero lead", func(c *Config) { c.Keys.PublishLead = 0 }, "keys.publish_lead"},
		{"lead just over", func(c *Config) { c.Keys.PublishLead = Duration(71 * time.Second) }, ""},
		{"shorter cache allows a shorter lead", func(c *Config) {
			c.Keys.JWKSMaxAge, c.Keys.ReloadInterval, c.Keys.PublishLead = 0, Duration(time.Second), Duration(2*time.Second)
		}, ""},
		{"negative max-age", func(c *Config) { c.Keys.JWKSMaxAge = -1 }, "keys.jwks_max_age"},
		{"negative leeway", func(c *Config) { c.Refresh.Leeway = -1 }, "refresh.leeway"},
	})
	if d := Default(); d.Refresh.Leeway.D() > 10*time.Second {
		t.Fatalf("default refresh.leeway %s: verifiers expect a few seconds", d.Refresh.Leeway)
	}
}
