package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

func keyCommand() *command {
	return &command{name: "key", summary: "Manage signing keys.", sub: []*command{
		{name: "rotate", summary: "Create a new signing key. It is published in JWKS at once and signs after the publish lead (keys.publish_lead, default 1m); the old key keeps verifying until its tokens expire.", usage: "[--activate-in D | --now]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				in := fs.Duration("activate-in", -1, "start signing after this `duration` (default: keys.publish_lead)")
				now := fs.Bool("now", false, "start signing immediately (verifiers that cache JWKS may briefly reject new tokens)")
				return appAction(0, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					d := *in
					if *now {
						d = 0
					}
					k, err := a.Ring.Rotate(ctx, d)
					if err != nil {
						return err
					}
					fmt.Fprintf(env.stdout, "new key %s (%s) published now, signs from %s\n", k.ID, k.Alg, ts(k.ActiveFrom))
					return nil
				})
			}},
		{name: "list", summary: "List signing keys.", usage: "[--json]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				asJSON := fs.Bool("json", false, "print JSON")
				return appAction(0, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					keys := a.Ring.Keys()
					var rows [][]string
					for _, k := range keys {
						rows = append(rows, []string{k.ID, k.Alg, k.State, ts(k.CreatedAt), ts(k.ActiveFrom), ts(k.RetiredAt), ts(k.ExpiresAt)})
					}
					return printList(env.stdout, *asJSON, keys, "KID\tALG\tSTATE\tCREATED\tSIGNS FROM\tRETIRED\tLEAVES JWKS", rows)
				})
			}},
	}}
}

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
		{name: "list", summary: "List clients.", usage: "[--json]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				tenant := fs.String("tenant", "", "tenant `name` (default: the default tenant)")
				asJSON := fs.Bool("json", false, "print JSON")
				return appAction(0, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					t, err := a.Engine.Tenant(ctx, *tenant)
					if err != nil {
						return err
					}
					cs, err := a.Store.ListClients(ctx, t.ID)
					if err != nil {
						return err
					}
					type row struct {
						ID         string   `json:"client_id"`
						Name       string   `json:"name,omitempty"`
						Public     bool     `json:"public"`
						GrantTypes []string `json:"grant_types"`
						Disabled   bool     `json:"disabled"`
					}
					var out []row
					var rows [][]string
					for _, c := range cs {
						out = append(out, row{c.ID, c.Name, len(c.SecretHash) == 0, c.GrantTypes, c.Disabled})
						rows = append(rows, []string{c.ID, fmt.Sprint(len(c.SecretHash) == 0), strings.Join(c.GrantTypes, ","), fmt.Sprint(c.Disabled)})
					}
					return printList(env.stdout, *asJSON, out, "CLIENT_ID\tPUBLIC\tGRANTS\tDISABLED", rows)
				})
			}},
	}}
}

func tenantCommand() *command {
	return &command{name: "tenant", summary: "Manage tenants and their session limits.", sub: []*command{
		{name: "add", summary: "Create a tenant.", usage: "NAME [--max-sessions N] [--limit-policy reject|end_oldest]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				maxS := fs.Int("max-sessions", 0, "maximum live sessions per user (0: no limit)")
				policy := fs.String("limit-policy", "reject", "when the limit is reached: reject or end_oldest")
				return appAction(1, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					t, err := a.Engine.CreateTenant(ctx, engine.NewTenant{Name: args[0], MaxSessions: *maxS, SessionLimitPolicy: store.LimitPolicy(*policy)})
					if err != nil {
						return err
					}
					fmt.Fprintf(env.stdout, "tenant %s added\n", t.Name)
					return nil
				})
			}},
		{name: "set", summary: "Set a tenant's per-user session limit.", usage: "NAME --max-sessions N [--limit-policy reject|end_oldest]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				maxS := fs.Int("max-sessions", -1, "maximum live sessions per user (0: no limit)")
				policy := fs.String("limit-policy", "reject", "when the limit is reached: reject or end_oldest")
				return func(ctx context.Context, env *cliEnv, args []string) error {
					if len(args) != 1 || *maxS < 0 {
						return errUsage
					}
					return withApp(ctx, env, func(a *app.App) error {
						t, err := a.Engine.SetSessionLimit(ctx, args[0], *maxS, store.LimitPolicy(*policy))
						if err != nil {
							return err
						}
						fmt.Fprintf(env.stdout, "tenant %s: at most %d live sessions per user (%s)\n", t.Name, t.MaxSessions, t.SessionLimitPolicy)
						return nil
					})
				}
			}},
		{name: "list", summary: "List tenants.", usage: "",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				return appAction(0, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					ts, err := a.Store.ListTenants(ctx)
					if err != nil {
						return err
					}
					var rows [][]string
					for _, t := range ts {
						rows = append(rows, []string{t.Name, fmt.Sprint(t.MaxSessions), string(t.SessionLimitPolicy), fmt.Sprint(t.Disabled)})
					}
					table(env.stdout, "NAME\tMAX SESSIONS\tPOLICY\tDISABLED", rows)
					return nil
				})
			}},
	}}
}

func versionCommand() *command {
	return &command{name: "version", summary: "Print the version.", usage: "",
		flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
			return func(ctx context.Context, env *cliEnv, args []string) error {
				v := "devel"
				if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
					v = bi.Main.Version
				}
				fmt.Fprintf(env.stdout, "tokengate %s\n", v)
				return nil
			}
		}}
}
