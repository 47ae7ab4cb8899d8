package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

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
		listCommand("List tenants.", "", false, noFilters(func(ctx context.Context, a *app.App, _ store.Tenant) (listing, error) {
			ts, err := a.Engine.Tenants(ctx)
			if err != nil {
				return listing{}, err
			}
			type row struct {
				Name               string `json:"name"`
				DisplayName        string `json:"display_name,omitempty"`
				MaxSessions        int    `json:"max_sessions"`
				SessionLimitPolicy string `json:"session_limit_policy"`
				Disabled           bool   `json:"disabled"`
			}
			return listOf(ts, "NAME\tMAX SESSIONS\tPOLICY\tDISABLED", func(t store.Tenant) (row, []string) {
				r := row{t.Name, t.DisplayName, t.MaxSessions, string(t.SessionLimitPolicy), t.Disabled}
				return r, []string{r.Name, fmt.Sprint(r.MaxSessions), r.SessionLimitPolicy, fmt.Sprint(r.Disabled)}
			}), nil
		})),
	}}
}
