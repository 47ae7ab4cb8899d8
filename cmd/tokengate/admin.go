package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/store"
)

// readSecret reads one line (a password) from stdin, without the newline.
func readSecret(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}

// optBool is a flag that records whether it was set.
type optBool struct {
	set bool
	val bool
}

func (b *optBool) String() string   { return strconv.FormatBool(b.val) }
func (b *optBool) IsBoolFlag() bool { return true }
func (b *optBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	b.set, b.val = true, v
	return nil
}
func (b *optBool) ptr() *bool {
	if !b.set {
		return nil
	}
	return &b.val
}

func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func userCommand() *command {
	return &command{name: "user", summary: "Manage users.", sub: []*command{
		{name: "add", summary: "Add a user; the password is read from standard input.", usage: "NAME --password-stdin [--refresh-enabled] [--tenant T]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				pwStdin := fs.Bool("password-stdin", false, "read the password from standard input (required)")
				refresh := fs.Bool("refresh-enabled", false, "let the user's sign-ons receive refresh tokens")
				admin := fs.Bool("admin", false, "make the user an administrator")
				email := fs.String("email", "", "e-mail `address`")
				tenant := fs.String("tenant", "", "tenant `name` (default: the default tenant)")
				return func(ctx context.Context, env *cliEnv, args []string) error {
					if err := checkArgs(args, "NAME"); err != nil {
						return err
					}
					if !*pwStdin {
						return usagef("--password-stdin is required: the password is read from standard input, never from an argument (echo \"$PW\" | tokengate user add %s --password-stdin)", args[0])
					}
					pw, err := readSecret(env.stdin)
					if err != nil {
						return err
					}
					return withApp(ctx, env, func(a *app.App) error {
						u, err := a.Engine.CreateUser(ctx, engine.NewUser{Tenant: *tenant, Name: args[0], Password: pw, RefreshEnabled: *refresh, Admin: *admin, Email: *email})
						if err != nil {
							return err
						}
						fmt.Fprintf(env.stdout, "user %s added (refresh enabled: %t)\n", u.Name, u.RefreshEnabled)
						return nil
					})
				}
			}},
		listCommand("List users.", "", true, noFilters(func(ctx context.Context, a *app.App, t store.Tenant) (listing, error) {
			users, err := a.Engine.Users(ctx, t.Name)
			if err != nil {
				return listing{}, err
			}
			type row struct {
				Name             string `json:"name"`
				ID               string `json:"id"` // the sub of the user's standard tokens
				Email            string `json:"email,omitempty"`
				RefreshEnabled   bool   `json:"refresh_enabled"`
				RefreshRequested bool   `json:"refresh_requested"`
				Admin            bool   `json:"admin"`
				Disabled         bool   `json:"disabled"`
			}
			return listOf(users, "NAME\tID\tREFRESH\tREQUESTED\tADMIN\tDISABLED", func(u store.User) (row, []string) {
				r := row{u.Name, u.ID, u.Email, u.RefreshEnabled, !u.RefreshRequestedAt.IsZero(), u.Admin, u.Disabled}
				return r, []string{r.Name, r.ID, strconv.FormatBool(r.RefreshEnabled), strconv.FormatBool(r.RefreshRequested), strconv.FormatBool(r.Admin), strconv.FormatBool(r.Disabled)}
			}), nil
		})),
		{name: "rename", summary: "Rename a user. The user keeps its id (the sub of its tokens), its sessions, memberships and API tokens; tokens issued before carry the old name until they expire.", usage: "OLD NEW [--tenant T]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				tenant := fs.String("tenant", "", "tenant `name` (default: the default tenant)")
				return func(ctx context.Context, env *cliEnv, args []string) error {
					if err := checkArgs(args, "OLD", "NEW"); err != nil {
						return err
					}
					return withApp(ctx, env, func(a *app.App) error {
						u, err := a.Engine.RenameUser(ctx, *tenant, args[0], args[1])
						if err != nil {
							return err
						}
						fmt.Fprintf(env.stdout, "user %s renamed to %s (id %s)\n", args[0], u.Name, u.ID)
						return nil
					})
				}
			}},
		{name: "remove", summary: "Remove a user with its sessions, memberships and API tokens (disable it instead to keep the account).", usage: "NAME [--tenant T]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				tenant := fs.String("tenant", "", "tenant `name` (default: the default tenant)")
				return func(ctx context.Context, env *cliEnv, args []string) error {
					if err := checkArgs(args, "NAME"); err != nil {
						return err
					}
					return withApp(ctx, env, func(a *app.App) error {
						u, err := a.Engine.RemoveUser(ctx, *tenant, args[0])
						if err != nil {
							return err
						}
						fmt.Fprintf(env.stdout, "user %s removed (id %s)\n", u.Name, u.ID)
						return nil
					})
				}
			}},
		{name: "link", summary: "Link an identity of an external issuer to a user, so that it signs on as the user.", usage: "NAME --issuer ID --subject SUB [--tenant T]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				issuer := fs.String("issuer", "", "the issuer's `id` in oidc.issuers (or its URL)")
				subject := fs.String("subject", "", "the identity's `sub` at the issuer")
				tenant := fs.String("tenant", "", "tenant `name` (default: the default tenant)")
				return func(ctx context.Context, env *cliEnv, args []string) error {
					if len(args) != 1 || *issuer == "" || *subject == "" {
						return errUsage
					}
					return withApp(ctx, env, func(a *app.App) error {
						reg := idp.New(a.Config.OIDC, a.Config.DefaultTenant, a.Engine, nil, nil)
						iss, ok := reg.IssuerURL(*tenant, *issuer)
						if !ok {
							return fmt.Errorf("no issuer %q in the tenant's oidc.issuers (by id or URL)", *issuer)
						}
						x, err := a.Engine.LinkExternalIdentity(ctx, *tenant, args[0], iss, *subject)
						if err != nil {
							return err
						}
						fmt.Fprintf(env.stdout, "identity %s of %s linked to user %s\n", x.Subject, x.Issuer, args[0])
						return nil
					})
				}
			}},
		{name: "set", summary: "Change a user. Disabling, changing the password or withdrawing refresh ends the user's sessions.", usage: "NAME [--refresh-enabled=true|false] [--disabled=true|false] [--admin=true|false] [--password-stdin]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				var refresh, disabled, admin optBool
				fs.Var(&refresh, "refresh-enabled", "grant (true) or withdraw (false) refresh tokens")
				fs.Var(&disabled, "disabled", "disable (true) or enable (false) the account")
				fs.Var(&admin, "admin", "make (true) or unmake (false) an administrator")
				pwStdin := fs.Bool("password-stdin", false, "set a new password read from standard input")
				tenant := fs.String("tenant", "", "tenant `name` (default: the default tenant)")
				return func(ctx context.Context, env *cliEnv, args []string) error {
					if err := checkArgs(args, "NAME"); err != nil {
						return err
					}
					if !refresh.set && !disabled.set && !admin.set && !*pwStdin {
						return usagef("nothing to change: give --refresh-enabled, --disabled, --admin or --password-stdin")
					}
					up := engine.UserUpdate{RefreshEnabled: refresh.ptr(), Disabled: disabled.ptr(), Admin: admin.ptr()}
					if *pwStdin {
						pw, err := readSecret(env.stdin)
						if err != nil {
							return err
						}
						up.Password = &pw
					}
					return withApp(ctx, env, func(a *app.App) error {
						u, err := a.Engine.User(ctx, *tenant, args[0])
						if err != nil {
							return err
						}
						if u, err = a.Engine.UpdateUser(ctx, u.ID, up); err != nil {
							return err
						}
						fmt.Fprintf(env.stdout, "user %s: refresh enabled %t, disabled %t, admin %t\n", u.Name, u.RefreshEnabled, u.Disabled, u.Admin)
						return nil
					})
				}
			}},
	}}
}

func sessionCommand() *command {
	return &command{name: "session", summary: "List and revoke sessions (refresh-token families).", sub: []*command{
		listCommand("List live sessions.", "[--user NAME] [--all]", true, func(fs *flag.FlagSet) lister {
			user := fs.String("user", "", "only this user's sessions")
			all := fs.Bool("all", false, "include revoked and expired sessions")
			return func(ctx context.Context, a *app.App, t store.Tenant) (listing, error) {
				sessions, err := a.Engine.Sessions(ctx, engine.SessionQuery{Tenant: t.Name, User: *user, IncludeDead: *all})
				if err != nil {
					return listing{}, err
				}
				names := map[string]string{}
				type row struct {
					ID         string    `json:"id"`
					User       string    `json:"user"`
					Service    string    `json:"service"`
					Policy     string    `json:"policy"`
					Label      string    `json:"label,omitempty"`
					Generation int64     `json:"generation"`
					Created    time.Time `json:"created_at"`
					LastUsed   time.Time `json:"last_used_at"`
					IdleExp    time.Time `json:"idle_expires_at"`
					AbsExp     time.Time `json:"absolute_expires_at"`
					Revoked    time.Time `json:"revoked_at,omitzero"`
					Reason     string    `json:"revoke_reason,omitempty"`
				}
				for _, s := range sessions {
					if _, ok := names[s.UserID]; !ok {
						u, err := a.Engine.UserByID(ctx, s.UserID)
						if err != nil {
							return listing{}, err
						}
						names[s.UserID] = u.Name
					}
				}
				return listOf(sessions, "ID\tUSER\tSERVICE\tPOLICY\tCREATED\tLAST USED\tEXPIRES\tSTATE", func(s store.Session) (row, []string) {
					state := "live"
					if !s.RevokedAt.IsZero() {
						state = "revoked (" + s.RevokeReason + ")"
					} else if !s.Live(a.Engine.Now()) {
						state = "expired"
					}
					return row{s.ID, names[s.UserID], s.Service, string(s.Policy), s.Label, s.Generation, s.CreatedAt, s.LastUsedAt, s.IdleExpiresAt, s.AbsoluteExpiresAt, s.RevokedAt, s.RevokeReason},
						[]string{s.ID, names[s.UserID], s.Service, string(s.Policy), ts(s.CreatedAt), ts(s.LastUsedAt), ts(s.AbsoluteExpiresAt), state}
				}), nil
			}
		}),
		{name: "revoke", summary: "Revoke a session by id, or every session of a user.", usage: "ID | --user NAME",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				user := fs.String("user", "", "revoke every live session of this user")
				tenant := fs.String("tenant", "", "tenant `name` (default: the default tenant)")
				return func(ctx context.Context, env *cliEnv, args []string) error {
					switch {
					case len(args) > 1:
						return usagef("unexpected argument %q", args[1])
					case len(args) == 1 && *user != "":
						return usagef("give a session ID or --user NAME, not both")
					case len(args) == 0 && *user == "":
						return usagef("missing session ID (or --user NAME)")
					}
					return withApp(ctx, env, func(a *app.App) error {
						if *user != "" {
							u, err := a.Engine.User(ctx, *tenant, *user)
							if err != nil {
								return err
							}
							n, err := a.Engine.RevokeUserSessions(ctx, u.ID, "revoked_by_admin")
							if err != nil {
								return err
							}
							fmt.Fprintf(env.stdout, "revoked %d session(s) of %s\n", n, u.Name)
							return nil
						}
						if err := a.Engine.RevokeSession(ctx, args[0], "revoked_by_admin"); err != nil {
							if errors.Is(err, engine.ErrUnknownSession) {
								return fmt.Errorf("no session %q", args[0])
							}
							return err
						}
						fmt.Fprintf(env.stdout, "revoked session %s\n", args[0])
						return nil
					})
				}
			}},
	}}
}
