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
// It has been printed already when run sees it.
var errUsage = errors.New("usage")

// usageError is a wrong command line: what is wrong is said first, then
// the command's usage.
type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == errUsage }

// usagef returns a usage error that says what is wrong with the command line.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// checkArgs checks a command's positional arguments against the names of
// those it takes, and says which is missing or which one is too many.
func checkArgs(args []string, names ...string) error {
	switch {
	case len(args) < len(names):
		return usagef("missing %s", strings.Join(names[len(args):], " "))
	case len(args) > len(names):
		return usagef("unexpected argument %q", args[len(names)])
	}
	return nil
}

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
	name := strings.Join(path, " ")
	if len(c.sub) > 0 {
		switch {
		case len(args) == 0:
			fmt.Fprintf(env.stderr, "%s: missing command\n\n", name)
			printGroup(env.stderr, c, path)
			return errUsage
		case args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help":
			printGroup(env.stdout, c, path)
			return nil
		case len(path) == 1 && (args[0] == "--version" || args[0] == "-version"):
			args = append([]string{"version"}, args[1:]...)
		}
		for _, s := range c.sub {
			if s.name == args[0] {
				return dispatch(ctx, env, s, append(path, s.name), args[1:])
			}
		}
		fmt.Fprintf(env.stderr, "%s: unknown command %q\n\n", name, strings.Join(append(path, args[0]), " "))
		printGroup(env.stderr, c, path)
		return errUsage
	}
	// The flag package would print its errors and the usage itself, and
	// run would print the error again: it stays silent, and dispatch says
	// once what is wrong, then the usage.
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	env.global.register(fs)
	runFn := c.flags(fs)
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: %s %s\n\n%s\n\nFlags:\n", name, c.usage, c.summary)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
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
			usage(env.stdout)
			return flag.ErrHelp
		}
	}
	var err error
	for {
		if err = fs.Parse(rest); err != nil {
			err = usagef("%v", err)
			break
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if err == nil {
		err = runFn(ctx, env, positional)
	}
	if errors.Is(err, errUsage) {
		if msg := err.Error(); msg != errUsage.Error() {
			fmt.Fprintf(env.stderr, "%s: %s\n\n", name, msg)
		}
		usage(env.stderr)
		return errUsage
	}
	return err
}

func printGroup(w io.Writer, c *command, path []string) {
	fmt.Fprintf(w, "Usage: %s <command> [flags]\n\n%s\n\nCommands:\n", strings.Join(path, " "), c.summary)
	subs := append([]*command(nil), c.sub...)
	sort.Slice(subs, func(i, j int) bool { return subs[i].name < subs[j].name })
	for _, s := range subs {
		// A summary of several lines keeps them all in its column.
		fmt.Fprintf(w, "  %-10s %s\n", s.name, strings.ReplaceAll(s.summary, "\n", "\n"+strings.Repeat(" ", 13)))
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
			initCommand(),
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
