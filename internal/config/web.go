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
	// RecentPassword is how recently the password must have been given in
	// a browser for it to create an API token; an older sign-in is asked
	// for the password again.
	RecentPassword Duration `yaml:"recent_password"`
}

func defaultWeb() Web {
	return Web{Enabled: true, IdleTTL: Duration(30 * time.Minute), AbsoluteTTL: Duration(12 * time.Hour),
		RecentPassword: Duration(10 * time.Minute)}
}

func (c *Config) validateWeb() []error {
	var errs []error
	w := c.Web
	if w.IdleTTL < 0 || w.AbsoluteTTL < 0 || w.RecentPassword < 0 {
		errs = append(errs, fmt.Errorf("web: idle_ttl, absolute_ttl and recent_password must not be negative"))
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
