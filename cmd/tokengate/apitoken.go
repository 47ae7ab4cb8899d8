package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

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
					// An administrator on the data directory: no sign-on to
					// check, but the count and label limits hold.
					g, err := a.Engine.CreateAPIToken(ctx, engine.APITokenRequest{User: u.ID, Label: *label, ByAdministrator: true})
					if err != nil {
						switch {
						case errors.Is(err, engine.ErrRefreshNotEnabled):
							return fmt.Errorf("%w: grant it with `tokengate user set %s --refresh-enabled`", err, u.Name)
						case errors.Is(err, engine.ErrAPITokenLimit):
							return fmt.Errorf("%w (see `tokengate apitoken list --user %s`, `tokengate apitoken revoke ID`)", err, u.Name)
						}
						return err
					}
					fmt.Fprintln(env.stdout, g.RefreshToken)
					fmt.Fprintf(env.stderr, "API token %s (%s) for %s; shown once, valid until %s unless revoked\n", g.Session.ID, g.Session.Label, u.Name, ts(g.Session.AbsoluteExpiresAt))
					return nil
				})
			}},
		listCommand("List live API tokens.", "[--user U]", true, func(fs *flag.FlagSet) lister {
			user := fs.String("user", "", "only this user's")
			return func(ctx context.Context, a *app.App, t store.Tenant) (listing, error) {
				var ss []store.Session
				var err error
				if *user != "" {
					var u store.User
					if u, err = a.Engine.User(ctx, t.Name, *user); err != nil {
						return listing{}, err
					}
					ss, err = a.Engine.APITokens(ctx, u.ID)
				} else {
					ss, err = a.Engine.AllAPITokens(ctx, t.ID)
				}
				if err != nil {
					return listing{}, err
				}
				return listOf(ss, "ID\tUSER\tLABEL\tCREATED\tLAST USED\tEXPIRES", func(s store.Session) (store.Session, []string) {
					u, _ := a.Engine.UserByID(ctx, s.UserID)
					return s, []string{s.ID, u.Name, s.Label, ts(s.CreatedAt), ts(s.LastUsedAt), ts(s.AbsoluteExpiresAt)}
				}), nil
			}
		}),
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
