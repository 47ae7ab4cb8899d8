package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/token"
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
		listCommand("List signing keys.", "", false, noFilters(func(ctx context.Context, a *app.App, _ store.Tenant) (listing, error) {
			return listOf(a.Ring.Keys(), "KID\tALG\tSTATE\tCREATED\tSIGNS FROM\tRETIRED\tLEAVES JWKS", func(k token.KeyInfo) (token.KeyInfo, []string) {
				return k, []string{k.ID, k.Alg, k.State, ts(k.CreatedAt), ts(k.ActiveFrom), ts(k.RetiredAt), ts(k.ExpiresAt)}
			}), nil
		})),
	}}
}
