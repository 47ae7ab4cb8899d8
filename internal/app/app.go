// Package app wires a gateway node together from its configuration: the
// store, the master key and key ring, the engine, and the HTTP surfaces.
// Both `tokengate serve` and the admin commands open an App, so the CLI
// works on the same data directory as a running server.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/dialect/ags"
	"github.com/tokengate/tokengate/internal/dialect/core"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/store/migrate"
	"github.com/tokengate/tokengate/internal/store/postgres"
	"github.com/tokengate/tokengate/internal/store/sqlite"
	"github.com/tokengate/tokengate/internal/token"
)

// App is an opened gateway node.
type App struct {
	Config config.Config
	Log    *slog.Logger
	// Store is the opened backend, for the wiring (readiness, Close) and
	// for tests that inspect what was written; commands and surfaces go
	// through Engine (internal/archtest checks it).
	Store    store.Store
	Ring     *token.Ring
	Engine   *engine.Engine
	Registry *prometheus.Registry
	Started  time.Time
	// webKey signs the web UI's CSRF tokens and seals its external
	// sign-in state; derived from the master key, so every node shares it.
	webKey []byte
}

// Options adjusts Open, mostly for tests.
type Options struct {
	Now        func() time.Time
	MasterKey  string // overrides TOKENGATE_MASTER_KEY
	Registerer bool   // register metrics (the server does; CLI commands don't need to)
	// MustExist makes Open refuse, with a *NotInitialisedError, data that
	// does not exist yet (the data directory, the SQLite database or an
	// empty PostgreSQL schema, the master key) instead of creating it.
	// Admin commands open with it, so that one pointed at the wrong
	// directory or database says so rather than starting a new, empty
	// gateway there; only serve and init create.
	MustExist bool
	// NoMigrate opens the store without applying schema migrations; a
	// schema that is behind is then an error (`tokengate serve --no-migrate`).
	NoMigrate bool
	// Offline opens the node for an admin command rather than a server:
	// the tokens it mints carry the issuer the serving node recorded in the
	// store (engine.RecordedIssuer), not one derived from the command's own
	// configuration. Otherwise the node records its issuer as the server's.
	Offline bool
	// MustWrite makes Open refuse a store that can't commit a write (its
	// heartbeat): serve opens with it, since a gateway that can't record a
	// sign-on or a refresh would only answer 503.
	MustWrite bool
}

// Open opens the store and key ring and builds the engine. It does not
// bootstrap: call Engine.Bootstrap when a fresh store should be prepared.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger, opts Options) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.MustExist {
		if err := checkExisting(cfg, masterKeyEnv(opts)); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	// A node given its master key and a PostgreSQL database needs no data
	// directory: when it must exist and does not, nothing in it is used.
	if err := checkDataDir(cfg.DataDir); err != nil && !(opts.MustExist && errors.Is(err, fs.ErrNotExist)) {
		return nil, err
	}
	st, err := openStore(ctx, cfg, opts)
	if err == nil && opts.MustWrite {
		if err = st.Heartbeat(ctx); err != nil {
			st.Close()
		}
	}
	if err != nil {
		if opts.MustWrite && errors.Is(err, store.ErrUnavailable) {
			return nil, fmt.Errorf("can't write the database %s (%w): serve records every sign-on and refresh, so it does not start "+
				"on a database it can't write; make it writable (the file's mode and owner, its mount, free space, a process "+
				"holding its lock, the server's reachability and read-only setting) and start again", cfg.Database.Describe(cfg.DataDir), err)
		}
		return nil, err
	}
	a := &App{Config: cfg, Log: log, Store: st, Registry: prometheus.NewRegistry(), Started: time.Now()}
	if err := a.build(ctx, opts); err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

// openStore opens the store that cfg.Database selects, migrating its schema
// unless opts.NoMigrate (then a schema that is behind is an error). With
// opts.MustExist a PostgreSQL schema that holds no tokengate tables is a
// *NotInitialisedError (checkExisting looks for a SQLite file beforehand).
func openStore(ctx context.Context, cfg config.Config, opts Options) (store.Store, error) {
	kind, target, err := cfg.Database.Backend(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	switch kind {
	case config.BackendPostgres:
		if opts.MustExist {
			res, err := postgres.Migrate(ctx, target, true)
			if err != nil {
				return nil, fmt.Errorf("open PostgreSQL store: %w", err)
			}
			if res.From == 0 {
				return nil, &NotInitialisedError{Missing: MissingStore, Database: cfg.Database.Describe(cfg.DataDir)}
			}
		}
		st, err := postgres.Open(ctx, target, postgres.Options{NoMigrate: opts.NoMigrate})
		if err != nil {
			// The error names the host and database, never the URL.
			return nil, fmt.Errorf("open PostgreSQL store: %w", err)
		}
		return st, nil
	default:
		st, err := sqlite.OpenWith(ctx, target, sqlite.Options{NoMigrate: opts.NoMigrate, BusyTimeout: cfg.Database.BusyTimeout.D()})
		if err != nil {
			return nil, fmt.Errorf("open sqlite store %s: %w", target, err)
		}
		return st, nil
	}
}

// Migrate applies the schema migrations that the store cfg.Database
// selects lacks, or with dryRun only lists them. It needs neither the master
// key nor the data directory of a PostgreSQL store.
func Migrate(ctx context.Context, cfg config.Config, dryRun bool) (migrate.Result, error) {
	if err := cfg.Validate(); err != nil {
		return migrate.Result{}, fmt.Errorf("invalid configuration:\n%w", err)
	}
	kind, target, err := cfg.Database.Backend(cfg.DataDir)
	if err != nil {
		return migrate.Result{}, err
	}
	if kind == config.BackendPostgres {
		return postgres.Migrate(ctx, target, dryRun)
	}
	if !dryRun {
		if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
			return migrate.Result{}, fmt.Errorf("data directory: %w", err)
		}
	}
	return sqlite.Migrate(ctx, target, dryRun)
}

// masterKeyEnv is the master key given outside the data directory.
func masterKeyEnv(opts Options) string {
	if opts.MasterKey != "" {
		return opts.MasterKey
	}
	return os.Getenv("TOKENGATE_MASTER_KEY")
}

func (a *App) build(ctx context.Context, opts Options) error {
	cfg := a.Config
	master, createdKey, err := token.LoadOrCreateMasterKey(masterKeyEnv(opts), cfg.DataDir)
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	sealer, err := token.NewSealer(master)
	if err != nil {
		return err
	}
	policies := make(map[string]engine.Policy, len(cfg.Services))
	// The ring signs access tokens only (refresh tokens are MACed under a
	// key that is never published), so a retired key's public part must
	// outlive the longest access token it may have signed.
	var longest time.Duration
	for name, s := range cfg.Services {
		p := engine.Policy{Refresh: store.RefreshPolicy(s.Refresh), AccessTTL: s.AccessTTL.D(), IdleTTL: s.IdleTTL.D(), AbsoluteTTL: s.AbsoluteTTL.D()}
		switch name {
		case "ags":
			// AGS clients read their own claim names (typ, tenantId, fixed_exp...).
			p.Claims = ags.Claims
		case core.Service:
			// Core clients read the user name from sub.
			p.Subject = core.Subject
		}
		policies[name] = p
		longest = max(longest, p.AccessTTL)
	}
	// Retention: the longest access token, the verifiers' leeway past its
	// exp, and the reload interval, during which another node that has not
	// yet seen a rotation still signs with the key it retired.
	retention := longest + cfg.Refresh.Leeway.D() + cfg.Keys.ReloadInterval.D()
	ring, err := token.NewRing(engine.KeyStore(a.Store), sealer, token.RingOptions{
		Alg: cfg.Keys.Algorithm, PublishLead: cfg.Keys.PublishLead.D(), Retention: retention,
		JWKSMaxAge: cfg.Keys.JWKSMaxAge.D(), Now: opts.Now,
	})
	if err != nil {
		return err
	}
	if err := ring.Load(ctx); err != nil {
		if createdKey && errors.Is(err, token.ErrUnseal) {
			// A node given no master key joined a database whose keys
			// another node sealed: the key just made unseals nothing
			// there, and left behind it would pass for a wrong key given.
			path := filepath.Join(cfg.DataDir, token.MasterKeyFile)
			if rerr := os.Remove(path); rerr != nil {
				a.Log.Warn("could not remove the master key made for this start", "path", path, "err", rerr)
			}
			return fmt.Errorf("this node was given no master key (TOKENGATE_MASTER_KEY is not set and %s did not exist) and the signing keys in the database are sealed with another: give it the master key they were sealed with (the other nodes' key, or master.key from the backup), in TOKENGATE_MASTER_KEY or as %s", path, path)
		}
		return fmt.Errorf("load signing keys: %w", err)
	}
	var reg prometheus.Registerer
	if opts.Registerer {
		reg = a.Registry
		a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	issuer := cfg.Issuer()
	if opts.Offline {
		rec, err := engine.RecordedIssuer(ctx, a.Store)
		if err != nil {
			return fmt.Errorf("read the server's issuer: %w", err)
		}
		if rec != "" {
			issuer = rec
		}
	}
	eng, err := engine.New(a.Store, ring, engine.Options{
		Issuer:               issuer,
		DefaultTenant:        cfg.DefaultTenant,
		GraceWindow:          cfg.Refresh.GraceWindow.D(),
		Leeway:               cfg.Refresh.Leeway.D(),
		Policies:             policies,
		RefreshKey:           sealer.DeriveKey("tokengate refresh-token id v1"),
		HashWorkers:          cfg.Password.WorkerCount(),
		HashMemoryKiB:        cfg.Password.MemoryKiB,
		HashIterations:       cfg.Password.Iterations,
		BrowserIdleTTL:       cfg.Web.IdleTTL.D(),
		SignOutKeepsSessions: cfg.Web.SignOutKeepsSessions,
		BrowserAbsoluteTTL:   cfg.Web.AbsoluteTTL.D(),

		MinPasswordLength: cfg.Password.MinLength,
		Throttle: engine.ThrottlePolicy{
			Account: throttleRule(cfg.Throttle.Account),
			Address: throttleRule(cfg.Throttle.Address),
		},
		APITokenReauth: cfg.APITokens.ReauthWindow.D(),
		MaxAPITokens:   cfg.APITokens.MaxPerUser,
		AuditRetention: cfg.Audit.Retention.D(),
		DefaultSessionLimit: engine.SessionLimit{
			Max: cfg.SessionLimit.MaxSessions, Policy: store.LimitPolicy(cfg.SessionLimit.Policy),
		},

		Now:        opts.Now,
		Logger:     a.Log,
		Registerer: reg,
	})
	if err != nil {
		return err
	}
	if !opts.Offline {
		if err := eng.RecordIssuer(ctx); err != nil {
			return fmt.Errorf("record the issuer: %w", err)
		}
	}
	a.Ring, a.Engine = ring, eng
	a.webKey = sealer.DeriveKey("tokengate web ui v1")
	return nil
}

func throttleRule(r config.ThrottleRule) engine.ThrottleRule {
	return engine.ThrottleRule{Free: r.Free, BaseDelay: r.BaseDelay.D(), MaxDelay: r.MaxDelay.D(), Forget: r.ForgetAfter.D()}
}

// KeyReload is how often the node rereads its signing keys when no
// notification told it to: keys.reload_interval, but at most the
// revocation bound, so that a key revoked on another node (or by the CLI)
// stops verifying here within the bound even when the store notifies
// nothing (SQLite) or the notification was lost. A reload that finds
// nothing changed is one small query and no unsealing.
func (a *App) KeyReload() time.Duration {
	return min(a.Config.Keys.ReloadInterval.D(), a.Config.Proxy.RevocationBound.D())
}

// Close releases the store.
func (a *App) Close() error { return a.Store.Close() }

// Ready reports whether the node can serve: the store commits a write
// (its heartbeat; a database that is read-only, full or locked still
// answers a ping) and a key can sign. It needs no restart to change its
// mind: every call tries the store afresh.
func (a *App) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := a.Store.Heartbeat(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if len(a.Ring.Algorithms()) == 0 {
		return errors.New("no signing key")
	}
	return nil
}
