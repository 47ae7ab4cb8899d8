package idp_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/fakeclock"
	"github.com/tokengate/tokengate/internal/idp"
	"github.com/tokengate/tokengate/internal/idp/idptest"
)

type fixture struct {
	app   *app.App
	iss   *idptest.Issuer
	reg   *idp.Registry
	clock *fakeclock.Clock
}

const audience = "https://api.example.test"

func newFixture(t *testing.T, mutate func(*config.OIDCIssuer)) *fixture {
	t.Helper()
	iss := idptest.New(t)
	clk := fakeclock.New(time.Now().Truncate(time.Second))
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Password.MemoryKiB, cfg.Password.Iterations = 8192, 1
	oc := config.OIDCIssuer{ID: "auth0", Issuer: iss.URL, Audience: audience, ClientID: "client-1",
		AllowedSubjects: []string{"auth0|alice"}, AllowedEmails: []string{"Bob@Example.test"}, CreateUsers: true, RefreshEnabled: true}
	if mutate != nil {
		mutate(&oc)
	}
	cfg.OIDC.Issuers = []config.OIDCIssuer{oc}
	a, err := app.Open(context.Background(), cfg, nil, app.Options{Now: clk.Now, MasterKey: ""})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := a.Engine.Bootstrap(context.Background(), "admin-pass"); err != nil {
		t.Fatal(err)
	}
	return &fixture{app: a, iss: iss, clock: clk, reg: idp.New(cfg.OIDC, cfg.DefaultTenant, a.Engine, nil, nil)}
}

func (f *fixture) claims(mod map[string]any) map[string]any {
	now := f.clock.Now().Unix()
	c := map[string]any{"iss": f.iss.URL, "sub": "auth0|alice", "aud": []string{audience}, "iat": now, "exp": now + 300,
		"email": "alice@example.test", "nickname": "alice"}
	for k, v := range mod {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func TestVerify(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	now := f.clock.Now().Unix()
	other := idptest.New(t) // a second issuer nobody trusts
	tests := []struct {
		name    string
		token   func() string
		service string
		want    error
	}{
		{"valid", func() string { return f.iss.Mint(t, f.claims(nil)) }, "", nil},
		{"valid by service id", func() string { return f.iss.Mint(t, f.claims(nil)) }, "auth0", nil},
		{"audience is the client id", func() string { return f.iss.Mint(t, f.claims(map[string]any{"aud": "client-1"})) }, "", nil},
		{"wrong audience", func() string { return f.iss.Mint(t, f.claims(map[string]any{"aud": "https://other.test"})) }, "", engine.ErrInvalidToken},
		{"no audience", func() string { return f.iss.Mint(t, f.claims(map[string]any{"aud": nil})) }, "", engine.ErrInvalidToken},
		{"wrong issuer", func() string { return other.Mint(t, f.claims(map[string]any{"iss": other.URL})) }, "", engine.ErrInvalidToken},
		{"wrong issuer claim for the service", func() string { return f.iss.Mint(t, f.claims(map[string]any{"iss": other.URL})) }, "auth0", engine.ErrInvalidToken},
		{"other issuer's key, trusted iss", func() string { return other.Mint(t, f.claims(nil)) }, "", engine.ErrInvalidToken},
		{"expired", func() string { return f.iss.Mint(t, f.claims(map[string]any{"exp": now - 120})) }, "", engine.ErrTokenExpired},
		{"expired within leeway", func() string { return f.iss.Mint(t, f.claims(map[string]any{"exp": now - 30})) }, "", nil},
		{"not yet valid", func() string { return f.iss.Mint(t, f.claims(map[string]any{"nbf": now + 600})) }, "", engine.ErrInvalidToken},
		{"nbf within leeway", func() string { return f.iss.Mint(t, f.claims(map[string]any{"nbf": now + 30})) }, "", nil},
		{"unknown kid", func() string { return idptest.MintWith(t, f.iss.NewKey(t, jose.RS256), f.claims(nil)) }, "", engine.ErrInvalidToken},
		{"user not allowed", func() string { return f.iss.Mint(t, f.claims(map[string]any{"sub": "auth0|mallory"})) }, "", engine.ErrExternalNotAllowed},
		{"allowed by email", func() string {
			return f.iss.Mint(t, f.claims(map[string]any{"sub": "auth0|bob", "email": "bob@example.test", "email_verified": true}))
		}, "", nil},
		{"allowed email unverified", func() string {
			return f.iss.Mint(t, f.claims(map[string]any{"sub": "auth0|bob", "email": "bob@example.test", "email_verified": false}))
		}, "", engine.ErrExternalNotAllowed},
		{"no subject", func() string { return f.iss.Mint(t, f.claims(map[string]any{"sub": nil})) }, "", engine.ErrInvalidToken},
		{"alg none", func() string { return idptest.MintNone(t, f.iss.Current().ID, f.claims(nil)) }, "", engine.ErrInvalidToken},
		{"alg none by service", func() string { return idptest.MintNone(t, f.iss.Current().ID, f.claims(nil)) }, "auth0", engine.ErrInvalidToken},
		{"HS256 signed with the public key", func() string { return idptest.MintHS256WithPublicKey(t, f.iss.Current(), f.claims(nil)) }, "auth0", engine.ErrInvalidToken},
		{"unknown service", func() string { return f.iss.Mint(t, f.claims(nil)) }, "github", engine.ErrInvalidToken},
		{"garbage", func() string { return "not-a-jwt" }, "", engine.ErrInvalidToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := f.reg.Verify(ctx, "", tc.service, tc.token())
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if id.Issuer != f.iss.URL || id.Subject == "" {
					t.Fatalf("identity %+v", id)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestKeyRotationRefetchesJWKS(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	if _, err := f.reg.Verify(ctx, "", "", f.iss.Mint(t, f.claims(nil))); err != nil {
		t.Fatal(err)
	}
	before := f.iss.JWKSFetches.Load()
	// Cached keys serve the next token without a fetch.
	if _, err := f.reg.Verify(ctx, "", "", f.iss.Mint(t, f.claims(nil))); err != nil {
		t.Fatal(err)
	}
	if got := f.iss.JWKSFetches.Load(); got != before {
		t.Fatalf("JWKS fetched %d times for a cached key", got-before)
	}
	f.iss.Rotate(t, jose.ES256)
	id, err := f.reg.Verify(ctx, "", "", f.iss.Mint(t, f.claims(nil)))
	if err != nil {
		t.Fatalf("token of the rotated key: %v", err)
	}
	if id.Subject != "auth0|alice" {
		t.Fatalf("subject %q", id.Subject)
	}
	if got := f.iss.JWKSFetches.Load(); got <= before {
		t.Fatal("rotated key verified without refetching the JWKS")
	}
}

func TestIssuerUnavailable(t *testing.T) {
	f := newFixture(t, func(c *config.OIDCIssuer) { c.Issuer = "http://127.0.0.1:1" })
	tok := f.iss.Mint(t, f.claims(map[string]any{"iss": "http://127.0.0.1:1"}))
	_, err := f.reg.Verify(context.Background(), "", "auth0", tok)
	if !errors.Is(err, engine.ErrExternalUnavailable) || !errors.Is(err, engine.ErrBusy) {
		t.Fatalf("err = %v, want ErrExternalUnavailable", err)
	}
}

func TestSignOnCreatesAndLinksUsers(t *testing.T) {
	ctx := context.Background()
	t.Run("created on first sign-on", func(t *testing.T) {
		f := newFixture(t, nil)
		req := engine.SignOnRequest{Service: "core"}
		g1, err := f.reg.SignOn(ctx, "", "", f.iss.Mint(t, f.claims(nil)), req)
		if err != nil {
			t.Fatal(err)
		}
		if g1.User.Name != "alice" || !g1.User.RefreshEnabled || g1.RefreshToken == "" {
			t.Fatalf("user %+v refresh %q", g1.User, g1.RefreshToken)
		}
		g2, err := f.reg.SignOn(ctx, "", "", f.iss.Mint(t, f.claims(nil)), req)
		if err != nil {
			t.Fatal(err)
		}
		if g2.User.ID != g1.User.ID || g2.Session.ID == g1.Session.ID {
			t.Fatalf("second sign-on: user %s session %s", g2.User.ID, g2.Session.ID)
		}
	})
	t.Run("local name taken is not taken over", func(t *testing.T) {
		f := newFixture(t, nil)
		local, err := f.app.Engine.CreateUser(ctx, engine.NewUser{Name: "alice", Password: "local-pass-1"})
		if err != nil {
			t.Fatal(err)
		}
		g, err := f.reg.SignOn(ctx, "", "", f.iss.Mint(t, f.claims(nil)), engine.SignOnRequest{Service: "core"})
		if err != nil {
			t.Fatal(err)
		}
		if g.User.ID == local.ID || g.User.Name == "alice" {
			t.Fatalf("external identity took over local user %q", g.User.Name)
		}
	})
	t.Run("not creating, only an administrator's link signs on", func(t *testing.T) {
		f := newFixture(t, func(c *config.OIDCIssuer) { c.CreateUsers = false })
		if _, err := f.reg.SignOn(ctx, "", "", f.iss.Mint(t, f.claims(nil)), engine.SignOnRequest{Service: "core"}); !errors.Is(err, engine.ErrExternalNotAllowed) {
			t.Fatalf("without a local user: err = %v", err)
		}
		local, err := f.app.Engine.CreateUser(ctx, engine.NewUser{Name: "alice", RefreshEnabled: true})
		if err != nil {
			t.Fatal(err)
		}
		// A local user of the identity's nickname is not linked by it.
		if _, err := f.reg.SignOn(ctx, "", "", f.iss.Mint(t, f.claims(nil)), engine.SignOnRequest{Service: "core"}); !errors.Is(err, engine.ErrExternalNotAllowed) {
			t.Fatalf("unlinked, with a local user of its nickname: err = %v", err)
		}
		iss, ok := f.reg.IssuerURL("", "auth0")
		if !ok || iss != f.iss.URL {
			t.Fatalf("IssuerURL = %q, %v", iss, ok)
		}
		if _, err := f.app.Engine.LinkExternalIdentity(ctx, "", "alice", iss, "auth0|alice"); err != nil {
			t.Fatal(err)
		}
		g, err := f.reg.SignOn(ctx, "", "", f.iss.Mint(t, f.claims(nil)), engine.SignOnRequest{Service: "core"})
		if err != nil {
			t.Fatal(err)
		}
		if g.User.ID != local.ID {
			t.Fatalf("linked to %s, want %s", g.User.ID, local.ID)
		}
	})
}
