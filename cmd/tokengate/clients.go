package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
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
		listCommand("List clients.", "", true, noFilters(func(ctx context.Context, a *app.App, t store.Tenant) (listing, error) {
			cs, err := a.Engine.Clients(ctx, t.Name)
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
			return listOf(cs, "CLIENT_ID\tPUBLIC\tGRANTS\tDISABLED", func(c store.Client) (row, []string) {
				r := row{c.ID, c.Name, len(c.SecretHash) == 0, c.GrantTypes, c.Disabled}
				return r, []string{r.ID, fmt.Sprint(r.Public), strings.Join(r.GrantTypes, ","), fmt.Sprint(r.Disabled)}
			}), nil
		})),
	}}
}
