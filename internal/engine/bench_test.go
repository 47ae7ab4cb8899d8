package engine_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/token"
)

// The benchmarks run the engine on a real SQLite file (or PostgreSQL, see
// benchOpenStore) with a real EdDSA key ring and the real clock, as a
// server does; `tokengate bench` measures the same paths through HTTP. Run:
// go test -run '^$' -bench . -benchmem ./internal/engine

const benchPassword = "bench password"

type benchEnv struct {
	ctx  context.Context
	st   store.Store
	eng  *engine.Engine
	next atomic.Int64
}

func benchNewEnv(b *testing.B) *benchEnv {
	b.Helper()
	ctx := context.Background()
	st := benchOpenStore(b)
	master := make([]byte, 32)
	for i := range master {
		master[i] = byte(100 + i)
	}
	sealer, err := token.NewSealer(master)
	if err != nil {
		b.Fatal(err)
	}
	ring, err := token.NewRing(engine.KeyStore(st), sealer, token.RingOptions{Alg: token.AlgEdDSA, Retention: 30 * 24 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(st, ring, engine.Options{
		Issuer:      "https://bench.test",
		GraceWindow: 10 * time.Second,
		Policies: map[string]engine.Policy{
			"oauth2":   {Refresh: store.PolicyRotating, AccessTTL: 15 * time.Minute, IdleTTL: 7 * 24 * time.Hour, AbsoluteTTL: 30 * 24 * time.Hour},
			"core":     {Refresh: store.PolicyStable, AccessTTL: 10 * time.Minute, IdleTTL: 24 * time.Hour, AbsoluteTTL: 24 * time.Hour},
			"apitoken": {Refresh: store.PolicyStable, AccessTTL: time.Hour, IdleTTL: 90 * 24 * time.Hour, AbsoluteTTL: 365 * 24 * time.Hour},
		},
		RefreshKey:     sealer.DeriveKey("bench refresh key"),
		HashMemoryKiB:  8192,
		HashIterations: 1,
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := eng.Bootstrap(ctx, "bench-admin-password"); err != nil {
		b.Fatal(err)
	}
	return &benchEnv{ctx: ctx, st: st, eng: eng}
}

// benchSignOn creates a refresh-enabled user and signs it on to service.
func (e *benchEnv) benchSignOn(b *testing.B, service string) *engine.Grant {
	b.Helper()
	name := "bench" + strconv.FormatInt(e.next.Add(1), 10)
	if _, err := e.eng.CreateUser(e.ctx, engine.NewUser{Name: name, Password: benchPassword, RefreshEnabled: true}); err != nil {
		b.Fatal(err)
	}
	g, err := e.eng.SignOnPassword(e.ctx, engine.SignOnRequest{Service: service, ClientID: engine.DefaultClientID, Username: name, Password: benchPassword})
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// BenchmarkRefresh is one refresh through the engine: verify the refresh
// token, one IMMEDIATE transaction on SQLite, mint the access token (and
// under rotation the successor refresh token). Each parallel worker owns
// one session and chains its own tokens, as a client does.
func BenchmarkRefresh(b *testing.B) {
	for _, bc := range []struct{ name, service string }{
		{"rotating", "oauth2"},
		{"stable", "core"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := benchNewEnv(b)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				b.StopTimer()
				rt := e.benchSignOn(b, bc.service).RefreshToken
				b.StartTimer()
				for pb.Next() {
					g, err := e.eng.Refresh(e.ctx, engine.RefreshRequest{Token: rt, ClientID: engine.DefaultClientID})
					if err != nil {
						b.Error(err)
						return
					}
					if g.RefreshToken != "" {
						rt = g.RefreshToken
					}
				}
			})
		})
	}
}

// BenchmarkMintAccess mints an access token through the engine (client
// credentials: one tenant read and one signature, no session).
func BenchmarkMintAccess(b *testing.B) {
	e := benchNewEnv(b)
	c, _, err := e.eng.CreateClient(e.ctx, engine.NewClient{ID: "bench-client"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.eng.ClientCredentials(e.ctx, c, ""); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkIntrospect asks about a live session's access token: signature
// and claims, then the session's state in the store (RFC 7662).
func BenchmarkIntrospect(b *testing.B) {
	e := benchNewEnv(b)
	at := e.benchSignOn(b, "oauth2").AccessToken
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			in, err := e.eng.Inspect(e.ctx, at)
			if err != nil || !in.Active {
				b.Errorf("introspect: active %t, err %v", in.Active, err)
				return
			}
		}
	})
}

// BenchmarkVerifyAccess is the stateless half of the proxy's token check:
// signature, issuer, audience, time and kind, without the session lookup.
// "first" presents a new token each time, "seen" the same one again.
func BenchmarkVerifyAccess(b *testing.B) {
	e := benchNewEnv(b)
	c, _, err := e.eng.CreateClient(e.ctx, engine.NewClient{ID: "bench-client"})
	if err != nil {
		b.Fatal(err)
	}
	toks := make([]string, 256)
	for i := range toks {
		g, err := e.eng.ClientCredentials(e.ctx, c, "")
		if err != nil {
			b.Fatal(err)
		}
		toks[i] = g.AccessToken
	}
	b.Run("seen", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := e.eng.VerifyAccess(toks[0]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("first", func(b *testing.B) {
		// New tokens are minted outside the timer so that each check is a
		// token the engine has not seen.
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			g, err := e.eng.ClientCredentials(e.ctx, c, "")
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := e.eng.VerifyAccess(g.AccessToken); err != nil {
				b.Fatal(err)
			}
		}
	})
}
