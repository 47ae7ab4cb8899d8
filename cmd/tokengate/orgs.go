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
		listCommand("List organisations.", "", true, noFilters(func(ctx context.Context, a *app.App, t store.Tenant) (listing, error) {
			orgs, err := a.Engine.Organisations(ctx, t.Name)
			if err != nil {
				return listing{}, err
			}
			return listOf(orgs, "NAME\tDISPLAY NAME\tCREATED", func(o store.Organisation) (store.Organisation, []string) {
				return o, []string{o.Name, o.DisplayName, ts(o.CreatedAt)}
			}), nil
		})),
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
		listCommand("List memberships.", "[--user U] [--org O] [--removed]", true, func(fs *flag.FlagSet) lister {
			user := fs.String("user", "", "only this user's")
			org := fs.String("org", "", "only this organisation's")
			removed := fs.Bool("removed", false, "include removed memberships")
			return func(ctx context.Context, a *app.App, t store.Tenant) (listing, error) {
				members, err := a.Engine.Members(ctx, engine.MemberQuery{Tenant: t.Name, User: *user, Organisation: *org, IncludeRemoved: *removed})
				if err != nil {
					return listing{}, err
				}
				return listOf(members, "MU ID\tUSER\tORGANISATION\tCHANNELS\tREMOVED", func(m engine.Member) (store.Membership, []string) {
					return m.Membership, []string{m.Membership.ID, m.User.Name, m.Organisation.Name, strings.Join(m.Membership.Channels, ","), ts(m.Membership.RemovedAt)}
				}), nil
			}
		}),
	}}
}
