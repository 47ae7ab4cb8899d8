package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/tokengate/tokengate/client"
)

// The client-side commands: token, login and api talk to a running
// gateway over HTTP through the public client package, like any user's
// program would.

// clientFlags are the flags shared by token, login and api.
type clientFlags struct {
	server, username, dialect, clientID, tenant, service, bucket, userID string
	passwordStdin                                                        bool
	refreshTokenFile                                                     string
}

func (f *clientFlags) register(fs *flag.FlagSet, withCredentials bool) {
	fs.StringVar(&f.server, "server", "", "gateway `URL`, e.g. http://127.0.0.1:8080 (default: the stored login's)")
	fs.StringVar(&f.userID, "userid", "", "membership `MU…` to act as, for a user in several organisations")
	fs.StringVar(&f.dialect, "dialect", "", "token API: oauth2 (default), core, ags or syncgw")
	fs.StringVar(&f.clientID, "client-id", "", "OAuth 2.0 client `id` (default tokengate)")
	fs.StringVar(&f.tenant, "tenant", "", "tenant `name` (AGS nv-tenant-id)")
	fs.StringVar(&f.service, "auth-service", "", "AGS sign-on service `id` (default: from service discovery)")
	fs.StringVar(&f.bucket, "bucket", "", "Sync Gateway `bucket` (default whitespace)")
	if withCredentials {
		fs.StringVar(&f.username, "username", "", "sign in as `user`; the password is read from standard input (--password-stdin)")
		fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password from standard input")
		fs.StringVar(&f.refreshTokenFile, "refresh-token-file", "", "`file` holding a refresh token; rewritten (0600) when the token rotates")
	}
}

func tokenCommand() *command {
	return clientSideCommand("token",
		"Print a valid access token, for shell pipelines: curl -H \"Authorization: Bearer $(tokengate token)\" …",
		"[--server URL] [--username U --password-stdin | --refresh-token-file F] [--dialect D]", true, nil,
		func(*flag.FlagSet) clientAction {
			return func(ctx context.Context, env *cliEnv, f *clientFlags, args []string) error {
				c, err := f.connect(ctx, env, false)
				if err != nil {
					return err
				}
				tok, err := c.Token(ctx)
				if err != nil {
					return f.explain(err)
				}
				fmt.Fprintln(env.stdout, tok)
				return nil
			}
		})
}

// clientAction runs a client-side command with its parsed flags.
type clientAction func(ctx context.Context, env *cliEnv, f *clientFlags, args []string) error

// clientSideCommand is a command over clientFlags (with the credential flags
// when withCredentials) that takes the positional arguments named; more
// flags, if it has any, are registered by action before it returns the
// action.
func clientSideCommand(name, summary, usage string, withCredentials bool, positional []string, action func(fs *flag.FlagSet) clientAction) *command {
	return &command{
		name:    name,
		summary: summary,
		usage:   usage,
		flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
			var f clientFlags
			f.register(fs, withCredentials)
			run := action(fs)
			return func(ctx context.Context, env *cliEnv, args []string) error {
				if err := checkArgs(args, positional...); err != nil {
					return err
				}
				return run(ctx, env, &f, args)
			}
		},
	}
}

func loginCommand() *command {
	return clientSideCommand("login",
		"Sign in and store the tokens in the user's configuration directory, for token and api.",
		"--server URL --username U --password-stdin [--dialect D] [--userid MU…]", true, nil,
		func(*flag.FlagSet) clientAction {
			return func(ctx context.Context, env *cliEnv, f *clientFlags, args []string) error {
				if f.server == "" {
					return usagef("missing --server URL")
				}
				if f.username == "" && f.refreshTokenFile == "" {
					return usagef("missing --username U --password-stdin (or --refresh-token-file F)")
				}
				if _, err := f.connect(ctx, env, true); err != nil {
					return err
				}
				path, err := credentialsPath(env)
				if err != nil {
					return err
				}
				fmt.Fprintf(env.stderr, "Signed in to %s; tokens stored in %s (mode 0600: only you can read it; it holds no password), for tokengate token and tokengate api\n", f.server, path)
				return nil
			}
		})
}

func apiCommand() *command {
	return clientSideCommand("api",
		"Call the API with the stored login's token (renewed as needed) and print the response body.",
		"METHOD PATH [--body JSON] [--userid MU…]", false, []string{"METHOD", "PATH"},
		func(fs *flag.FlagSet) clientAction {
			body := fs.String("body", "", "request `body` (sent as application/json)")
			return func(ctx context.Context, env *cliEnv, f *clientFlags, args []string) error {
				c, err := f.connect(ctx, env, false)
				if err != nil {
					return err
				}
				var rd io.Reader
				if *body != "" {
					rd = bytes.NewReader([]byte(*body))
				}
				method := strings.ToUpper(args[0])
				req, err := c.NewRequest(ctx, method, args[1], rd)
				if err != nil {
					return err
				}
				if rd != nil {
					req.Header.Set("Content-Type", "application/json")
				}
				req.Header.Set("Accept", "application/json")
				resp, err := c.Do(req)
				if err != nil {
					return f.explain(err)
				}
				defer resp.Body.Close()
				if _, err := io.Copy(env.stdout, resp.Body); err != nil {
					return err
				}
				if resp.StatusCode >= 300 {
					return fmt.Errorf("%s %s: %s", method, args[1], resp.Status)
				}
				return nil
			}
		})
}

// storedLogin is the credentials file: one login, its tokens and how to
// renew them. It holds no password.
type storedLogin struct {
	Server   string         `json:"server"`
	Dialect  client.Dialect `json:"dialect,omitempty"`
	Username string         `json:"username,omitempty"`
	UserID   string         `json:"userid,omitempty"`
	ClientID string         `json:"client_id,omitempty"`
	Tenant   string         `json:"tenant,omitempty"`
	Service  string         `json:"auth_service,omitempty"`
	Bucket   string         `json:"bucket,omitempty"`
	client.Tokens
}

// credentialsPath is $TOKENGATE_CONFIG_DIR/credentials.json, or
// tokengate/credentials.json in the user's configuration directory.
func credentialsPath(env *cliEnv) (string, error) {
	dir := env.getenv("TOKENGATE_CONFIG_DIR")
	if dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("no configuration directory for the stored login: %w (set TOKENGATE_CONFIG_DIR)", err)
		}
		dir = filepath.Join(base, "tokengate")
	}
	return filepath.Join(dir, "credentials.json"), nil
}

// connect builds a signed-in client from the flags: credentials (with
// store, the tokens are kept for later commands), a refresh token file,
// or the stored login.
func (f *clientFlags) connect(ctx context.Context, env *cliEnv, store bool) (*client.Client, error) {
	dialect, err := client.ParseDialect(f.dialect)
	if err != nil {
		return nil, err
	}
	cfg := client.Config{Address: f.server, Dialect: dialect, ClientID: f.clientID, Tenant: f.tenant,
		AuthServiceID: f.service, Bucket: f.bucket, UserID: f.userID}
	switch {
	case f.username != "":
		if !f.passwordStdin {
			return nil, errors.New("--username needs --password-stdin: pass the password on standard input, never as an argument")
		}
		if f.refreshTokenFile != "" {
			return nil, errors.New("use --username or --refresh-token-file, not both")
		}
		pw, err := readPassword(env.stdin)
		if err != nil {
			return nil, err
		}
		cfg.Username, cfg.Password = f.username, pw
	case f.refreshTokenFile != "":
		b, err := os.ReadFile(f.refreshTokenFile)
		if err != nil {
			return nil, fmt.Errorf("refresh token file: %w", err)
		}
		if cfg.RefreshToken = strings.TrimSpace(string(b)); cfg.RefreshToken == "" {
			return nil, fmt.Errorf("refresh token file %s is empty", f.refreshTokenFile)
		}
		file, current := f.refreshTokenFile, cfg.RefreshToken
		cfg.OnTokens = func(t client.Tokens) {
			if t.RefreshToken != "" && t.RefreshToken != current {
				if err := writeFileAtomic(file, []byte(t.RefreshToken+"\n")); err != nil {
					fmt.Fprintf(env.stderr, "tokengate: warning: could not update %s: %v\n", file, err)
					return
				}
				current = t.RefreshToken
			}
		}
	case f.passwordStdin:
		return nil, errors.New("--password-stdin needs --username")
	default:
		if store {
			return nil, usagef("missing --username U --password-stdin (or --refresh-token-file F)")
		}
		return f.resume(ctx, env, cfg)
	}
	if cfg.Address == "" {
		return nil, errors.New("--server is required with --username or --refresh-token-file")
	}
	if store {
		path, err := credentialsPath(env)
		if err != nil {
			return nil, err
		}
		cfg.RequireRefreshToken = true
		login := storedLogin{Server: cfg.Address, Dialect: dialect, Username: cfg.Username, UserID: cfg.UserID,
			ClientID: cfg.ClientID, Tenant: cfg.Tenant, Service: cfg.AuthServiceID, Bucket: cfg.Bucket}
		// Store the tokens once the login is known to be good (New may
		// still refuse it after signing in: no refresh token), then every
		// renewal.
		inner := cfg.OnTokens
		var mu sync.Mutex
		stored := false
		cfg.OnTokens = func(t client.Tokens) {
			if inner != nil {
				inner(t)
			}
			mu.Lock()
			defer mu.Unlock()
			if stored {
				login.Tokens = t
				_ = saveLogin(path, login)
			}
		}
		c, err := client.New(ctx, cfg)
		if err != nil {
			return nil, f.explain(err)
		}
		mu.Lock()
		defer mu.Unlock()
		login.Tokens = c.Tokens()
		if err := saveLogin(path, login); err != nil {
			return nil, fmt.Errorf("storing the login: %w", err)
		}
		stored = true
		return c, nil
	}
	c, err := client.New(ctx, cfg)
	if err != nil {
		return nil, f.explain(err)
	}
	return c, nil
}

// resume continues the stored login, saving renewed tokens back.
func (f *clientFlags) resume(ctx context.Context, env *cliEnv, cfg client.Config) (*client.Client, error) {
	path, err := credentialsPath(env)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errors.New("not logged in: run `tokengate login --server URL --username U --password-stdin` first, or pass --username or --refresh-token-file")
	} else if err != nil {
		return nil, err
	}
	var login storedLogin
	if err := json.Unmarshal(b, &login); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v): run tokengate login again", path, err)
	}
	if cfg.Address != "" && strings.TrimRight(cfg.Address, "/") != strings.TrimRight(login.Server, "/") {
		return nil, fmt.Errorf("the stored login is for %s, not %s: run tokengate login --server %s", login.Server, cfg.Address, cfg.Address)
	}
	if f.dialect == "" {
		cfg.Dialect = login.Dialect
	}
	if cfg.UserID == "" {
		cfg.UserID = login.UserID
	}
	cfg.Address = login.Server
	cfg.ClientID = firstNonEmpty(cfg.ClientID, login.ClientID)
	cfg.Tenant = firstNonEmpty(cfg.Tenant, login.Tenant)
	cfg.AuthServiceID = firstNonEmpty(cfg.AuthServiceID, login.Service)
	cfg.Bucket = firstNonEmpty(cfg.Bucket, login.Bucket)
	cfg.AccessToken, cfg.RefreshToken = login.AccessToken, login.RefreshToken
	f.server = login.Server
	var saveErr error
	cfg.OnTokens = func(t client.Tokens) {
		login.Tokens = t
		saveErr = saveLogin(path, login)
	}
	c, err := client.New(ctx, cfg)
	if err != nil {
		return nil, f.explain(err)
	}
	if saveErr != nil {
		fmt.Fprintf(env.stderr, "tokengate: warning: could not store renewed tokens in %s: %v\n", path, saveErr)
	}
	return c, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// explain turns a client error into one line that says what to do.
func (f *clientFlags) explain(err error) error {
	var se *client.ServerError
	switch {
	case errors.Is(err, client.ErrInvalidCredentials):
		return errors.New("sign-in refused: wrong username or password")
	case errors.Is(err, client.ErrRefreshNotEnabled):
		return errors.New("refresh is not enabled for this login: ask an administrator to enable it (tokengate user set NAME --refresh-enabled=true), or request it on your User Profile page")
	case errors.Is(err, client.ErrUserIDRequired) && f.userID != "":
		return fmt.Errorf("UserID %q is not one of this user's memberships: pass one of the MU ids `tokengate api GET /api/shared/corporate` lists for you", f.userID)
	case errors.Is(err, client.ErrUserIDRequired):
		return errors.New("this user belongs to several organisations: pass --userid MU… (the MU ids are listed by `tokengate api GET /api/shared/corporate`)")
	case errors.Is(err, client.ErrReauthenticate):
		if f.refreshTokenFile != "" {
			return fmt.Errorf("the refresh token in %s has expired or was revoked: get a new one from your User Profile page", f.refreshTokenFile)
		}
		return errors.New("the stored login has expired or was revoked: run `tokengate login` again")
	case errors.As(err, &se) && se.Unreachable(), isTransportError(err):
		return fmt.Errorf("cannot reach the server at %s%s: is it running, and is --server right?", f.server, transportCause(err))
	case errors.As(err, &se) && se.Status == http.StatusNotFound:
		return fmt.Errorf("the server at %s does not serve the %s dialect here (404): check --server and --dialect", f.server, firstNonEmpty(f.dialect, "oauth2"))
	}
	return err
}

// isTransportError reports whether err is a failure to reach the server
// at all (net/http wraps it in a *url.Error), not an answer.
func isTransportError(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) || errors.As(err, &dns)
}

// transportCause names in a few words why the server was not reached, for
// the cases a user can act on; Go's own dial error text says nothing more
// useful to them.
func transportCause(err error) string {
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return " (connection refused)"
	case errors.As(err, &dns):
		return " (unknown host " + dns.Name + ")"
	case errors.As(err, &ne) && ne.Timeout():
		return " (timed out)"
	}
	return ""
}

func readPassword(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input")
	}
	return pw, nil
}

func saveLogin(path string, login storedLogin) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(login, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// writeFileAtomic replaces path with data, mode 0600: a reader sees the
// old file or the new one, never a part.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
