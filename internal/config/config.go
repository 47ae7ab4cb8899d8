// Package config holds tokengate's typed configuration: defaults, an
// optional YAML file, TOKENGATE_* environment variables and flags, applied
// in that order. Validate reports every problem at once.
package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration of a gateway node.
type Config struct {
	Listen    string `yaml:"listen"`
	PublicURL string `yaml:"public_url"`
	DataDir   string `yaml:"data_dir"`

	Database Database `yaml:"database"`
	Log      Log      `yaml:"log"`
	Metrics  Metrics  `yaml:"metrics"`
	Keys     Keys     `yaml:"keys"`

	// DefaultTenant is the tenant used when a request names none.
	DefaultTenant string `yaml:"default_tenant"`
	// SessionLimit seeds the limit of tenants created by tokengate.
	SessionLimit SessionLimit `yaml:"session_limit"`
	// Refresh holds rules shared by every refresh policy.
	Refresh Refresh `yaml:"refresh"`
	// Services holds the lifetimes and refresh policy of each sign-on
	// service, keyed by service name (oauth2, core, ags, syncgw, apitoken).
	Services map[string]Service `yaml:"services"`
	Password Password           `yaml:"password"`
	Throttle Throttle           `yaml:"throttle"`
	// APITokens limits the User Profile's API refresh tokens.
	APITokens APITokens `yaml:"api_tokens"`
	Audit     Audit     `yaml:"audit"`
	Core      Core      `yaml:"core"`
	AGS       AGS       `yaml:"ags"`
	OIDC      OIDC      `yaml:"oidc"`
	SyncGW    SyncGW    `yaml:"syncgw"`
	Proxy     Proxy     `yaml:"proxy"`
	Web       Web       `yaml:"web"`
	TLS       TLS       `yaml:"tls"`
	// ShutdownTimeout bounds how long a stopping gateway (SIGTERM,
	// SIGINT) waits for the requests in flight to finish before it cuts
	// them off; a supervisor's own stop timeout should exceed it.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
}

// Log configures structured logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
	// Access selects the per-request access log lines: all (default),
	// errors (only responses with status 400 and above) or off. Every
	// line written still carries its correlation id.
	Access string `yaml:"access"`
}

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	// Listen, when set, serves /metrics on a listener of its own at this
	// address (say, one only the monitoring network reaches), and no
	// longer on the public listener. Empty: /metrics is on the public
	// listener.
	Listen string `yaml:"listen"`
}

// Keys configures the signing key ring.
type Keys struct {
	Algorithm string `yaml:"algorithm"` // EdDSA (default), ES256, RS256
	// PublishLead is how long a rotated key is published before it signs,
	// so that verifiers caching the JWKS and nodes reloading their keys
	// learn it first: it must exceed JWKSMaxAge plus ReloadInterval.
	PublishLead Duration `yaml:"publish_lead"`
	// ReloadInterval is how often each node rereads keys from the store
	// (at most every proxy.revocation_bound): a key rotated or revoked
	// elsewhere (another node, the CLI) takes effect on this node within
	// it, and at once on PostgreSQL, whose notifications tell every node.
	ReloadInterval Duration `yaml:"reload_interval"`
	// JWKSMaxAge is the Cache-Control max-age of the JWKS: how long a
	// verifier may keep using the key set it fetched.
	JWKSMaxAge Duration `yaml:"jwks_max_age"`
}

// SessionLimit is the default per-user session limit of new tenants.
type SessionLimit struct {
	MaxSessions int    `yaml:"max_sessions"` // 0: no limit
	Policy      string `yaml:"policy"`       // reject or end_oldest
}

// Refresh holds refresh rules common to all services.
type Refresh struct {
	// GraceWindow is how long the immediately previous rotating refresh
	// token still yields the same successor (a retry after a lost response).
	GraceWindow Duration `yaml:"grace_window"`
	// Leeway tolerates clock skew when checking exp, nbf and iat of the
	// tokens tokengate issued: an access token is refused Leeway after its
	// exp. A few seconds, as verifiers expect.
	Leeway Duration `yaml:"leeway"`
}

// Service is the token policy of one sign-on service.
type Service struct {
	Refresh     string   `yaml:"refresh"` // rotating or stable
	AccessTTL   Duration `yaml:"access_ttl"`
	IdleTTL     Duration `yaml:"idle_ttl"`     // sliding refresh lifetime
	AbsoluteTTL Duration `yaml:"absolute_ttl"` // fixed at sign-on, never extended
}

// Password configures argon2id hashing of passwords and the rule of new
// ones.
type Password struct {
	// Workers bounds how many hashes run at once (0: number of CPUs;
	// default: half the CPUs, at least one), so a
	// flood of sign-ons cannot starve refreshes of CPU.
	Workers    int    `yaml:"workers"`
	MemoryKiB  uint32 `yaml:"memory_kib"`
	Iterations uint32 `yaml:"iterations"`
	// MinLength is the least number of characters of a new password
	// (user add, password changes, the bootstrap admin's); passwords set
	// before keep working.
	MinLength int `yaml:"min_length"`
}

// Throttle throttles password guessing per account and per client
// address (docs/SECURITY.md): after Free failures of a run, each attempt
// waits BaseDelay from the last failure, doubled per further failure, at
// most MaxDelay; a run ends ForgetAfter its last failure.
type Throttle struct {
	Account ThrottleRule `yaml:"account"`
	Address ThrottleRule `yaml:"address"`
}

// ThrottleRule is the delay rule of one kind of key.
type ThrottleRule struct {
	Free        int      `yaml:"free"`
	BaseDelay   Duration `yaml:"base_delay"`
	MaxDelay    Duration `yaml:"max_delay"`
	ForgetAfter Duration `yaml:"forget_after"`
}

// APITokens limits API refresh tokens.
type APITokens struct {
	// MaxPerUser is the most live API tokens a user may hold.
	MaxPerUser int `yaml:"max_per_user"`
	// ReauthWindow is how recent the password sign-on behind a request to
	// create one must be.
	ReauthWindow Duration `yaml:"reauth_window"`
}

// Audit configures the audit log.
type Audit struct {
	// Retention is how long events are kept; older ones are purged in the
	// background.
	Retention Duration `yaml:"retention"`
}

// WorkerCount is how many hashes run at once: Workers, or one per CPU
// when it is 0.
func (p Password) WorkerCount() int {
	if p.Workers > 0 {
		return p.Workers
	}
	return runtime.NumCPU()
}

// Default returns the configuration tokengate runs with when given none.
func Default() Config {
	return Config{
		Listen:        "127.0.0.1:8080",
		DataDir:       "./tokengate-data",
		Log:           Log{Level: "info", Format: "text", Access: "all"},
		Keys:          Keys{Algorithm: "EdDSA", PublishLead: Duration(2 * time.Minute), ReloadInterval: Duration(10 * time.Second), JWKSMaxAge: Duration(time.Minute)},
		DefaultTenant: "default",
		SessionLimit:  SessionLimit{MaxSessions: 0, Policy: "reject"},
		Refresh:       Refresh{GraceWindow: Duration(10 * time.Second), Leeway: Duration(5 * time.Second)},
		Services: map[string]Service{
			"oauth2":   {Refresh: "rotating", AccessTTL: secs(900), IdleTTL: secs(7 * 86400), AbsoluteTTL: secs(30 * 86400)},
			"core":     {Refresh: "stable", AccessTTL: secs(600), IdleTTL: secs(86400), AbsoluteTTL: secs(86400)},
			"ags":      {Refresh: "rotating", AccessTTL: secs(3600), IdleTTL: secs(172800), AbsoluteTTL: secs(2592000)},
			"syncgw":   {Refresh: "stable", AccessTTL: secs(3600), IdleTTL: secs(30 * 86400), AbsoluteTTL: secs(365 * 86400)},
			"apitoken": {Refresh: "stable", AccessTTL: secs(3600), IdleTTL: secs(90 * 86400), AbsoluteTTL: secs(365 * 86400)},
		},
		// Half the CPUs: measured on 2 cores, a sign-on flood with one
		// hash per CPU cut refresh throughput by 60% and raised its p99
		// fourfold; with one per two CPUs refreshes hardly noticed it
		// (docs/PERFORMANCE.md).
		Password: Password{Workers: max(1, runtime.NumCPU()/2), MemoryKiB: 19 * 1024, Iterations: 2, MinLength: 8},
		// An account's delay is at most 30 s, so its owner gets in within
		// a minute of the last guess; one address reaches a quarter of an
		// hour per attempt after 20 failures.
		Throttle: Throttle{
			Account: ThrottleRule{Free: 5, BaseDelay: Duration(time.Second), MaxDelay: Duration(30 * time.Second), ForgetAfter: Duration(time.Hour)},
			Address: ThrottleRule{Free: 10, BaseDelay: Duration(time.Second), MaxDelay: Duration(15 * time.Minute), ForgetAfter: Duration(24 * time.Hour)},
		},
		APITokens: APITokens{MaxPerUser: 10, ReauthWindow: Duration(5 * time.Minute)},
		Audit:     Audit{Retention: Duration(90 * 24 * time.Hour)},
		Core:      Core{Enabled: true, Version: "16.16.0"},
		AGS:       AGS{Enabled: true, PasswordDisplayName: "Username and password"},
		OIDC:      OIDC{Leeway: Duration(time.Minute)},
		SyncGW:    defaultSyncGW(),
		Proxy:     defaultProxy(),
		Web:       defaultWeb(),
		TLS:       defaultTLS(),
		// Below Kubernetes' default termination grace period of 30 s.
		ShutdownTimeout: Duration(25 * time.Second),
	}
}

func secs(n int) Duration { return Duration(time.Duration(n) * time.Second) }

// LoadFile merges a YAML file over c. Unknown keys are an error, so a typo
// is reported rather than silently ignored.
func (c *Config) LoadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	services := c.Services
	c.Services = nil
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	// A file that names one service overrides only what it sets.
	merged := make(map[string]Service, len(services))
	for name, s := range services {
		merged[name] = s
	}
	for name, s := range c.Services {
		merged[name] = mergeService(merged[name], s)
	}
	// A per-tenant variant ("ags@acme") takes what it does not set from
	// its service as configured.
	for name, s := range c.Services {
		if base, _, ok := strings.Cut(name, "@"); ok {
			merged[name] = mergeService(merged[base], s)
		}
	}
	c.Services = merged
	return nil
}

func mergeService(base, over Service) Service {
	if over.Refresh != "" {
		base.Refresh = over.Refresh
	}
	if over.AccessTTL != 0 {
		base.AccessTTL = over.AccessTTL
	}
	if over.IdleTTL != 0 {
		base.IdleTTL = over.IdleTTL
	}
	if over.AbsoluteTTL != 0 {
		base.AbsoluteTTL = over.AbsoluteTTL
	}
	return base
}

// LoadEnv applies TOKENGATE_* variables from getenv over c.
func (c *Config) LoadEnv(getenv func(string) string) error {
	var errs []error
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	dur := func(name string, dst *Duration) {
		if v := getenv(name); v != "" {
			if err := dst.parse(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
	}
	str("TOKENGATE_LISTEN", &c.Listen)
	str("TOKENGATE_PUBLIC_URL", &c.PublicURL)
	str("TOKENGATE_DATA", &c.DataDir)
	str("TOKENGATE_DATABASE_URL", &c.Database.URL)
	str("TOKENGATE_LOG_LEVEL", &c.Log.Level)
	str("TOKENGATE_LOG_FORMAT", &c.Log.Format)
	str("TOKENGATE_LOG_ACCESS", &c.Log.Access)
	str("TOKENGATE_METRICS_LISTEN", &c.Metrics.Listen)
	str("TOKENGATE_KEY_ALGORITHM", &c.Keys.Algorithm)
	str("TOKENGATE_DEFAULT_TENANT", &c.DefaultTenant)
	str("TOKENGATE_TLS_CERT", &c.TLS.Cert)
	str("TOKENGATE_TLS_KEY", &c.TLS.Key)
	dur("TOKENGATE_GRACE_WINDOW", &c.Refresh.GraceWindow)
	dur("TOKENGATE_KEY_PUBLISH_LEAD", &c.Keys.PublishLead)
	return errors.Join(errs...)
}

// Issuer is the public URL that every token's iss and discovery's issuer
// carry: PublicURL, or the scheme served (https with tls.cert) plus the
// listen address.
func (c *Config) Issuer() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	return c.ListenURL()
}

// Validate reports every problem of c at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen %q: want host:port", c.Listen)
	}
	if m := c.Metrics.Listen; m != "" {
		if _, _, err := net.SplitHostPort(m); err != nil {
			bad("metrics.listen %q: want host:port", m)
		} else if m == c.Listen {
			bad("metrics.listen %q is the listen address: give /metrics an address of its own, or leave metrics.listen empty to serve it there", m)
		}
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("public_url %q: want an absolute http(s) URL", c.PublicURL)
		}
	}
	if c.DataDir == "" {
		bad("data_dir is empty")
	}
	if _, _, err := c.Database.Backend(c.DataDir); err != nil {
		errs = append(errs, err)
	}
	if d := c.Database.BusyTimeout.D(); d < 0 || d > time.Minute {
		bad("database.busy_timeout %s: want between 0 (the default, 5s) and 1m", d)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level %q: want debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format %q: want text or json", c.Log.Format)
	}
	switch c.Log.Access {
	case "", "all", "errors", "off":
	default:
		bad("log.access %q: want all, errors or off", c.Log.Access)
	}
	switch c.Keys.Algorithm {
	case "EdDSA", "ES256", "RS256":
	default:
		bad("keys.algorithm %q: want EdDSA, ES256 or RS256", c.Keys.Algorithm)
	}
	if c.Keys.PublishLead < 0 {
		bad("keys.publish_lead must not be negative")
	}
	if c.Keys.ReloadInterval <= 0 {
		bad("keys.reload_interval must be positive")
	}
	if c.Keys.JWKSMaxAge < 0 {
		bad("keys.jwks_max_age must not be negative")
	}
	// A rotated key must be known everywhere before it signs: to every
	// verifier that fetched the JWKS just before the rotation (it keeps
	// that copy for jwks_max_age) and to every node (each rereads the keys
	// every reload_interval, and until then signs with the old key).
	if c.Keys.PublishLead >= 0 && c.Keys.ReloadInterval > 0 && c.Keys.JWKSMaxAge >= 0 &&
		c.Keys.PublishLead <= c.Keys.JWKSMaxAge+c.Keys.ReloadInterval {
		bad("keys.publish_lead %s must exceed keys.jwks_max_age %s plus keys.reload_interval %s, so that verifiers and nodes know a rotated key before it signs",
			c.Keys.PublishLead, c.Keys.JWKSMaxAge, c.Keys.ReloadInterval)
	}
	if c.DefaultTenant == "" {
		bad("default_tenant is empty")
	}
	if c.SessionLimit.MaxSessions < 0 {
		bad("session_limit.max_sessions must not be negative")
	}
	if p := c.SessionLimit.Policy; p != "reject" && p != "end_oldest" {
		bad("session_limit.policy %q: want reject or end_oldest", p)
	}
	if c.Refresh.GraceWindow < 0 {
		bad("refresh.grace_window must not be negative")
	}
	if c.Refresh.Leeway < 0 {
		bad("refresh.leeway must not be negative")
	}
	for name, s := range c.Services {
		if s.Refresh != "rotating" && s.Refresh != "stable" {
			bad("services.%s.refresh %q: want rotating or stable", name, s.Refresh)
		}
		if s.AccessTTL <= 0 || s.IdleTTL <= 0 || s.AbsoluteTTL <= 0 {
			bad("services.%s: access_ttl, idle_ttl and absolute_ttl must be positive", name)
		}
		if base, _, _ := strings.Cut(name, "@"); base == "core" && c.Core.Enabled && s.AccessTTL > 0 && s.AccessTTL.D() < MinCoreAccessTTL {
			bad("services.%s.access_ttl %s: Core clients treat a token with less than 15s left as expired and would refresh before every call; use at least %s", name, s.AccessTTL, MinCoreAccessTTL)
		}
		if s.IdleTTL > s.AbsoluteTTL {
			bad("services.%s: idle_ttl %s exceeds absolute_ttl %s", name, s.IdleTTL, s.AbsoluteTTL)
		}
		if base, tenant, ok := strings.Cut(name, "@"); ok {
			b, known := c.Services[base]
			switch {
			case tenant == "" || base == "":
				bad("services.%s: a per-tenant variant is named SERVICE@TENANT", name)
			case !known:
				bad("services.%s: no service %q to vary", name, base)
			case b.Refresh != s.Refresh:
				// Clients of a dialect rely on its refresh policy (Core
				// and Sync Gateway clients keep their refresh token).
				bad("services.%s: a per-tenant variant sets lifetimes only; its refresh policy is %s's (%s)", name, base, b.Refresh)
			}
		}
	}
	if c.Password.MemoryKiB < 8*1024 || c.Password.Iterations < 1 {
		bad("password: memory_kib must be at least 8192 and iterations at least 1")
	}
	if c.Password.Workers < 0 {
		bad("password.workers must not be negative")
	}
	if c.Password.MinLength < 1 {
		bad("password.min_length must be at least 1")
	}
	for name, r := range map[string]ThrottleRule{"account": c.Throttle.Account, "address": c.Throttle.Address} {
		if r.Free < 0 || r.BaseDelay <= 0 || r.MaxDelay < r.BaseDelay || r.ForgetAfter <= 0 {
			bad("throttle.%s: want free >= 0, 0 < base_delay <= max_delay and forget_after > 0", name)
		}
	}
	if c.Throttle.Account.MaxDelay > Duration(time.Minute) {
		bad("throttle.account.max_delay %s: at most 1m, so that an account's owner is never kept out for long by others' guessing", c.Throttle.Account.MaxDelay)
	}
	if c.APITokens.MaxPerUser < 1 {
		bad("api_tokens.max_per_user must be at least 1")
	}
	if c.APITokens.ReauthWindow <= 0 {
		bad("api_tokens.reauth_window must be positive")
	}
	if c.Audit.Retention < Duration(time.Hour) {
		bad("audit.retention must be at least 1h")
	}
	errs = append(errs, c.validateDialects()...)
	errs = append(errs, c.validateSyncGWProxy()...)
	errs = append(errs, c.validateWeb()...)
	errs = append(errs, c.validateTLS()...)
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout must be positive")
	}
	return errors.Join(errs...)
}

// MinCoreAccessTTL is the shortest access-token lifetime of the core
// service: Core clients (core-client-go, the Python client) refresh a
// token that has less than 15 s left, so a lifetime under twice that
// leaves them refreshing more often than calling.
const MinCoreAccessTTL = 30 * time.Second

// Duration is a time.Duration written in YAML as "15m" or as seconds.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML accepts a Go duration string or a number of seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	return d.parse(n.Value)
}

// MarshalYAML writes d as a Go duration string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

func (d *Duration) parse(s string) error {
	if v, err := time.ParseDuration(s); err == nil {
		*d = Duration(v)
		return nil
	}
	var n int64
	if _, err := fmt.Sscanf(s, "%d", &n); err == nil && fmt.Sprint(n) == s {
		*d = Duration(time.Duration(n) * time.Second)
		return nil
	}
	return fmt.Errorf("%q is not a duration (e.g. 90s, 15m, 24h, or seconds)", s)
}
