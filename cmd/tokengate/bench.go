package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"golang.org/x/term"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/bench"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

// The bench command prepares its own tenant, user and confidential client
// in the data directory, so that runs never touch real accounts; bench
// --cleanup removes them. The users it makes outside its tenant (in Core's)
// carry benchDisplayName, which is how cleanup knows them.
const (
	benchTenant      = "bench"
	benchUser        = "bench"
	benchSeedUser    = "bench-seed"
	benchDisplayName = "tokengate bench"
)

func benchCommand() *command {
	return &command{
		name:    "bench",
		summary: "Load-test a gateway (like pgbench): refresh, signon, introspect, proxy; seed sessions; serve a stand-in upstream.",
		usage:   "--server URL --scenario refresh|signon|introspect|proxy|get [--concurrency N] [--duration D | --requests N] | --seed-sessions N | --upstream ADDR | --cleanup",
		flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
			server := fs.String("server", "http://127.0.0.1:8080", "gateway base `URL`")
			scenario := fs.String("scenario", "refresh", "what to send: refresh, signon, introspect, proxy (GET --path with a bearer token) or get (GET --path, no token)")
			dialect := fs.String("dialect", "oauth2", "refresh scenario: oauth2 (rotating, POST /oauth2/token), core (stable, GET /api/login/refresh) or syncgw (stable, POST /{bucket}/_oidc_refresh)")
			path := fs.String("path", "/", "proxy and get scenarios: the `path` to GET (a proxy route's prefix and below)")
			bucket := fs.String("bucket", "whitespace", "syncgw dialect: the Sync Gateway `bucket`")
			upstream := fs.String("upstream", "", "instead of a run, serve a stand-in upstream on this loopback `address` until interrupted")
			concurrency := fs.Int("concurrency", 32, "number of `workers`, each with its own session and connection")
			duration := fs.Duration("duration", 10*time.Second, "how long to run (at most 10m)")
			requests := fs.Uint64("requests", 0, "stop after `N` requests in all instead of after --duration (like pgbench -t); with both, whichever comes first")
			allowRemote := fs.Bool("allow-remote", false, "allow a target that is not on the loopback interface")
			username := fs.String("username", "", "sign on as this existing user instead of preparing one in the data directory")
			pwStdin := fs.Bool("password-stdin", false, "read --username's password from standard input")
			clientID := fs.String("client-id", "", "with --username: the client to use (default tokengate)")
			clientSecret := fs.String("client-secret", "", "with --username: the client's secret (introspect needs a confidential client)")
			serverPID := fs.Int("server-pid", 0, "server process `id` to sample CPU and memory of (default: the local process listening on the port)")
			asJSON := fs.Bool("json", false, "print the summary as JSON")
			netHTTP := fs.Bool("net-http", false, "send with Go's net/http client instead of the lean built-in HTTP/1.1 client (https targets always use net/http)")
			benchAs := fs.String("bench-user", benchUser, "`name` of the user (and client tokengate-NAME) prepared in the data directory; give concurrent runs different names")
			seed := fs.Int("seed-sessions", 0, "instead of a run, insert `N` live sessions into the data directory's store")
			cleanup := fs.Bool("cleanup", false, "instead of a run, remove what bench prepared in the data directory: the bench tenant with everything in it, and the --bench-user it made in Core's tenant")
			return func(ctx context.Context, env *cliEnv, args []string) error {
				if err := checkArgs(args); err != nil {
					return err
				}
				if *cleanup {
					return withApp(ctx, env, func(a *app.App) error { return benchCleanup(ctx, env, a, *benchAs) })
				}
				if *seed > 0 {
					return withApp(ctx, env, func(a *app.App) error { return benchSeed(ctx, env, a, *seed) })
				}
				if *upstream != "" {
					return benchUpstream(ctx, env, *upstream)
				}
				if *concurrency < 1 || *concurrency > 4096 {
					return errors.New("--concurrency must be between 1 and 4096")
				}
				if *duration <= 0 || *duration > bench.MaxDuration {
					return fmt.Errorf("--duration must be positive and at most %s", bench.MaxDuration)
				}
				u, err := url.Parse(*server)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return fmt.Errorf("--server %q is not an http(s) URL", *server)
				}
				loopback := isLoopback(u.Hostname())
				if !loopback && !*allowRemote {
					return fmt.Errorf("refusing to load %s, which is not a loopback address; pass --allow-remote if you mean it", u.Host)
				}
				t := &bench.Target{BaseURL: u.String(), HTTP: bench.NewHTTPClient(*concurrency), Path: *path, Bucket: *bucket, NetHTTP: *netHTTP}
				switch {
				case *scenario == bench.ScenarioGet:
					// Plain GETs with no token: nothing to prepare.
				case *username != "":
					if !*pwStdin {
						return errors.New("--username needs --password-stdin")
					}
					pw, err := readSecret(env.stdin)
					if err != nil {
						return err
					}
					t.Username, t.Password = *username, pw
					t.ClientID, t.ClientSecret = *clientID, *clientSecret
					if t.ClientID == "" {
						t.ClientID = engine.DefaultClientID
					}
				default:
					coreTenant := *scenario == bench.ScenarioRefresh && *dialect != bench.DialectOAuth2
					if err := withApp(ctx, env, func(a *app.App) error { return benchPrepare(ctx, a, t, *benchAs, coreTenant) }); err != nil {
						return err
					}
				}
				sc, err := bench.New(*scenario, *dialect, t)
				if err != nil {
					return err
				}
				pid := *serverPID
				if pid == 0 && loopback {
					port, _ := strconv.Atoi(u.Port())
					if port == 0 {
						port = map[string]int{"http": 80, "https": 443}[u.Scheme]
					}
					pid, _ = bench.ListeningPID(port) // best effort: 0 when unknown
				}
				var before, after bench.ProcSample
				var procErr error
				opts := bench.Options{Concurrency: *concurrency, Duration: *duration, Requests: *requests}
				if *requests > 0 && !flagGiven(fs, "duration") {
					opts.Duration = 0 // bounded by the count (and bench.MaxDuration) only
				}
				if f, ok := env.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
					opts.Progress = env.stderr
				}
				if pid > 0 {
					opts.OnStart = func() { before, procErr = bench.ReadProc(pid) }
					opts.OnStop = func() {
						if procErr == nil {
							after, procErr = bench.ReadProc(pid)
						}
					}
				}
				res, err := bench.Run(ctx, sc, opts)
				if err != nil {
					return err
				}
				var srv *bench.Server
				if pid > 0 && procErr == nil {
					srv = &bench.Server{PID: pid, CPUPercent: bench.CPUPercent(before, after), RSSBytes: after.RSS}
				}
				sum := res.Summarize(u.String(), srv)
				if *asJSON {
					return printJSON(env.stdout, sum)
				}
				sum.WriteText(env.stdout)
				return nil
			}
		},
	}
}

// flagGiven reports whether the flag name was set on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func benchSecret() (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// benchPrepare makes (or resets) the bench tenant, a refresh-enabled bench
// user with a fresh random password, and a confidential bench client with
// a fresh secret, in the data directory of a, and fills t with them. The
// password and secret live only in this process. The Core dialect signs
// on to its configured tenant, so for it (coreTenant) the user is made
// there instead.
func benchPrepare(ctx context.Context, a *app.App, t *bench.Target, name string, coreTenant bool) error {
	clientID := "tokengate-" + name
	tenant, err := benchEnsureTenant(ctx, a)
	if err != nil {
		return err
	}
	userTenant := benchTenant
	if coreTenant {
		if !a.Config.Core.Enabled {
			return errors.New("the Core dialect is disabled in this configuration (core.enabled)")
		}
		if userTenant = a.Config.Core.Tenant; userTenant == "" {
			userTenant = a.Config.DefaultTenant
		}
	}
	pw, err := benchSecret()
	if err != nil {
		return err
	}
	yes, no := true, false
	u, err := a.Engine.User(ctx, userTenant, name)
	switch {
	case errors.Is(err, engine.ErrUnknownUser):
		_, err = a.Engine.CreateUser(ctx, engine.NewUser{Tenant: userTenant, Name: name, Password: pw, RefreshEnabled: true, DisplayName: benchDisplayName})
	case err == nil && userTenant != benchTenant && u.DisplayName != benchDisplayName:
		// Not a user this command made: leave it alone.
		err = fmt.Errorf("user %s of tenant %s was not made by bench; pass another --bench-user", name, userTenant)
	case err == nil:
		// A new password also ends the previous run's sessions.
		_, err = a.Engine.UpdateUser(ctx, u.ID, engine.UserUpdate{Password: &pw, RefreshEnabled: &yes, Disabled: &no})
	}
	if err != nil {
		return fmt.Errorf("prepare bench user: %w", err)
	}
	var secret string
	grants := []string{"password", "refresh_token", "client_credentials"}
	c, err := a.Engine.Client(ctx, clientID)
	switch {
	case errors.Is(err, engine.ErrUnknownClient):
		_, secret, err = a.Engine.CreateClient(ctx, engine.NewClient{Tenant: benchTenant, ID: clientID, Name: benchDisplayName, GrantTypes: grants})
	case err == nil && (c.TenantID != tenant.ID || len(c.SecretHash) == 0):
		// Not a client this command made: leave it alone.
		err = fmt.Errorf("client %s exists and is not a confidential client of tenant %s; pass another --bench-user", clientID, benchTenant)
	case err == nil:
		// The secret of an existing client is stored only as its hash:
		// give it a new one.
		_, secret, err = a.Engine.UpdateClient(ctx, clientID, engine.ClientUpdate{NewSecret: true, GrantTypes: grants, Disabled: &no})
	}
	if err != nil {
		return fmt.Errorf("prepare bench client: %w", err)
	}
	t.Username, t.Password, t.ClientID, t.ClientSecret = name, pw, clientID, secret
	return nil
}

func benchEnsureTenant(ctx context.Context, a *app.App) (store.Tenant, error) {
	tenant, err := a.Engine.Tenant(ctx, benchTenant)
	if errors.Is(err, engine.ErrUnknownTenant) {
		// No session limit, whatever session_limit the configuration
		// gives new tenants: the workers' sessions must all stay live.
		tenant, err = a.Engine.CreateTenant(ctx, engine.NewTenant{Name: benchTenant, DisplayName: "tokengate bench", SessionLimitPolicy: store.LimitReject})
		if errors.Is(err, engine.ErrAlreadyExists) {
			// Another bench run created it between our read and write.
			tenant, err = a.Engine.Tenant(ctx, benchTenant)
		}
	}
	if err != nil {
		return tenant, fmt.Errorf("prepare bench tenant: %w", err)
	}
	return tenant, nil
}

// benchSeed inserts n live rotating sessions of a password-less seed user
// of the bench tenant in the data directory of a, so a following run
// measures refresh against a large store.
func benchSeed(ctx context.Context, env *cliEnv, a *app.App, n int) error {
	if _, err := benchEnsureTenant(ctx, a); err != nil {
		return err
	}
	u, err := a.Engine.User(ctx, benchTenant, benchSeedUser)
	if errors.Is(err, engine.ErrUnknownUser) {
		u, err = a.Engine.CreateUser(ctx, engine.NewUser{Tenant: benchTenant, Name: benchSeedUser, RefreshEnabled: true, DisplayName: "tokengate bench seed"})
	}
	if err != nil {
		return fmt.Errorf("prepare seed user: %w", err)
	}
	start := time.Now()
	interactive := false
	if f, ok := env.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		interactive = true
	}
	_, err = a.Engine.SeedSessions(ctx, engine.SessionSeed{UserID: u.ID, Service: engine.ServiceOAuth2, ClientID: engine.DefaultClientID,
		Count: n, Progress: func(done int) {
			if interactive {
				fmt.Fprintf(env.stderr, "\r\033[Kseeded %d/%d sessions", done, n)
			}
		}})
	if interactive {
		fmt.Fprint(env.stderr, "\r\033[K")
	}
	if err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(env.stdout, "seeded %d sessions in %s (%.0f/s)\n", n, el.Round(time.Millisecond), float64(n)/el.Seconds())
	return nil
}

// benchCleanup removes what bench prepared in the data directory of a: the
// bench tenant with every user, client and session in it, and the user
// name (--bench-user) that a Core run made in Core's tenant, if bench made
// it (its display name says so); a user of that name that bench did not
// make is named and left alone.
func benchCleanup(ctx context.Context, env *cliEnv, a *app.App, name string) error {
	r, err := a.Engine.RemoveTenant(ctx, benchTenant, true)
	switch {
	case errors.Is(err, engine.ErrUnknownTenant):
		fmt.Fprintf(env.stdout, "no bench tenant to remove\n")
	case err != nil:
		return err
	default:
		fmt.Fprintf(env.stdout, "tenant %s removed with %d user(s) and %d client(s)\n", r.Tenant.Name, r.Users, r.Clients)
	}
	coreTenant := a.Config.Core.Tenant
	if coreTenant == "" {
		coreTenant = a.Config.DefaultTenant
	}
	u, err := a.Engine.User(ctx, coreTenant, name)
	switch {
	case errors.Is(err, engine.ErrUnknownUser), errors.Is(err, engine.ErrUnknownTenant):
		return nil
	case err != nil:
		return err
	case u.DisplayName != benchDisplayName:
		fmt.Fprintf(env.stdout, "user %s of tenant %s was not made by bench: left alone\n", name, coreTenant)
		return nil
	}
	if _, err := a.Engine.RemoveUser(ctx, coreTenant, name); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "user %s removed from tenant %s\n", name, coreTenant)
	return nil
}

// benchUpstream serves bench.Upstream on a loopback address until ctx
// ends: the upstream of a proxy route when measuring the proxy.
func benchUpstream(ctx context.Context, env *cliEnv, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !isLoopback(host) {
		return fmt.Errorf("--upstream %q: want a loopback address such as 127.0.0.1:9000", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: bench.Upstream(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(env.stdout, "bench upstream listening on http://%s/\n", ln.Addr())
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
