package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/config"
)

// TestTenantFormOffersConfiguredLimit opens the administration's tenant
// page with a session_limit in the configuration: the "Add a tenant" form
// starts from it, so a tenant added without touching the limit gets what
// the CLI and the admin API give one added without a limit.
func TestTenantFormOffersConfiguredLimit(t *testing.T) {
	g := newGateway(t, func(c *config.Config) {
		c.SessionLimit = config.SessionLimit{MaxSessions: 3, Policy: "end_oldest"}
	})
	admin := g.browser(t)
	admin.signIn("admin", adminPassword)
	p := admin.get("/ui/admin/tenants")
	_, form, _ := strings.Cut(p.Body, `id="nt-h"`)
	if !strings.Contains(form, `id="nt-max" name="max_sessions" min="0" value="3"`) {
		t.Errorf("the new tenant's limit does not start at 3:\n%s", form)
	}
	if !strings.Contains(form, `<option value="end_oldest" selected>`) {
		t.Errorf("the new tenant's policy does not start at end_oldest:\n%s", form)
	}
	admin.get("/ui/admin/tenants")
	admin.post("/ui/admin/tenants", url.Values{"name": {"acme"}, "max_sessions": {"3"}, "policy": {"end_oldest"}})
	if got, err := g.App.Engine.Tenant(context.Background(), "acme"); err != nil || got.MaxSessions != 3 || got.SessionLimitPolicy != "end_oldest" {
		t.Errorf("tenant added from the form: %+v, %v", got, err)
	}
}
