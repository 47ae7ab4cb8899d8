package config

import (
	"fmt"
	"net/url"
	"time"
)

// TLS makes the gateway serve HTTPS itself on its listen address. Left
// empty, it serves plain HTTP, for a TLS-terminating proxy in front of it
// (README: behind a TLS-terminating proxy).
type TLS struct {
	// Cert is the PEM file of the certificate chain, the leaf first; Key
	// the PEM file of its private key. Both or neither.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	// ReloadInterval is how often the two files are reread: a renewed
	// certificate is served from the next check on, as it is at once on
	// SIGHUP. A pair that does not load (a half-written renewal) leaves the
	// one served in place.
	ReloadInterval Duration `yaml:"reload_interval"`
}

// Enabled reports whether the gateway serves HTTPS.
func (t TLS) Enabled() bool { return t.Cert != "" || t.Key != "" }

func defaultTLS() TLS { return TLS{ReloadInterval: Duration(time.Minute)} }

// ListenURL is the scheme and listen address the gateway serves on.
func (c *Config) ListenURL() string {
	if c.TLS.Enabled() {
		return "https://" + c.Listen
	}
	return "http://" + c.Listen
}

func (c *Config) validateTLS() []error {
	var errs []error
	t := c.TLS
	if t.Enabled() && (t.Cert == "" || t.Key == "") {
		errs = append(errs, fmt.Errorf("tls: give both tls.cert and tls.key (--tls-cert, --tls-key), or neither"))
	}
	if t.ReloadInterval <= 0 {
		errs = append(errs, fmt.Errorf("tls.reload_interval must be positive"))
	}
	if t.Enabled() && c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err == nil && u.Scheme == "http" {
			errs = append(errs, fmt.Errorf("public_url %q is http://, but the gateway serves https (tls.cert): give the https:// URL clients use", c.PublicURL))
		}
	}
	return errs
}
