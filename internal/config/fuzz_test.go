package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/fuzzseed"
	"gopkg.in/yaml.v3"
)

// FuzzLoadFile feeds the config loader arbitrary YAML. Properties: no
// panic; a refusal is an error naming the file; Validate refuses with a
// message; a file that loads and validates round-trips: the configuration written back as YAML loads over the
// defaults to the same configuration, and validates again.
func FuzzLoadFile(f *testing.F) {
	fuzzseed.Add(f, map[string]fuzzseed.Seed{
		"empty":    {[]byte("")},
		"readme":   {[]byte(readmeExample)},
		"proxy":    {[]byte(readmeProxy)},
		"unknown":  {[]byte("listen: 127.0.0.1:8080\nlistn: x\n")},
		"anchors":  {[]byte("a: &a [x, x, x]\nb: &b [*a, *a, *a]\nservices: {core: {access_ttl: 600}}\n")},
		"tenant":   {[]byte("services:\n  ags@acme: {access_ttl: 900}\n  core: {refresh: stable}\n")},
		"bad-dur":  {[]byte("refresh: {grace_window: 10 parsecs}\n")},
		"neg-dur":  {[]byte("refresh: {grace_window: -5s}\n")},
		"dbsecret": {[]byte("database: {url: \"postgres://u:s3cret@127.0.0.1:1/db\"}\n")},
		"not-map":  {[]byte("- a\n- b\n")},
		"nul":      {[]byte("listen: \"\\0\"\n")},
	})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		path := filepath.Join(dir, "tokengate.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c := Default()
		if err := c.LoadFile(path); err != nil {
			if !strings.HasPrefix(err.Error(), "config: "+path+": ") {
				t.Fatalf("LoadFile error does not name the file: %q", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			if err.Error() == "" {
				t.Fatal("Validate refused with an empty message")
			}
			return
		}
		out, err := yaml.Marshal(&c)
		if err != nil {
			t.Fatalf("a valid configuration does not encode: %v", err)
		}
		if err := os.WriteFile(path, out, 0o600); err != nil {
			t.Fatal(err)
		}
		back := Default()
		if err := back.LoadFile(path); err != nil {
			t.Fatalf("the configuration written back does not load: %v\n%s", err, out)
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("the configuration written back does not validate: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(normalised(c), normalised(back)) {
			t.Fatalf("round trip changed the configuration:\nfirst  %+v\nsecond %+v\nyaml:\n%s", c, back, out)
		}
	})
}

// normalised makes empty and nil collections equal for comparison.
func normalised(c Config) string {
	b, _ := yaml.Marshal(&c)
	return string(b)
}

const readmeExample = `listen: 127.0.0.1:8080
public_url: https://auth.example.com
data_dir: ./tokengate-data
database: {url: ""}
log: {level: info, format: json}
metrics: {listen: 127.0.0.1:9100}
keys: {algorithm: EdDSA, publish_lead: 2m, jwks_max_age: 60s, reload_interval: 10s}
default_tenant: default
refresh: {grace_window: 10s, leeway: 5s}
services:
  oauth2:   {refresh: rotating, access_ttl: 15m, idle_ttl: 168h, absolute_ttl: 720h}
  core:     {refresh: stable,   access_ttl: 600, idle_ttl: 86400, absolute_ttl: 86400}
  ags:      {refresh: rotating, access_ttl: 3600, idle_ttl: 172800, absolute_ttl: 2592000}
  ags@acme: {access_ttl: 900, idle_ttl: 28800}
password: {workers: 0, memory_kib: 19456, iterations: 2, min_length: 8}
throttle:
  account: {free: 5, base_delay: 1s, max_delay: 30s, forget_after: 1h}
  address: {free: 10, base_delay: 1s, max_delay: 15m, forget_after: 24h}
api_tokens: {max_per_user: 10, reauth_window: 5m}
audit: {retention: 2160h}
web: {enabled: true, idle_ttl: 30m, absolute_ttl: 12h}
`

const readmeProxy = `proxy:
  routes:
    - {prefix: /api/, upstream: "http://127.0.0.1:9000/", builtins: true}
    - {prefix: /api/v3/, upstream: "http://127.0.0.1:8090/api/v3/", errors: core}
  trusted_proxies: [10.0.0.0/8]
syncgw:
  buckets: [whitespace]
`
