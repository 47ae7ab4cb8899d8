package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPerTenantServiceLifetimes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokengate.yaml")
	yaml := `services:
  ags: {idle_ttl: 7200}
  ags@acme: {access_ttl: 900}
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Default()
	if err := c.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	got := c.Services["ags@acme"]
	// access from the variant, idle from the file's ags, absolute and
	// refresh from the defaults.
	if got.AccessTTL.D() != 900*time.Second || got.IdleTTL.D() != 7200*time.Second ||
		got.AbsoluteTTL.D() != 2592000*time.Second || got.Refresh != "rotating" {
		t.Fatalf("ags@acme = %+v", got)
	}
	if c.Services["ags"].AccessTTL.D() != time.Hour {
		t.Fatalf("the variant changed ags itself: %+v", c.Services["ags"])
	}

	bad := []struct {
		name string
		svc  Service
		want string
	}{
		{"@acme", Service{Refresh: "rotating", AccessTTL: secs(1), IdleTTL: secs(1), AbsoluteTTL: secs(1)}, "SERVICE@TENANT"},
		{"ags@", Service{Refresh: "rotating", AccessTTL: secs(1), IdleTTL: secs(1), AbsoluteTTL: secs(1)}, "SERVICE@TENANT"},
		{"nosuch@acme", Service{Refresh: "rotating", AccessTTL: secs(1), IdleTTL: secs(1), AbsoluteTTL: secs(1)}, "no service"},
		{"core@acme", Service{Refresh: "rotating", AccessTTL: secs(1), IdleTTL: secs(1), AbsoluteTTL: secs(1)}, "lifetimes only"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Services[tc.name] = tc.svc
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error about %q", err, tc.want)
			}
		})
	}
}

// TestCoreAccessTTLFloor checks that a Core access token lifetime under
// 30 s is refused: Core clients treat a token with less than 15 s left as
// expired, so a shorter lifetime has them refreshing before every call.
func TestCoreAccessTTLFloor(t *testing.T) {
	for _, name := range []string{"core", "core@acme"} {
		c := Default()
		s := c.Services["core"]
		s.AccessTTL = secs(20)
		c.Services[name] = s
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "services."+name+".access_ttl 20s") || !strings.Contains(err.Error(), "at least 30s") {
			t.Fatalf("%s access_ttl 20s: %v", name, err)
		}
	}
	c := Default()
	s := c.Services["core"]
	s.AccessTTL = secs(30)
	c.Services["core"] = s
	if err := c.Validate(); err != nil {
		t.Fatalf("core access_ttl 30s: %v", err)
	}
	// Other services may be shorter.
	c = Default()
	o := c.Services["oauth2"]
	o.AccessTTL = secs(20)
	c.Services["oauth2"] = o
	if err := c.Validate(); err != nil {
		t.Fatalf("oauth2 access_ttl 20s: %v", err)
	}
}

// TestProxyRouteErrors checks the error shape a proxy route may name.
func TestProxyRouteErrors(t *testing.T) {
	for _, shape := range []string{"", ErrorsWhitespace, ErrorsCore, ErrorsPlain} {
		c := Default()
		c.Proxy.Routes = []ProxyRoute{{Prefix: "/api/v3/", Upstream: "http://127.0.0.1:9000/", Errors: shape}}
		if err := c.Validate(); err != nil {
			t.Errorf("errors %q: %v", shape, err)
		}
	}
	c := Default()
	c.Proxy.Routes = []ProxyRoute{{Prefix: "/api/v3/", Upstream: "http://127.0.0.1:9000/", Errors: "json"}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `proxy.routes[0].errors "json": want whitespace, core or plain`) {
		t.Fatalf("errors json: %v", err)
	}
}
