package config

import (
	"fmt"
	"strings"
	"time"
)

// Web configures the web UI (/ui/): sign-in, the User Profile and the
// administration pages.
type Web struct {
	Enabled bool `yaml:"enabled"`
	// IdleTTL ends a browser sign-in that is not used for that long;
	// AbsoluteTTL ends it that long after it began, however it is used.
	IdleTTL     Duration `yaml:"idle_ttl"`
	AbsoluteTTL Duration `yaml:"absolute_ttl"`
	// SignOutKeepsSessions keeps the sessions a browser sign-in's
	// authorization codes started (relying parties' tokens, refresh
	// tokens of offline_access included) when the sign-in ends, by
	// sign-out or RP-initiated logout; by default they end with it.
	SignOutKeepsSessions bool `yaml:"sign_out_keeps_sessions"`
}

func defaultWeb() Web {
	return Web{Enabled: true, IdleTTL: Duration(30 * time.Minute), AbsoluteTTL: Duration(12 * time.Hour)}
}

func (c *Config) validateWeb() []error {
	var errs []error
	w := c.Web
	if w.IdleTTL < 0 || w.AbsoluteTTL < 0 {
		errs = append(errs, fmt.Errorf("web: idle_ttl and absolute_ttl must not be negative"))
	}
	if w.IdleTTL > 0 && w.AbsoluteTTL > 0 && w.IdleTTL > w.AbsoluteTTL {
		errs = append(errs, fmt.Errorf("web.idle_ttl (%s) is longer than web.absolute_ttl (%s)", w.IdleTTL.D(), w.AbsoluteTTL.D()))
	}
	for i, r := range c.Proxy.Routes {
		if strings.HasPrefix(r.Prefix, "/ui/") {
			errs = append(errs, fmt.Errorf("proxy.routes[%d].prefix %q: /ui/ is the web UI's", i, r.Prefix))
		}
	}
	return errs
}
