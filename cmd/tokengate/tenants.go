package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

// limitPolicyFlag is --limit-policy: checked when parsed, so a wrong value
// is a usage error before anything is opened; set says whether it was given.
type limitPolicyFlag struct {
	set    bool
	policy store.LimitPolicy
}

func (f *limitPolicyFlag) String() string { return string(f.policy) }
func (f *limitPolicyFlag) Set(s string) error {
	p, err := engine.ParseLimitPolicy(s)
	if err != nil {
		return errors.New("want reject or end_oldest")
	}
	f.set, f.policy = true, p
	return nil
}

// optInt is an integer flag that records whether it was given.
type optInt struct {
	set bool
	val int
}

func (f *optInt) String() string { return strconv.Itoa(f.val) }
func (f *optInt) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("want a whole number")
	}
	f.set, f.val = true, v
	return nil
}

func tenantCommand() *command {
	return &command{name: "tenant", summary: "Manage tenants and their session limits.", sub: []*command{
		{name: "add", summary: "Create a tenant.", usage: "NAME [--max-sessions N] [--limit-policy reject|end_oldest]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				maxS := fs.Int("max-sessions", 0, "maximum live sessions per user (0: no limit); without it or --limit-policy, the configuration's session_limit")
				var policy limitPolicyFlag
				fs.Var(&policy, "limit-policy", "when the limit is reached: reject or end_oldest (default: session_limit.policy of the configuration, reject)")
				return appAction(1, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					t, err := a.Engine.CreateTenant(ctx, engine.NewTenant{Name: args[0], MaxSessions: *maxS, SessionLimitPolicy: policy.policy})
					if err != nil {
						return err
					}
					fmt.Fprintf(env.stdout, "tenant %s added\n", t.Name)
					return nil
				})
			}},
		{name: "set", summary: "Set a tenant's per-user session limit; what is not given stays as it is.", usage: "NAME [--max-sessions N] [--limit-policy reject|end_oldest]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				var maxS optInt
				var policy limitPolicyFlag
				fs.Var(&maxS, "max-sessions", "maximum live sessions per user (0: no limit)")
				fs.Var(&policy, "limit-policy", "when the limit is reached: reject or end_oldest")
				return func(ctx context.Context, env *cliEnv, args []string) error {
					if err := checkArgs(args, "NAME"); err != nil {
						return err
					}
					var up engine.SessionLimitUpdate
					switch {
					case !maxS.set && !policy.set:
						return usagef("nothing to change: give --max-sessions N, --limit-policy reject|end_oldest, or both")
					case maxS.set && maxS.val < 0:
						return usagef("--max-sessions %d: want 0 (no limit) or more", maxS.val)
					}
					if maxS.set {
						up.MaxSessions = &maxS.val
					}
					if policy.set {
						up.Policy = &policy.policy
					}
					return withApp(ctx, env, func(a *app.App) error {
						t, err := a.Engine.UpdateSessionLimit(ctx, args[0], up)
						if err != nil {
							return err
						}
						fmt.Fprintf(env.stdout, "tenant %s: at most %d live sessions per user (%s)\n", t.Name, t.MaxSessions, t.SessionLimitPolicy)
						return nil
					})
				}
			}},
		{name: "remove", summary: "Remove a tenant with everything it owns: users, their sessions and memberships, clients, organisations. A tenant with users is refused unless --force.", usage: "NAME [--force]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				force := fs.Bool("force", false, "remove the tenant even though it has users (and with them)")
				return appAction(1, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					r, err := a.Engine.RemoveTenant(ctx, args[0], *force)
					if errors.Is(err, engine.ErrInUse) && !*force {
						return fmt.Errorf("%w (tokengate tenant remove %s --force)", err, args[0])
					}
					if err != nil {
						return err
					}
					fmt.Fprintf(env.stdout, "tenant %s removed with %d user(s) and %d client(s)\n", r.Tenant.Name, r.Users, r.Clients)
					return nil
				})
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
