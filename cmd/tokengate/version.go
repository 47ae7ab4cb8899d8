package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
)

func versionCommand() *command {
	return &command{name: "version", summary: "Print the module version and the VCS revision this binary was built from (also: tokengate --version).", usage: "",
		flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
			return func(ctx context.Context, env *cliEnv, args []string) error {
				if err := checkArgs(args); err != nil {
					return err
				}
				bi, _ := debug.ReadBuildInfo()
				printVersion(env.stdout, bi)
				return nil
			}
		}}
}

// printVersion writes what the Go toolchain recorded in the binary: the
// main module's version ("(devel)" for a build from a checkout), the VCS
// revision with whether the tree had uncommitted changes, and the Go
// version. go run, -buildvcs=false and builds outside a plain git clone
// (a git worktree, a source archive) record no revision.
func printVersion(w io.Writer, bi *debug.BuildInfo) {
	if bi == nil {
		fmt.Fprintln(w, "tokengate (no build information)")
		return
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	fmt.Fprintf(w, "tokengate %s\n", v)
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	switch rev := settings["vcs.revision"]; {
	case rev == "":
		fmt.Fprintln(w, "revision unknown (the go command recorded none: go run, -buildvcs=false, or a build outside a plain git clone)")
	case settings["vcs.modified"] == "true":
		fmt.Fprintf(w, "revision %s (modified: built with uncommitted changes)\n", rev)
	default:
		fmt.Fprintf(w, "revision %s\n", rev)
	}
	if t := settings["vcs.time"]; t != "" {
		fmt.Fprintf(w, "committed %s\n", t)
	}
	fmt.Fprintf(w, "built with %s\n", bi.GoVersion)
}
