package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/tokengate/tokengate/internal/app"
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
		listCommand("List signing keys.", "", false, noFilters(func(ctx context.Context, a *app.App, _ string) (listing, error) {
			keys := a.Ring.Keys()
			l := listing{json: keys, header: "KID\tALG\tSTATE\tCREATED\tSIGNS FROM\tRETIRED\tLEAVES JWKS"}
			for _, k := range keys {
				l.rows = append(l.rows, []string{k.ID, k.Alg, k.State, ts(k.CreatedAt), ts(k.ActiveFrom), ts(k.RetiredAt), ts(k.ExpiresAt)})
			}
			return l, nil
		})),
	}}
}
