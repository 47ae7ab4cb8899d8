package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/engine"
)

func clientCommand() *command {
	return &command{name: "client", summary: "Manage OAuth 2.0 clients.", sub: []*command{
		{name: "add", summary: "Register a client. A confidential client's secret is printed once.", usage: "ID [--public] [--grant TYPE,...] [--name N]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				public := fs.Bool("public", false, "a public client (no secret): password and refresh_token grants")
				grants := fs.String("grant", "", "comma-separated grant `types` (default: client_credentials, or password,refresh_token for --public)")
				name := fs.String("name", "", "display `name`")
				tenant := fs.String("tenant", "", "tenant `name` (default: the default tenant)")
				return appAction(1, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					var gts []string
					for _, g := range strings.Split(*grants, ",") {
						if g = strings.TrimSpace(g); g != "" {
							gts = append(gts, g)
						}
					}
					c, secret, err := a.Engine.CreateClient(ctx, engine.NewClient{Tenant: *tenant, ID: args[0], Name: *name, Public: *public, GrantTypes: gts})
					if err != nil {
						return err
					}
					fmt.Fprintf(env.stdout, "client_id:     %s\ngrant types:   %s\n", c.ID, strings.Join(c.GrantTypes, ", "))
					if secret != "" {
						fmt.Fprintf(env.stdout, "client_secret: %s\n(shown once: store it now)\n", secret)
					}
					return nil
				})
			}},
		listCommand("List clients.", "", true, noFilters(func(ctx context.Context, a *app.App, tenant string) (listing, error) {
			t, err := a.Engine.Tenant(ctx, tenant)
			if err != nil {
				return listing{}, err
			}
			cs, err := a.Store.ListClients(ctx, t.ID)
			if err != nil {
				return listing{}, err
			}
			type row struct {
				ID         string   `json:"client_id"`
				Name       string   `json:"name,omitempty"`
				Public     bool     `json:"public"`
				GrantTypes []string `json:"grant_types"`
				Disabled   bool     `json:"disabled"`
			}
			var out []row
			l := listing{header: "CLIENT_ID\tPUBLIC\tGRANTS\tDISABLED"}
			for _, c := range cs {
				out = append(out, row{c.ID, c.Name, len(c.SecretHash) == 0, c.GrantTypes, c.Disabled})
				l.rows = append(l.rows, []string{c.ID, fmt.Sprint(len(c.SecretHash) == 0), strings.Join(c.GrantTypes, ","), fmt.Sprint(c.Disabled)})
			}
			l.json = out
			return l, nil
		})),
	}}
}
