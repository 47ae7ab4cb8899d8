package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

func clientCommand() *command {
	return &command{name: "client", summary: "Manage OAuth 2.0 clients.", sub: []*command{
		{name: "add", summary: "Register a client. A confidential client's secret is printed once. A client with --redirect-uri uses the authorization code flow (tokengate as its OpenID Connect provider).",
			usage: "ID [--public] [--grant TYPE,...] [--name N] [--redirect-uri URI]... [--post-logout-redirect-uri URI]... [--scope S,...] [--first-party]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				public := fs.Bool("public", false, "a public client (no secret): password and refresh_token grants, or with --redirect-uri the code flow with PKCE")
				grants := fs.String("grant", "", "comma-separated grant `types` (default: authorization_code,refresh_token with --redirect-uri, else client_credentials, or password,refresh_token for --public)")
				name := fs.String("name", "", "display `name`")
				tenant := fs.String("tenant", "", "tenant `name` (default: the default tenant)")
				var reg registrationFlags
				reg.add(fs)
				firstParty := fs.Bool("first-party", false, "the gateway operator's own application: its users are not asked for consent")
				return appAction(1, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					c, secret, err := a.Engine.CreateClient(ctx, engine.NewClient{Tenant: *tenant, ID: args[0], Name: *name, Public: *public,
						GrantTypes: splitList(*grants), RedirectURIs: reg.redirects, PostLogoutRedirectURIs: reg.postLogout,
						Scopes: reg.scopeList(), FirstParty: *firstParty})
					if err != nil {
						return err
					}
					printClient(env, c)
					if secret != "" {
						fmt.Fprintf(env.stdout, "client_secret: %s\n(shown once: store it now)\n", secret)
					}
					return nil
				})
			}},
		{name: "show", summary: "Show a client's registration.", usage: "ID",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				return appAction(1, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					c, err := a.Engine.TenantClient(ctx, "", args[0])
					if err != nil {
						return err
					}
					printClient(env, c)
					return nil
				})
			}},
		{name: "set", summary: "Change a client's redirect URIs, post-logout redirect URIs, scopes or first-party flag; each list given replaces the registered one (--redirect-uri '' clears it). A running server sees it within 2s.",
			usage: "ID [--redirect-uri URI]... [--post-logout-redirect-uri URI]... [--scope S,...] [--first-party=BOOL]",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				var reg registrationFlags
				reg.add(fs)
				var firstParty optBool
				fs.Var(&firstParty, "first-party", "the gateway operator's own application (no consent asked)")
				return appAction(1, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					up := engine.ClientUpdate{RedirectURIs: reg.redirects, PostLogoutRedirectURIs: reg.postLogout,
						Scopes: reg.scopeList(), FirstParty: firstParty.ptr()}
					c, _, err := a.Engine.UpdateClient(ctx, args[0], up)
					if err != nil {
						return err
					}
					printClient(env, c)
					return nil
				})
			}},
		{name: "disable", summary: "Disable a client: refused at the token and introspection endpoints, its tokens inactive and its sessions not refreshed until enabled again. A running server sees it within 2s.", usage: "ID",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				return appAction(1, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					c, err := a.Engine.DisableClient(ctx, "", args[0])
					if err != nil {
						return err
					}
					fmt.Fprintf(env.stdout, "client %s disabled\n", c.ID)
					return nil
				})
			}},
		{name: "enable", summary: "Enable a disabled client again.", usage: "ID",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				return appAction(1, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					c, err := a.Engine.EnableClient(ctx, "", args[0])
					if err != nil {
						return err
					}
					fmt.Fprintf(env.stdout, "client %s enabled\n", c.ID)
					return nil
				})
			}},
		{name: "remove", summary: "Remove a client; its live sessions end with it (disable it instead to keep them).", usage: "ID",
			flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
				return appAction(1, func(ctx context.Context, env *cliEnv, a *app.App, args []string) error {
					n, err := a.Engine.RemoveClient(ctx, "", args[0])
					if err != nil {
						return err
					}
					fmt.Fprintf(env.stdout, "client %s removed; %d live session(s) ended\n", args[0], n)
					return nil
				})
			}},
		{name: "secret", summary: "Manage a confidential client's secret.", sub: []*command{
			{name: "rotate", summary: "Give a client a new secret, printed once. The previous secret keeps working for --overlap (default: it stops at once), so every deployment can switch over; a running server sees the change within 2s.", usage: "ID [--overlap D]",
				flags: func(fs *flag.FlagSet) func(context.Context, *cliEnv, []string) error {
					overlap := fs.Duration("overlap", 0, "how long the previous secret keeps working (`duration`, e.g. 1h; at most 720h)")
					return func(ctx context.Context, env *cliEnv, args []string) error {
						if err := checkArgs(args, "ID"); err != nil {
							return err
						}
						if *overlap < 0 || *overlap > engine.MaxSecretOverlap {
							return usagef("--overlap %s: want 0 (none) up to %s", *overlap, engine.MaxSecretOverlap)
						}
						return withApp(ctx, env, func(a *app.App) error {
							cs, err := a.Engine.RotateClientSecret(ctx, "", args[0], *overlap)
							if err != nil {
								return err
							}
							fmt.Fprintf(env.stdout, "client_id:     %s\nclient_secret: %s\n(shown once: store it now)\n", cs.Client.ID, cs.Secret)
							if cs.PreviousExpiresAt.IsZero() {
								fmt.Fprintln(env.stdout, "the previous secret no longer works")
							} else {
								fmt.Fprintf(env.stdout, "the previous secret works until %s\n", ts(cs.PreviousExpiresAt))
							}
							return nil
						})
					}
				}},
		}},
		listCommand("List clients.", "", true, noFilters(func(ctx context.Context, a *app.App, t store.Tenant) (listing, error) {
			cs, err := a.Engine.Clients(ctx, t.Name)
			if err != nil {
				return listing{}, err
			}
			type row struct {
				ID              string    `json:"client_id"`
				Name            string    `json:"name,omitempty"`
				Public          bool      `json:"public"`
				GrantTypes      []string  `json:"grant_types"`
				Disabled        bool      `json:"disabled"`
				PreviousExpires time.Time `json:"previous_secret_expires_at,omitzero"`
				RedirectURIs    []string  `json:"redirect_uris,omitempty"`
				FirstParty      bool      `json:"first_party,omitempty"`
			}
			return listOf(cs, "CLIENT_ID\tPUBLIC\tGRANTS\tDISABLED\tPREVIOUS SECRET UNTIL\tREDIRECT URIS", func(c store.Client) (row, []string) {
				r := row{c.ID, c.Name, len(c.SecretHash) == 0, c.GrantTypes, c.Disabled, c.PreviousSecretExpiresAt, c.RedirectURIs, c.FirstParty}
				return r, []string{r.ID, fmt.Sprint(r.Public), strings.Join(r.GrantTypes, ","), fmt.Sprint(r.Disabled), ts(r.PreviousExpires),
					orNone(r.RedirectURIs)}
			}), nil
		})),
	}}
}

// registrationFlags are the flags of a client's browser-flow registration.
// A repeated list flag given as ” alone means an empty list.
type registrationFlags struct {
	redirects, postLogout []string
	scopes                *string
	scopeSet              bool
}

func (r *registrationFlags) add(fs *flag.FlagSet) {
	fs.Func("redirect-uri", "a registered redirect `URI`, matched exactly (repeat for more)", func(s string) error {
		r.redirects = appendList(r.redirects, s)
		return nil
	})
	fs.Func("post-logout-redirect-uri", "where RP-initiated logout may return to (`URI`, repeat for more)", func(s string) error {
		r.postLogout = appendList(r.postLogout, s)
		return nil
	})
	fs.Func("scope", "comma-separated `scopes` the client may ask for (default: openid,profile,email,offline_access)", func(s string) error {
		r.scopes, r.scopeSet = &s, true
		return nil
	})
}

func (r *registrationFlags) scopeList() []string {
	if !r.scopeSet {
		return nil
	}
	l := splitList(*r.scopes)
	if l == nil {
		l = []string{}
	}
	return l
}

// appendList adds a flag's value; ” makes the list present but empty.
func appendList(l []string, s string) []string {
	if l == nil {
		l = []string{}
	}
	if s = strings.TrimSpace(s); s != "" {
		l = append(l, s)
	}
	return l
}

func splitList(s string) []string {
	var out []string
	for _, g := range strings.Split(s, ",") {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	return out
}

func printClient(env *cliEnv, c store.Client) {
	kind := "confidential"
	if len(c.SecretHash) == 0 {
		kind = "public"
	}
	if c.FirstParty {
		kind += ", first-party"
	}
	fmt.Fprintf(env.stdout, "client_id:     %s\nkind:          %s\ngrant types:   %s\n", c.ID, kind, strings.Join(c.GrantTypes, ", "))
	if len(c.RedirectURIs) > 0 || len(c.PostLogoutRedirectURIs) > 0 || c.Scopes != nil {
		fmt.Fprintf(env.stdout, "redirect URIs: %s\n", orNone(c.RedirectURIs))
		fmt.Fprintf(env.stdout, "post-logout:   %s\n", orNone(c.PostLogoutRedirectURIs))
		fmt.Fprintf(env.stdout, "scopes:        %s\n", strings.Join(engine.ClientScopes(c), " "))
	}
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "(none)"
	}
	return strings.Join(l, " ")
}
