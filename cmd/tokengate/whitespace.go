package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/demo"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

// loadDemo loads the demo world into a running server's app (after
// Bootstrap, before a.Handler()) and returns what prints its walkthrough.
func loadDemo(ctx context.Context, env *cliEnv, a *app.App) (func(), error) {
	res, err := demo.Load(ctx, a, demo.Options{Getenv: env.getenv, Log: a.Log})
	if err != nil {
		return nil, err
	}
	return func() { demo.PrintWalkthrough(env.stdout, a.Config.Issuer(), res) }, nil
}

func splitChannels(s string) []string {
	var out []string
	for c := range strings.SplitSeq(s, ",") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

func orgCommand() *command {
	return &command{name: "org", summary: "Manage organisations.", sub: []*command{
		{name: "add", summary: "Add an organisation.", usage: "NAME [--display-name D] [--tenant T]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				display := fs.String("display-name", "", "display `name`")
				tenant := fs.String("tenant", "", "tenant `name` (default: the default tenant)")
				return appAction(1, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					o, err := a.Engine.CreateOrganisation(ctx, *tenant, args[0], *display)
					if err != nil {
						return err
					}
					fmt.Fprintf(env.stdout, "organisation %s added\n", o.Name)
					return nil
				})
			}},
		{name: "list", summary: "List organisations.", usage: "[--tenant T] [--json]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				tenant := fs.String("tenant", "", "tenant `name` (default: the default tenant)")
				asJSON := fs.Bool("json", false, "print JSON")
				return appAction(0, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					orgs, err := a.Engine.Organisations(ctx, *tenant)
					if err != nil {
						return err
					}
					var rows [][]string
					for _, o := range orgs {
						rows = append(rows, []string{o.Name, o.DisplayName, ts(o.CreatedAt)})
					}
					return printList(env.stdout, *asJSON, orgs, "NAME\tDISPLAY NAME\tCREATED", rows)
				})
			}},
		{name: "remove", summary: "Remove an organisation without active memberships.", usage: "NAME [--tenant T]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				tenant := fs.String("tenant", "", "tenant `name` (default: the default tenant)")
				return appAction(1, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					if err := a.Engine.DeleteOrganisation(ctx, *tenant, args[0]); err != nil {
						return err
					}
					fmt.Fprintf(env.stdout, "organisation %s removed\n", args[0])
					return nil
				})
			}},
	}}
}

func memberCommand() *command {
	return &command{name: "member", summary: "Manage memberships (a user in an organisation, with its MU id and channels).", sub: []*command{
		{name: "add", summary: "Add USER to ORG; prints the new MU id.", usage: "USER ORG [--channels a,b] [--tenant T]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				channels := fs.String("channels", "", "comma-separated `channels` the membership grants")
				tenant := fs.String("tenant", "", "tenant `name` (default: the default tenant)")
				return appAction(2, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					m, err := a.Engine.AddMembership(ctx, engine.NewMembership{Tenant: *tenant, User: args[0], Organisation: args[1], Channels: splitChannels(*channels)})
					if err != nil {
						return err
					}
					fmt.Fprintln(env.stdout, m.ID)
					return nil
				})
			}},
		{name: "remove", summary: "Remove a membership (its MU id is never reused).", usage: "MU…",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				return appAction(1, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					if _, err := a.Engine.RemoveMembership(ctx, args[0]); err != nil {
						return err
					}
					fmt.Fprintf(env.stdout, "membership %s removed\n", args[0])
					return nil
				})
			}},
		{name: "set-channels", summary: "Replace the channels a membership grants.", usage: "MU… a,b",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				return appAction(2, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					m, err := a.Engine.SetChannels(ctx, args[0], splitChannels(args[1]))
					if err != nil {
						return err
					}
					fmt.Fprintf(env.stdout, "membership %s channels: %s\n", m.ID, strings.Join(m.Channels, ","))
					return nil
				})
			}},
		{name: "list", summary: "List memberships.", usage: "[--user U] [--org O] [--removed] [--tenant T] [--json]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				user := fs.String("user", "", "only this user's")
				org := fs.String("org", "", "only this organisation's")
				removed := fs.Bool("removed", false, "include removed memberships")
				tenant := fs.String("tenant", "", "tenant `name` (default: the default tenant)")
				asJSON := fs.Bool("json", false, "print JSON")
				return appAction(0, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					t, err := a.Engine.Tenant(ctx, *tenant)
					if err != nil {
						return err
					}
					f := store.MembershipFilter{TenantID: t.ID, IncludeRemoved: *removed}
					if *user != "" {
						u, err := a.Engine.User(ctx, t.Name, *user)
						if err != nil {
							return err
						}
						f.UserID = u.ID
					}
					if *org != "" {
						o, err := a.Engine.Organisation(ctx, t.Name, *org)
						if err != nil {
							return err
						}
						f.OrganisationID = o.ID
					}
					ms, err := a.Store.ListMemberships(ctx, f)
					if err != nil {
						return err
					}
					if *asJSON {
						return printJSON(env.stdout, ms)
					}
					var rows [][]string
					for _, m := range ms {
						u, _ := a.Store.GetUser(ctx, m.UserID)
						o, _ := a.Store.GetOrganisation(ctx, m.OrganisationID)
						rows = append(rows, []string{m.ID, u.Name, o.Name, strings.Join(m.Channels, ","), ts(m.RemovedAt)})
					}
					table(env.stdout, "MU ID\tUSER\tORGANISATION\tCHANNELS\tREMOVED", rows)
					return nil
				})
			}},
	}}
}

func apitokenCommand() *command {
	return &command{name: "apitoken", summary: "Manage API refresh tokens (the User Profile's renewable tokens).", sub: []*command{
		{name: "create", summary: "Create an API refresh token for a refresh-enabled USER and print it (once; it is not stored).", usage: "USER [--label L] [--tenant T]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				label := fs.String("label", "", "`label` shown in listings (default \"API token\")")
				tenant := fs.String("tenant", "", "tenant `name` (default: the default tenant)")
				return appAction(1, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					u, err := a.Engine.User(ctx, *tenant, args[0])
					if err != nil {
						return err
					}
					g, err := a.Engine.CreateAPIToken(ctx, u.ID, *label)
					if err != nil {
						if errors.Is(err, engine.ErrRefreshNotEnabled) {
							return fmt.Errorf("%w: grant it with `tokengate user set %s --refresh-enabled`", err, u.Name)
						}
						return err
					}
					fmt.Fprintln(env.stdout, g.RefreshToken)
					fmt.Fprintf(env.stderr, "API token %s (%s) for %s; shown once, valid until %s unless revoked\n", g.Session.ID, g.Session.Label, u.Name, ts(g.Session.AbsoluteExpiresAt))
					return nil
				})
			}},
		{name: "list", summary: "List live API tokens.", usage: "[--user U] [--tenant T] [--json]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				user := fs.String("user", "", "only this user's")
				tenant := fs.String("tenant", "", "tenant `name` (default: the default tenant)")
				asJSON := fs.Bool("json", false, "print JSON")
				return appAction(0, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					var ss []store.Session
					if *user != "" {
						u, err := a.Engine.User(ctx, *tenant, *user)
						if err != nil {
							return err
						}
						ss, err = a.Engine.APITokens(ctx, u.ID)
						if err != nil {
							return err
						}
					} else {
						t, err := a.Engine.Tenant(ctx, *tenant)
						if err != nil {
							return err
						}
						if ss, err = a.Engine.AllAPITokens(ctx, t.ID); err != nil {
							return err
						}
					}
					if *asJSON {
						return printJSON(env.stdout, ss)
					}
					var rows [][]string
					for _, s := range ss {
						u, _ := a.Store.GetUser(ctx, s.UserID)
						rows = append(rows, []string{s.ID, u.Name, s.Label, ts(s.CreatedAt), ts(s.LastUsedAt), ts(s.AbsoluteExpiresAt)})
					}
					table(env.stdout, "ID\tUSER\tLABEL\tCREATED\tLAST USED\tEXPIRES", rows)
					return nil
				})
			}},
		{name: "revoke", summary: "Revoke an API token by its id.", usage: "ID",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				return appAction(1, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					if err := a.Engine.RevokeAPIToken(ctx, "", args[0]); err != nil {
						return err
					}
					fmt.Fprintf(env.stdout, "API token %s revoked\n", args[0])
					return nil
				})
			}},
	}}
}

func demoAPICommand() *command {
	return &command{name: "demo-api", summary: "Run the demo risks service alone (an upstream for a proxy route; it trusts X-Tokengate-* headers, so keep it on loopback).",
		usage: "[--listen ADDR]",
		flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
			listen := fs.String("listen", "127.0.0.1:9000", "`address` to listen on")
			return func(ctx context.Context, env *cliEnv, args []string) error {
				if len(args) != 0 {
					return errUsage
				}
				ln, err := net.Listen("tcp", *listen)
				if err != nil {
					return err
				}
				srv := &http.Server{Handler: demo.RisksHandler(), ReadHeaderTimeout: 10 * time.Second}
				fmt.Fprintf(env.stdout, "demo risks service on http://%s (GET /risks, /risks/{id}); route a proxy prefix to it\n", ln.Addr())
				go func() {
					<-ctx.Done()
					shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					_ = srv.Shutdown(shut)
				}()
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					return err
				}
				return nil
			}
		},
	}
}
