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
		{name: "rotate", summary: "Create a new signing key. It is published in JWKS at once and signs after the publish lead (keys.publish_lead, default 2m); running servers learn of it at once on PostgreSQL (its notifications), and within keys.reload_interval or proxy.revocation_bound, the shorter (default 2s), otherwise; the old key keeps verifying until its tokens expire.", usage: "[--activate-in D | --now]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				in := fs.Duration("activate-in", -1, "start signing after this `duration` (default: keys.publish_lead)")
				now := fs.Bool("now", false, "start signing immediately (verifiers that cache the JWKS may reject new tokens for keys.jwks_max_age; a running server that has not heard of the key yet goes on signing with the old one)")
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
		{name: "revoke", summary: "Revoke a compromised signing key: it leaves the JWKS and verifies nothing any more, here at once, and on running servers at once on PostgreSQL (its notifications) and within keys.reload_interval or proxy.revocation_bound, the shorter (default 2s), otherwise. If it is the key that signs now, another key signs from now (the next one, or a new one).", usage: "KID",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				return appAction(1, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					rv, err := a.Engine.RevokeKey(ctx, "", args[0])
					if err != nil {
						return err
					}
					how := "goes on signing"
					switch {
					case rv.Created:
						how = "was created and signs from now"
					case rv.Activated:
						how = "was published already and signs from now"
					}
					fmt.Fprintf(env.stdout, "key %s revoked; key %s %s\n", rv.Revoked.ID, rv.Signer.ID, how)
					fmt.Fprintf(env.stdout, "running servers drop it within %s (at once on PostgreSQL); verifiers outside tokengate when their cached JWKS expires, within keys.jwks_max_age (%s)\n",
						a.KeyReload(), a.Config.Keys.JWKSMaxAge)
					return nil
				})
			}},
		listCommand("List signing keys.", "", false, noFilters(func(ctx context.Context, a *app.App, _ store.Tenant) (listing, error) {
			return listOf(a.Ring.Keys(), "KID\tALG\tSTATE\tCREATED\tSIGNS FROM\tRETIRED\tLEAVES JWKS", func(k token.KeyInfo) (token.KeyInfo, []string) {
				leaves := ts(k.ExpiresAt)
				if k.State == token.StateRevoked {
					leaves = "revoked " + ts(k.RevokedAt)
				}
				return k, []string{k.ID, k.Alg, k.State, ts(k.CreatedAt), ts(k.ActiveFrom), ts(k.RetiredAt), leaves}
			}), nil
		})),
	}}
}
