package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/obs"
)

func initCommand() *command {
	return &command{
		name: "init",
		summary: "Create the data directory without serving: the database, the master key, the default tenant, a signing key, the public client and the admin user " +
			"(password $TOKENGATE_ADMIN_PASSWORD, or generated and shown once). serve does the same on a first start.",
		usage: "[--data DIR] [--config FILE]",
		flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
			return func(ctx context.Context, env *cliEnv, args []string) error {
				if err := checkArgs(args); err != nil {
					return err
				}
				cfg, err := loadConfig(env, nil)
				if err != nil {
					return err
				}
				dir := cfg.DataDir
				if abs, err := filepath.Abs(dir); err == nil {
					dir = abs
				}
				log := obs.NewLogger(env.stderr, "warn", cfg.Log.Format)
				// What exists is never initialised again: a second init
				// must not look like it reset anything.
				a, err := app.Open(ctx, cfg, log, app.Options{MustExist: true})
				if err == nil {
					a.Close()
					return fmt.Errorf("%s already holds tokengate data: nothing changed", dir)
				}
				var missing *app.NotInitialisedError
				if !errors.As(err, &missing) || missing.Missing == app.MissingMasterKey {
					return err
				}
				if a, err = app.Open(ctx, cfg, log, app.Options{}); err != nil {
					return err
				}
				defer a.Close()
				res, err := a.Engine.Bootstrap(ctx, env.getenv("TOKENGATE_ADMIN_PASSWORD"))
				if err != nil {
					return fmt.Errorf("bootstrap: %w", err)
				}
				fmt.Fprintf(env.stdout, "Initialised %s: database, master key (back it up with the database), tenant %s, a signing key, public client tokengate.\n", dir, cfg.DefaultTenant)
				printAdminCreated(env.stdout, res)
				fmt.Fprintf(env.stdout, "Start the gateway with: %s\n", startHint(env, dir))
				return nil
			}
		},
	}
}

// startHint is the serve command that starts on what init made: the same
// configuration file and data directory. A database URL given on the
// command line is not repeated (it may hold a password).
func startHint(env *cliEnv, dir string) string {
	hint := "tokengate serve"
	if f := env.global.configFile; f != "" {
		hint += " --config " + shellWord(f)
	}
	hint += " --data " + shellWord(dir)
	if env.global.dbURL != "" {
		hint += " --db URL (the one given to init)"
	}
	return hint
}

// shellWord is s as one shell word: as it is when it needs no quoting.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,") == "" {
		return s
	}
	return shellQuote(s)
}
