package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/obs"
	"github.com/tokengate/tokengate/internal/tlscert"
)

// loadConfig builds the configuration: defaults, then the file, then
// TOKENGATE_* variables, then flags.
func loadConfig(env *cliEnv, override func(*config.Config)) (config.Config, error) {
	cfg := config.Default()
	file := env.global.configFile
	if file == "" {
		file = env.getenv("TOKENGATE_CONFIG")
	}
	if file != "" {
		if err := cfg.LoadFile(file); err != nil {
			return cfg, err
		}
	}
	if err := cfg.LoadEnv(env.getenv); err != nil {
		return cfg, err
	}
	if env.global.dataDir != "" {
		cfg.DataDir = env.global.dataDir
	}
	if env.global.dbURL != "" {
		cfg.Database.URL = env.global.dbURL
	}
	if override != nil {
		override(&cfg)
	}
	return cfg, cfg.Validate()
}

// openApp opens the data directory for an admin command. It creates
// nothing: a directory that does not exist (a typo in --data, a command
// run from another directory) is refused with a message that names it,
// rather than silently started anew with a new master key and a new
// admin beside the server's real data. Only serve and init create.
func openApp(ctx context.Context, env *cliEnv) (*app.App, error) {
	cfg, err := loadConfig(env, nil)
	if err != nil {
		return nil, err
	}
	log := obs.NewLogger(env.stderr, "warn", cfg.Log.Format)
	return app.Open(ctx, cfg, log, app.Options{MustExist: true, Offline: true})
}

// withApp runs fn on the opened data directory and closes it afterwards.
func withApp(ctx context.Context, env *cliEnv, fn func(a *app.App) error) error {
	a, err := openApp(ctx, env)
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}

// appAction is the action of an admin command that takes exactly nargs
// arguments and works on the data directory.
// The count is checked before the directory is opened, so a usage error
// leaves it untouched.
func appAction(nargs int, fn func(ctx context.Context, env *cliEnv, a *app.App, args []string) error) func(context.Context, *cliEnv, []string) error {
	return func(ctx context.Context, env *cliEnv, args []string) error {
		switch {
		case len(args) > nargs:
			return usagef("unexpected argument %q", args[nargs])
		case len(args) < nargs:
			return usagef("missing argument: takes %d, got %d", nargs, len(args))
		}
		return withApp(ctx, env, func(a *app.App) error { return fn(ctx, env, a, args) })
	}
}

// serveSummary is serve's help text.
const serveSummary = "Run the gateway. With no configuration it listens on 127.0.0.1:8080 and keeps its state in ./tokengate-data.\n" +
	"With --db postgres://... several nodes share one PostgreSQL database: give every node the same master key\n" +
	"($TOKENGATE_MASTER_KEY, or the same master.key in its data directory), since the signing keys in the database are sealed with it."

func serveCommand() *command {
	return &command{
		name:    "serve",
		summary: serveSummary,
		usage:   "[flags]",
		flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
			listen := fs.String("listen", "", "`address` to listen on (default 127.0.0.1:8080)")
			publicURL := fs.String("public-url", "", "public `URL` of the gateway; the issuer of every token (default http:// + listen address)")
			demoMode := fs.Bool("demo", false, "load the demo world of the Whitespace seed (users sumo and broker, bucket whitespace, /api/ -> demo risks service)")
			pprofAddr := fs.String("pprof", "", "serve Go profiling endpoints on this loopback `address` (e.g. 127.0.0.1:6060)")
			metricsAddr := fs.String("metrics-listen", "", "serve /metrics on this `address` of its own, and not on the public listener (config metrics.listen)")
			tlsCert := fs.String("tls-cert", "", "serve HTTPS with the PEM certificate chain in this `file` (config tls.cert; reloaded on SIGHUP and when it changes)")
			tlsKey := fs.String("tls-key", "", "the PEM private key `file` of --tls-cert (config tls.key)")
			noMigrate := fs.Bool("no-migrate", false, "do not apply schema migrations at start (run tokengate migrate first); refuse to start on a schema that is behind")
			return func(ctx context.Context, env *cliEnv, args []string) error {
				if err := checkArgs(args); err != nil {
					return err
				}
				cfg, err := loadConfig(env, func(c *config.Config) {
					if *listen != "" {
						c.Listen = *listen
					}
					if *publicURL != "" {
						c.PublicURL = *publicURL
					}
					if *metricsAddr != "" {
						c.Metrics.Listen = *metricsAddr
					}
					if *tlsCert != "" {
						c.TLS.Cert = *tlsCert
					}
					if *tlsKey != "" {
						c.TLS.Key = *tlsKey
					}
				})
				if err != nil {
					return err
				}
				if *pprofAddr != "" {
					stop, err := startPprof(env, *pprofAddr)
					if err != nil {
						return err
					}
					defer stop()
				}
				return serve(ctx, env, cfg, *demoMode, *noMigrate)
			}
		},
	}
}

func serve(ctx context.Context, env *cliEnv, cfg config.Config, demoMode, noMigrate bool) error {
	log := obs.NewLogger(env.stderr, cfg.Log.Level, cfg.Log.Format)
	slog.SetDefault(log)
	var certs *tlscert.Reloader
	if cfg.TLS.Enabled() {
		var err error
		if certs, err = tlscert.New(cfg.TLS.Cert, cfg.TLS.Key, log); err != nil {
			return err
		}
	}
	// Listen before anything is created: a first start that cannot bind
	// must leave no data directory behind, and above all no admin whose
	// generated password was never shown.
	ln, err := listen(cfg.Listen, "--listen")
	if err != nil {
		return err
	}
	defer ln.Close()
	var metricsLn net.Listener
	if cfg.Metrics.Listen != "" {
		if metricsLn, err = listen(cfg.Metrics.Listen, "--metrics-listen"); err != nil {
			return err
		}
		defer metricsLn.Close()
	}
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	tuneRuntime(env.getenv, cfg.Password.WorkerCount())
	a, err := app.Open(ctx, cfg, log, app.Options{Registerer: true, NoMigrate: noMigrate, MustWrite: true})
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := a.Engine.Bootstrap(ctx, env.getenv("TOKENGATE_ADMIN_PASSWORD"))
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	var printDemo func()
	if demoMode {
		if printDemo, err = loadDemo(ctx, env, a); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	// The live-sessions gauge starts from the store before the first
	// request; the background loop recounts it once a minute.
	if err := a.Engine.RecountLiveSessions(ctx); err != nil {
		log.Warn("live sessions not counted", "err", err)
	}
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	bg, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.Engine.Run(bg, a.KeyReload())
	if certs != nil {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.GetCertificate}
		// Taken before the welcome text, so that a SIGHUP sent once it
		// is out reloads rather than ends the process.
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go certs.Watch(bg, cfg.TLS.ReloadInterval.D(), hup)
	}
	printWelcome(env.stdout, cfg, res)
	if printDemo != nil {
		printDemo()
	}
	log.Info("listening", "addr", ln.Addr().String(), "tls", certs != nil, "issuer", cfg.Issuer(), "data", cfg.DataDir, "database", cfg.Database.Describe(cfg.DataDir))

	errc := make(chan error, 2)
	go func() {
		if certs != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	var metricsSrv *http.Server
	if metricsLn != nil {
		metricsSrv = &http.Server{Handler: a.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: srv.ErrorLog}
		go func() { errc <- metricsSrv.Serve(metricsLn) }()
		log.Info("metrics listening", "addr", metricsLn.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	drain := cfg.ShutdownTimeout.D()
	shutdown, stop := context.WithTimeout(context.Background(), drain)
	defer stop()
	if metricsSrv != nil {
		// Scrapes are short; the public listener's requests matter.
		_ = metricsSrv.Shutdown(shutdown)
	}
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		_ = srv.Close()
		return fmt.Errorf("shutdown: requests still in flight after shutdown_timeout %s were cut off: %w", drain, err)
	}
	return nil
}

// listen binds addr, saying what to do when the port is taken; flag names
// the option that sets the address.
func listen(addr, flag string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("cannot listen on %s: the address is already in use (another tokengate, or another program, holds the port): stop it, or choose another address with %s", addr, flag)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	return ln, nil
}

// printWelcome says where the node listens and how to sign in. It writes
// the whole text at once, so that a reader of the output (a supervisor, a
// test) that sees the first line also sees the rest.
func printWelcome(out io.Writer, cfg config.Config, res engine.BootstrapResult) {
	var w bytes.Buffer
	defer func() { out.Write(w.Bytes()) }()
	iss := cfg.Issuer()
	fmt.Fprintf(&w, "tokengate listening on %s (issuer %s, data %s)\n", cfg.ListenURL(), iss, cfg.DataDir)
	pw := printAdminCreated(&w, res)
	fmt.Fprintf(&w, "Get a first token:\n  curl -s %s/oauth2/token -d grant_type=password -d client_id=tokengate -d username=admin --data-urlencode %s | jq\n", iss, pw)
	fmt.Fprintf(&w, "Discovery: %s/.well-known/openid-configuration\n", iss)
}

// printAdminCreated says what Bootstrap did about the admin user and
// returns the password= argument to show in a shell example, quoted so that
// a pasted line sends the password itself: the variable's value when it came
// from TOKENGATE_ADMIN_PASSWORD (so double quotes), whatever it holds
// (--data-urlencode encodes it).
func printAdminCreated(w io.Writer, res engine.BootstrapResult) string {
	switch {
	case res.AdminPassword != "":
		fmt.Fprintf(w, "Created user \"admin\" with password %s (shown once; set TOKENGATE_ADMIN_PASSWORD to choose it).\n", res.AdminPassword)
		return shellQuote("password=" + res.AdminPassword)
	case res.CreatedAdmin:
		fmt.Fprintln(w, "Created user \"admin\" with the password in TOKENGATE_ADMIN_PASSWORD.")
		return `"password=$TOKENGATE_ADMIN_PASSWORD"`
	case res.AdminPasswordInUse:
		return `"password=$TOKENGATE_ADMIN_PASSWORD"`
	case res.AdminPasswordNotApplied:
		fmt.Fprintln(w, "TOKENGATE_ADMIN_PASSWORD was not applied: user \"admin\" already exists and keeps its password; change it with `tokengate user set admin --password-stdin`.")
	}
	return shellQuote("password=YOUR_PASSWORD")
}

// shellQuote quotes s as one POSIX shell word.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
