// Command tokengate is the tokengate authentication gateway: `serve` runs
// it, and the admin commands manage users, sessions, keys and clients on
// the same data directory, also while a server runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/tokengate/tokengate/internal/obs"
)

// command is one CLI command or command group.
type command struct {
	name    string
	summary string
	usage   string // arguments after the command name
	flags   func(fs *flag.FlagSet) func(ctx context.Context, env *cliEnv, args []string) error
	sub     []*command
}

// cliEnv is what commands share: the streams and the global options.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	global         globalFlags
}

type globalFlags struct {
	configFile string
	dataDir    string
	dbURL      string
}

func (g *globalFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.configFile, "config", "", "YAML configuration `file`")
	fs.StringVar(&g.dataDir, "data", "", "data `directory` (default ./tokengate-data, or $TOKENGATE_DATA)")
	fs.StringVar(&g.dbURL, "db", "", "database `URL` (or database.url, $TOKENGATE_DATABASE_URL): postgres://user:password@host:5432/db for a PostgreSQL\n"+
		"database several nodes share, each given the same master key ($TOKENGATE_MASTER_KEY or a copy of master.key);\n"+
		"sqlite:PATH for a SQLite file; default SQLite in the data directory")
}

// errUsage marks an error that should be followed by the command's usage.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := &cliEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	code := run(ctx, env, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, env *cliEnv, args []string) int {
	root := rootCommand()
	// Admin commands write audit events; give them a correlation id too.
	ctx = obs.WithRequest(ctx, obs.RequestInfo{CorrelationID: "cli-" + obs.NewCorrelationID(), RemoteAddr: "cli"})
	if err := dispatch(ctx, env, root, []string{"tokengate"}, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(env.stderr, "tokengate:", err)
		}
		return 1
	}
	return 0
}

func dispatch(ctx context.Context, env *cliEnv, c *command, path []string, args []string) error {
	if len(c.sub) > 0 {
		if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			printGroup(env.stdout, c, path)
			if len(args) == 0 {
				return errUsage
			}
			return nil
		}
		for _, s := range c.sub {
			if s.name == args[0] {
				return dispatch(ctx, env, s, append(path, s.name), args[1:])
			}
		}
		printGroup(env.stderr, c, path)
		return fmt.Errorf("unknown command %q", strings.Join(append(path, args[0]), " "))
	}
	fs := flag.NewFlagSet(strings.Join(path, " "), flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	env.global.register(fs)
	runFn := c.flags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s %s\n\n%s\n\nFlags:\n", strings.Join(path, " "), c.usage, c.summary)
		fs.PrintDefaults()
	}
	// Allow flags after positional arguments (tokengate user set NAME --disabled=true).
	var positional []string
	rest := args
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "--h" || a == "-help" || a == "--help" {
			// Help asked for is output, not an error: print it once, to stdout.
			fs.SetOutput(env.stdout)
			fs.Usage()
			return flag.ErrHelp
		}
	}
	for {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	err := runFn(ctx, env, positional)
	if errors.Is(err, errUsage) {
		fs.Usage()
	}
	return err
}

func printGroup(w io.Writer, c *command, path []string) {
	fmt.Fprintf(w, "Usage: %s <command> [flags]\n\n%s\n\nCommands:\n", strings.Join(path, " "), c.summary)
	subs := append([]*command(nil), c.sub...)
	sort.Slice(subs, func(i, j int) bool { return subs[i].name < subs[j].name })
	for _, s := range subs {
		fmt.Fprintf(w, "  %-10s %s\n", s.name, s.summary)
	}
	fmt.Fprintf(w, "\nRun '%s <command> --help' for a command's flags.\n", strings.Join(path, " "))
}

func rootCommand() *command {
	return &command{
		name:    "tokengate",
		summary: "tokengate is an authentication gateway: renewable tokens for API usage.",
		sub: []*command{
			serveCommand(),
			migrateCommand(),
			userCommand(),
			sessionCommand(),
			keyCommand(),
			clientCommand(),
			tenantCommand(),
			versionCommand(),
			benchCommand(),
			tokenCommand(), loginCommand(), apiCommand(),
			orgCommand(), memberCommand(), apitokenCommand(), demoAPICommand(),
		},
	}
}
