package config

import (
	"fmt"
	"net"
)

// Warnings reports settings that are valid but are probably not what the
// operator means, each as one sentence that says what to set instead.
func (c *Config) Warnings() []string {
	var w []string
	if c.PublicURL == "" {
		// The issuer defaults to http:// plus the listen address; for an
		// address that means "every interface" that is no address a client
		// can reach, and tokens whose iss no verifier will match.
		if host, _, err := net.SplitHostPort(c.Listen); err == nil {
			if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
				w = append(w, fmt.Sprintf("listening on every interface (%s) without a public URL: tokens carry the issuer %s, which no client can reach; "+
					"set --public-url (public_url, TOKENGATE_PUBLIC_URL) to the address clients use, such as https://auth.example.com", c.Listen, c.Issuer()))
			}
		}
	}
	return w
}
