// Package demo loads the demo world that makes the Whitespace seed's curl
// lines run verbatim against a local tokengate: two organisations, a SUMO
// user in both, a single-organisation user, the bucket "whitespace", and a
// proxy route /api/ to a built-in risks service.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
)

// The demo world's names and MU ids. The SUMO user's ids are the seed's.
const (
	Bucket          = "whitespace"
	APIPrefix       = "/api/"
	OrgBroker       = "gailbkr"
	OrgUnderwriter  = "mcneillieuwr"
	UserSUMO        = "sumo"
	UserBroker      = "broker"
	MUSumoBroker    = "MU00000000-0000-0000-0000-000000000000"
	MUSumoUnderwr   = "MU11111111-1111-1111-1111-111111111111"
	MUBroker        = "MU22222222-2222-2222-2222-222222222222"
	PasswordEnv     = "TOKENGATE_DEMO_PASSWORD"
	PasswordFile    = "demo-password"
	passwordEntropy = 18
)

// Result says what Load did.
type Result struct {
	// Password is the demo users' password when Load created them with
	// one the gateway generated (shown once); empty when they existed
	// already or the password came from TOKENGATE_DEMO_PASSWORD, which
	// the operator knows and no output repeats.
	Password string
	// FromEnv is set when Load created the users with the password of
	// TOKENGATE_DEMO_PASSWORD.
	FromEnv bool
	// PasswordFile is where a generated password is kept (mode 0600).
	PasswordFile string
	Created      bool
	// RisksURL is the risks service's base URL (when Load started it).
	RisksURL string
}

// Options adjusts Load.
type Options struct {
	Getenv func(string) string
	// RisksURL, when set, is an already running risks service; otherwise
	// Load starts one on a loopback port until ctx ends.
	RisksURL string
	Log      *slog.Logger
}

// Load prepares the demo world in a's store (idempotently: what exists is
// left alone) and adds the bucket and the /api/ route to a.Config. Call it
// after Bootstrap and before a.Handler().
func Load(ctx context.Context, a *app.App, opts Options) (Result, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	eng := a.Engine
	res := Result{PasswordFile: filepath.Join(a.Config.DataDir, PasswordFile)}
	for _, o := range [][2]string{{OrgBroker, "GAIL Brokers"}, {OrgUnderwriter, "McNeil Lieu Underwriting"}} {
		if _, err := eng.Organisation(ctx, "", o[0]); errors.Is(err, engine.ErrUnknownOrganisation) {
			if _, err := eng.CreateOrganisation(ctx, "", o[0], o[1]); err != nil {
				return res, err
			}
		} else if err != nil {
			return res, err
		}
	}
	var password string
	var fromEnv bool
	for _, u := range []struct{ name, display string }{{UserSUMO, "Sumo User (broker and underwriter)"}, {UserBroker, "Broker User"}} {
		if _, err := eng.User(ctx, "", u.name); err == nil {
			continue
		} else if !errors.Is(err, engine.ErrUnknownUser) {
			return res, err
		}
		if password == "" {
			var err error
			if password, fromEnv, err = demoPassword(opts.Getenv, res.PasswordFile); err != nil {
				return res, err
			}
		}
		if _, err := eng.CreateUser(ctx, engine.NewUser{Name: u.name, DisplayName: u.display, Email: u.name + "@demo.invalid",
			Password: password, RefreshEnabled: true}); err != nil {
			return res, err
		}
		res.Created = true
	}
	if res.Created && fromEnv {
		res.FromEnv = true
	} else if res.Created {
		res.Password = password
	}
	for _, m := range []engine.NewMembership{
		{User: UserSUMO, Organisation: OrgBroker, ID: MUSumoBroker, Channels: []string{ChannelBroker}},
		{User: UserSUMO, Organisation: OrgUnderwriter, ID: MUSumoUnderwr, Channels: []string{ChannelUnderwriter}},
		{User: UserBroker, Organisation: OrgBroker, ID: MUBroker, Channels: []string{ChannelBroker}},
	} {
		if _, err := eng.Membership(ctx, m.ID); err == nil {
			continue // present or removed on purpose: never recreated
		} else if !errors.Is(err, engine.ErrUnknownMembership) {
			return res, err
		}
		if _, err := eng.AddMembership(ctx, m); err != nil {
			if errors.Is(err, engine.ErrAlreadyExists) {
				opts.Log.Warn("demo membership not added", "membership", m.ID, "err", err)
				continue
			}
			return res, err
		}
	}
	res.RisksURL = opts.RisksURL
	if res.RisksURL == "" {
		u, err := StartRisks(ctx, "127.0.0.1:0", opts.Log)
		if err != nil {
			return res, err
		}
		res.RisksURL = u
	}
	configure(&a.Config, res.RisksURL)
	return res, nil
}

// configure adds the bucket and points the /api/ route at the risks
// service (replacing a configured /api/ route).
func configure(c *config.Config, risksURL string) {
	c.SyncGW.Enabled = true
	if !slices.Contains(c.SyncGW.Buckets, Bucket) {
		c.SyncGW.Buckets = append(c.SyncGW.Buckets, Bucket)
	}
	r := config.ProxyRoute{Prefix: APIPrefix, Upstream: strings.TrimRight(risksURL, "/") + "/", Builtins: true}
	c.Proxy.Routes = slices.DeleteFunc(c.Proxy.Routes, func(x config.ProxyRoute) bool { return x.Prefix == APIPrefix })
	c.Proxy.Routes = append(c.Proxy.Routes, r)
}

// demoPassword is TOKENGATE_DEMO_PASSWORD (fromEnv set; never written
// anywhere), else the one the gateway generated before and kept in the
// data directory, else a new one written there with mode 0600.
func demoPassword(getenv func(string) string, file string) (pw string, fromEnv bool, err error) {
	if pw := getenv(PasswordEnv); pw != "" {
		return pw, true, nil
	}
	if b, err := os.ReadFile(file); err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b)), false, nil
	}
	var b [passwordEntropy]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		return "", false, err
	}
	pw = base64.RawURLEncoding.EncodeToString(b[:])
	if err := os.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("demo password file: %w", err)
	}
	return pw, false, nil
}

// StartRisks serves the risks service on addr until ctx ends and returns
// its base URL.
func StartRisks(ctx context.Context, addr string, log *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("demo risks service: %w", err)
	}
	srv := &http.Server{Handler: RisksHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && log != nil {
			log.Error("demo risks service stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	return "http://" + ln.Addr().String(), nil
}

// PrintWalkthrough writes the seed's walkthrough for this server to w.
func PrintWalkthrough(w io.Writer, issuer string, res Result) {
	fmt.Fprintf(w, "\nDemo world loaded: users %q (SUMO: %s in %s, %s in %s) and %q; bucket %q; %s -> demo risks service at %s\n",
		UserSUMO, MUSumoBroker, OrgBroker, MUSumoUnderwr, OrgUnderwriter, UserBroker, Bucket, APIPrefix, res.RisksURL)
	// A password is shown only when the gateway generated it: one the
	// operator chose stays out of every log and terminal, as the admin
	// password does (serve's welcome text).
	switch {
	case res.Password != "":
		fmt.Fprintf(w, "Demo users' password (shown once; also in %s, mode 0600): %s\n", res.PasswordFile, res.Password)
	case res.FromEnv:
		fmt.Fprintf(w, "Demo users' password: the one in $%s.\n", PasswordEnv)
	default:
		fmt.Fprintf(w, "Demo users' password: $%s, or `cat %s`\n", PasswordEnv, res.PasswordFile)
	}
	fmt.Fprintf(w, `Walk through the seed (in this directory, with the command built: go build -o tokengate ./cmd/tokengate):
  export SYNC=%[1]s BUCKET=%[2]s API=%[1]s/api
  export RENEWABLE=$(./tokengate apitoken create %[3]s --label demo)
  export TOKEN=`+"`"+`curl -s $SYNC/$BUCKET/_oidc_refresh?refresh_token=$RENEWABLE | jq -r .id_token`+"`"+`
  curl -H "Authorization: Bearer $TOKEN" $API/risks
  curl -H "Authorization: Bearer $TOKEN" -H "UserID:%[4]s" -s $API/risks | jq '. | length'   # %[5]d
  curl -H "Authorization: Bearer $TOKEN" -H "UserID:%[6]s" -s $API/risks | jq '. | length'   # %[7]d
See docs/seed-walkthrough.md for the HTTP way to get RENEWABLE (the User Profile's API token).
`, issuer, Bucket, UserSUMO, MUSumoBroker, BrokerRisks, MUSumoUnderwr, UnderwriterRisks)
}
