package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/tokengate/tokengate/internal/app"
)

func migrateCommand() *command {
	return &command{
		name:    "migrate",
		summary: "Apply the schema migrations the database lacks (serve applies them at start unless --no-migrate). Nodes starting together migrate one at a time.",
		usage:   "[--dry-run] [--db URL]",
		flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
			dryRun := fs.Bool("dry-run", false, "list the migrations that would be applied, and change nothing")
			return func(ctx context.Context, env *cliEnv, args []string) error {
				if len(args) != 0 {
					return errUsage
				}
				cfg, err := loadConfig(env, nil)
				if err != nil {
					return err
				}
				res, err := app.Migrate(ctx, cfg, *dryRun)
				if err != nil {
					return err
				}
				db := cfg.Database.Describe(cfg.DataDir)
				names := make([]string, len(res.Pending))
				for i, m := range res.Pending {
					names[i] = m.Name
				}
				switch {
				case len(res.Pending) == 0:
					fmt.Fprintf(env.stdout, "%s: schema is up to date (version %d)\n", db, res.Latest)
				case *dryRun:
					fmt.Fprintf(env.stdout, "%s: schema at version %d; would apply, to reach version %d:\n  %s\n",
						db, res.From, res.Latest, strings.Join(names, "\n  "))
				default:
					fmt.Fprintf(env.stdout, "%s: applied %s; schema now at version %d\n", db, strings.Join(names, ", "), res.Latest)
				}
				return nil
			}
		},
	}
}
