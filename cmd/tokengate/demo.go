package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/demo"
)

// loadDemo loads the demo world into a running server's app (after
// Bootstrap, before a.Handler()) and returns what prints its walkthrough.
func loadDemo(ctx context.Context, env *cliEnv, a *app.App) (func(), error) {
	res, err := demo.Load(ctx, a, demo.Options{Getenv: env.getenv, Log: a.Log})
	if err != nil {
		return nil, err
	}
	return func() { demo.PrintWalkthrough(env.stdout, a.Config.Issuer(), res) }, nil
}

func demoAPICommand() *command {
	return &command{name: "demo-api", summary: "Run the demo risks service alone (an upstream for a proxy route; it trusts X-Tokengate-* headers, so keep it on loopback).",
		usage: "[--listen ADDR]",
		flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
			listen := fs.String("listen", "127.0.0.1:9000", "`address` to listen on")
			return func(ctx context.Context, env *cliEnv, args []string) error {
				if err := checkArgs(args); err != nil {
					return err
				}
				ln, err := net.Listen("tcp", *listen)
				if err != nil {
					return err
				}
				srv := &http.Server{Handler: demo.RisksHandler(), ReadHeaderTimeout: 10 * time.Second}
				fmt.Fprintf(env.stdout, "demo risks service on http://%s (GET /risks, /risks/{id}); route a proxy prefix to it\n", ln.Addr())
				go func() {
					<-ctx.Done()
					shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					_ = srv.Shutdown(shut)
				}()
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					return err
				}
				return nil
			}
		},
	}
}
