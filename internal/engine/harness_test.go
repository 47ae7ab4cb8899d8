package engine_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/fakeclock"
	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/store/sqlite"
	"github.com/tokengate/tokengate/internal/token"
)

// Lifetimes of the test policies.
const (
	accessTTL   = 15 * time.Minute
	idleTTL     = time.Hour
	absoluteTTL = 4 * time.Hour
	stableIdle  = 2 * time.Hour
	stableAbs   = 24 * time.Hour
	grace       = 10 * time.Second
	publishLead = time.Minute
	password    = "correct horse battery staple"
)

// env is an engine on a real SQLite file with a real key ring.
type env struct {
	t     *testing.T
	ctx   context.Context
	clock *fakeclock.Clock
	st    store.Store
	ring  *token.Ring
	eng   *engine.Engine
	// reg holds the engine's metrics (the second engine of a test
	// registers none).
	reg  *prometheus.Registry
	opts engine.Options // eng's, for a second engine over the same store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvAlg(t, token.AlgEdDSA)
}

// newEnvAlg returns an env whose key ring signs with alg; opts adjust the
// engine's options (a logger, another issuer).
func newEnvAlg(t *testing.T, alg string, opts ...func(*engine.Options)) *env {
	t.Helper()
	ctx := context.Background()
	// One clock for the ring and the engine, so that expiry tests take no
	// wall time.
	clock := fakeclock.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tokengate.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	master := make([]byte, 32)
	for i := range master {
		master[i] = byte(i + 1)
	}
	sealer, err := token.NewSealer(master)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := token.NewRing(engine.KeyStore(st), sealer, token.RingOptions{Alg: alg, PublishLead: publishLead, Retention: stableAbs, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	o := engine.Options{
		Issuer:      "https://auth.test",
		GraceWindow: grace,
		Policies: map[string]engine.Policy{
			"oauth2":   {Refresh: store.PolicyRotating, AccessTTL: accessTTL, IdleTTL: idleTTL, AbsoluteTTL: absoluteTTL},
			"ags":      {Refresh: store.PolicyRotating, AccessTTL: accessTTL, IdleTTL: idleTTL, AbsoluteTTL: absoluteTTL},
			"core":     {Refresh: store.PolicyStable, AccessTTL: accessTTL, IdleTTL: stableIdle, AbsoluteTTL: stableAbs},
			"apitoken": {Refresh: store.PolicyStable, AccessTTL: accessTTL, IdleTTL: stableIdle, AbsoluteTTL: stableAbs},
		},
		RefreshKey:     sealer.DeriveKey("test refresh key"),
		HashMemoryKiB:  8192,
		HashIterations: 1,
		Now:            clock.Now,
	}
	for _, f := range opts {
		f(&o)
	}
	// The metrics registry is the first engine's alone: o, kept for a
	// second engine, has none.
	reg := prometheus.NewRegistry()
	withReg := o
	withReg.Registerer = reg
	eng, err := engine.New(st, ring, withReg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Bootstrap(ctx, "admin-password"); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	return &env{t: t, ctx: ctx, clock: clock, st: st, ring: ring, eng: eng, opts: o, reg: reg}
}

// user creates a user in the default tenant.
func (e *env) user(name string, refresh bool) store.User {
	e.t.Helper()
	return e.userIn("", name, refresh)
}

func (e *env) userIn(tenant, name string, refresh bool) store.User {
	e.t.Helper()
	u, err := e.eng.CreateUser(e.ctx, engine.NewUser{Tenant: tenant, Name: name, Password: password, RefreshEnabled: refresh})
	if err != nil {
		e.t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

// signOn signs a user on to a service with the default public client.
func (e *env) signOn(name, service string) *engine.Grant {
	e.t.Helper()
	g, err := e.eng.SignOnPassword(e.ctx, engine.SignOnRequest{Service: service, ClientID: engine.DefaultClientID, Username: name, Password: password})
	if err != nil {
		e.t.Fatalf("sign on %s to %s: %v", name, service, err)
	}
	return g
}

func (e *env) refresh(tok string) (*engine.Grant, error) {
	return e.eng.Refresh(e.ctx, engine.RefreshRequest{Token: tok, ClientID: engine.DefaultClientID})
}

func (e *env) mustRefresh(tok string) *engine.Grant {
	e.t.Helper()
	g, err := e.refresh(tok)
	if err != nil {
		e.t.Fatalf("refresh at %s: %v", e.clock.Now().Format(time.TimeOnly), err)
	}
	return g
}

func (e *env) session(id string) store.Session {
	e.t.Helper()
	s, err := e.st.GetSession(e.ctx, id)
	if err != nil {
		e.t.Fatalf("get session %s: %v", id, err)
	}
	return s
}

func (e *env) liveSessions(userID string) int {
	e.t.Helper()
	ss, err := e.st.ListSessions(e.ctx, store.SessionFilter{UserID: userID, LiveAt: e.clock.Now()})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(ss)
}

// claims verifies a token's signature and returns its claims.
func (e *env) claims(tok string) *token.Claims {
	e.t.Helper()
	c, err := e.eng.VerifySignature(tok)
	if err != nil {
		e.t.Fatalf("verify token: %v", err)
	}
	return c
}

// kid returns the kid of a compact JWS's protected header.
func kid(t *testing.T, tok string) string {
	t.Helper()
	head, _, ok := strings.Cut(tok, ".")
	if !ok {
		t.Fatalf("not a JWS: %.20q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}
