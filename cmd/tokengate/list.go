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
	"github.com/tokengate/tokengate/internal/store"
)

// listing is what a list command prints: json with --json, else rows as a
// table under header (columns separated by tabs).
type listing struct {
	json   any
	header string
	rows   [][]string
}

// listOf is the listing of items: each gives one JSON element and one
// table row. An empty listing is [] in JSON.
func listOf[T, J any](items []T, header string, each func(T) (J, []string)) listing {
	out := make([]J, 0, len(items))
	l := listing{header: header}
	for _, it := range items {
		j, row := each(it)
		out = append(out, j)
		l.rows = append(l.rows, row)
	}
	l.json = out
	return l
}

// lister returns a list command's listing. t is the tenant --tenant names
// (the default tenant without it); commands without --tenant get the zero
// Tenant.
type lister func(ctx context.Context, a *app.App, t store.Tenant) (listing, error)

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
				var t store.Tenant
				if tenanted {
					var err error
					if t, err = a.Engine.Tenant(ctx, *tenant); err != nil {
						return err
					}
				}
				l, err := list(ctx, a, t)
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
