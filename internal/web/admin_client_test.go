package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/engine"
)

// TestAdminClientSignInSettings registers a browser client on the
// clients page with its redirect URIs, shows them, changes them on the
// client's page, and sees a wildcard refused in words.
func TestAdminClientSignInSettings(t *testing.T) {
	g := newGateway(t, nil)
	admin := g.browser(t)
	admin.signIn("admin", adminPassword)
	admin.get("/ui/admin/clients")
	p := admin.post("/ui/admin/clients", url.Values{"id": {"intranet"}, "name": {"Intranet"}, "first_party": {"on"},
		"redirect_uris": {"https://intranet.example/cb\r\n\r\nhttp://127.0.0.1:9000/cb\r\n"}, "post_logout_redirect_uris": {"https://intranet.example/"}})
	wantStatus(t, p, http.StatusCreated, "create browser client")
	c, err := g.App.Engine.Client(context.Background(), "intranet")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.RedirectURIs, " ") != "https://intranet.example/cb http://127.0.0.1:9000/cb" || !c.FirstParty ||
		strings.Join(c.GrantTypes, " ") != "authorization_code refresh_token" {
		t.Fatalf("registered %+v", c)
	}
	wantBody(t, admin.get("/ui/admin/clients"), "list", "https://intranet.example/cb", "first-party", `href="/ui/admin/clients/intranet"`)
	p = admin.get("/ui/admin/clients/intranet")
	wantBody(t, p, "client page", "http://127.0.0.1:9000/cb", "https://intranet.example/", "openid profile email offline_access")

	p = admin.post("/ui/admin/clients/intranet", url.Values{"redirect_uris": {"https://intranet.example/cb2"},
		"post_logout_redirect_uris": {""}, "scopes": {"openid profile"}})
	wantStatus(t, p, http.StatusSeeOther, "save")
	c, _ = g.App.Engine.Client(context.Background(), "intranet")
	if strings.Join(c.RedirectURIs, " ") != "https://intranet.example/cb2" || len(c.PostLogoutRedirectURIs) != 0 || c.FirstParty ||
		strings.Join(c.Scopes, " ") != "openid profile" {
		t.Errorf("saved %+v", c)
	}
	p = admin.post("/ui/admin/clients/intranet", url.Values{"redirect_uris": {"https://*.example/cb"}, "scopes": {"openid"}})
	wantStatus(t, p, http.StatusBadRequest, "wildcard")
	wantBody(t, p, "wildcard", "no wildcards", "https://*.example/cb")
	if c, _ := g.App.Engine.Client(context.Background(), "intranet"); strings.Join(c.RedirectURIs, " ") != "https://intranet.example/cb2" {
		t.Errorf("a refused save changed the client: %v", c.RedirectURIs)
	}
	wantStatus(t, admin.get("/ui/admin/clients/"+engine.DefaultClientID+"x"), http.StatusNotFound, "unknown client")
}
