package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTLS(t *testing.T) {
	for _, tc := range []struct {
		name   string
		set    func(*Config)
		want   string // a problem Validate reports; "" for none
		issuer string
	}{
		{"none", func(*Config) {}, "", "http://127.0.0.1:8080"},
		{"both", func(c *Config) { c.TLS.Cert, c.TLS.Key = "c.pem", "k.pem" }, "", "https://127.0.0.1:8080"},
		{"https public url", func(c *Config) { c.TLS.Cert, c.TLS.Key, c.PublicURL = "c.pem", "k.pem", "https://auth.example.test/" }, "", "https://auth.example.test"},
		{"cert only", func(c *Config) { c.TLS.Cert = "c.pem" }, "give both tls.cert and tls.key", ""},
		{"key only", func(c *Config) { c.TLS.Key = "k.pem" }, "give both tls.cert and tls.key", ""},
		{"http public url", func(c *Config) { c.TLS.Cert, c.TLS.Key, c.PublicURL = "c.pem", "k.pem", "http://auth.example.test" }, `public_url "http://auth.example.test" is http://`, ""},
		{"reload interval", func(c *Config) { c.TLS.ReloadInterval = 0 }, "tls.reload_interval must be positive", ""},
		{"shutdown timeout", func(c *Config) { c.ShutdownTimeout = 0 }, "shutdown_timeout must be positive", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.set(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate: %v; want %q", err, tc.want)
			}
			if tc.issuer != "" && c.Issuer() != tc.issuer {
				t.Fatalf("Issuer %q, want %q", c.Issuer(), tc.issuer)
			}
		})
	}
}

func TestTLSSources(t *testing.T) {
	f := filepath.Join(t.TempDir(), "tokengate.yaml")
	if err := os.WriteFile(f, []byte("tls:\n  cert: /etc/tg/cert.pem\n  key: /etc/tg/key.pem\n  reload_interval: 5m\nshutdown_timeout: 50s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Default()
	if err := c.LoadFile(f); err != nil {
		t.Fatal(err)
	}
	if c.TLS != (TLS{Cert: "/etc/tg/cert.pem", Key: "/etc/tg/key.pem", ReloadInterval: Duration(5 * time.Minute)}) || c.ShutdownTimeout != Duration(50*time.Second) {
		t.Fatalf("from the file: %+v, shutdown_timeout %s", c.TLS, c.ShutdownTimeout)
	}
	env := map[string]string{"TOKENGATE_TLS_CERT": "/run/cert.pem", "TOKENGATE_TLS_KEY": "/run/key.pem"}
	if err := c.LoadEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.TLS.Cert != "/run/cert.pem" || c.TLS.Key != "/run/key.pem" {
		t.Fatalf("from the environment: %+v", c.TLS)
	}
}
