package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/tokengate/tokengate/internal/app"
)

// listing is what a list command prints: json with --json, else rows as a
// table under header (columns separated by tabs).
type listing struct {
	json   any
	header string
	rows   [][]string
}

// lister returns a list command's listing; tenant is the --tenant name
// ("" for the default tenant, and for commands that take no --tenant).
type lister func(ctx context.Context, a *app.App, tenant string) (listing, error)

// listCommand builds a "list" subcommand. Every list takes --json and no
// arguments, and, when tenanted, --tenant; usage names the command's own
// flags, which filters declares before it returns the lister.
func listCommand(summary, usage string, tenanted bool, filters func(fs *flag.FlagSet) lister) *command {
	if tenanted {
		usage = strings.TrimSpace(usage + " [--tenant T]")
	}
	usage = strings.TrimSpace(usage + " [--json]")
	return &command{name: "list", summary: summary, usage: usage,
		flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
			tenant := new(string)
			if tenanted {
				tenant = fs.String("tenant", "", "tenant `name` (default: the default tenant)")
			}
			asJSON := fs.Bool("json", false, "print JSON")
			list := filters(fs)
			return appAction(0, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
				l, err := list(ctx, a, *tenant)
				if err != nil {
					return err
				}
				if *asJSON {
					return printJSON(env.stdout, l.json)
				}
				table(env.stdout, l.header, l.rows)
				return nil
			})
		}}
}

// noFilters is the filters of a list command without flags of its own.
func noFilters(l lister) func(*flag.FlagSet) lister {
	return func(*flag.FlagSet) lister { return l }
}

func table(w io.Writer, header string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
