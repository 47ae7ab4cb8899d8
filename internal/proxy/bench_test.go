package proxy_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/proxy"
	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/store/sqlite"
	"github.com/tokengate/tokengate/internal/token"
)

// benchProxyEngine is an engine on a real SQLite file with an EdDSA ring
// and the real clock, with one refresh-enabled user.
func benchProxyEngine(b *testing.B) *engine.Engine {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "tokengate.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	master := make([]byte, 32)
	for i := range master {
		master[i] = byte(7 * i)
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
		Issuer: "https://bench.test",
		Policies: map[string]engine.Policy{
			"oauth2":   {Refresh: store.PolicyRotating, AccessTTL: 15 * time.Minute, IdleTTL: 24 * time.Hour, AbsoluteTTL: 30 * 24 * time.Hour},
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
	if _, err := eng.CreateUser(ctx, engine.NewUser{Name: "bench", Password: "bench password", RefreshEnabled: true}); err != nil {
		b.Fatal(err)
	}
	return eng
}

func benchProxyToken(b *testing.B, eng *engine.Engine) string {
	b.Helper()
	g, err := eng.SignOnPassword(context.Background(), engine.SignOnRequest{Service: "oauth2", ClientID: engine.DefaultClientID, Username: "bench", Password: "bench password"})
	if err != nil {
		b.Fatal(err)
	}
	return g.AccessToken
}

// BenchmarkAuthenticate is the proxy's token check. "seen" presents a
// token checked before (cache hit: no signature verification, liveness
// rechecked once per revocation bound); "first" presents a token the proxy
// has not seen (signature verification and a session read).
func BenchmarkAuthenticate(b *testing.B) {
	eng := benchProxyEngine(b)
	p, err := proxy.New(eng, proxy.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	req := func(tok string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/api/x", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		return r
	}
	b.Run("seen", func(b *testing.B) {
		r := req(benchProxyToken(b, eng))
		if _, err := p.Authenticate(ctx, r, true); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := p.Authenticate(ctx, r, true); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("first", func(b *testing.B) {
		// Each refresh (outside the timer) mints a new access token, which
		// the proxy then sees for the first time.
		g, err := eng.SignOnPassword(ctx, engine.SignOnRequest{Service: "oauth2", ClientID: engine.DefaultClientID, Username: "bench", Password: "bench password"})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			if g, err = eng.Refresh(ctx, engine.RefreshRequest{Token: g.RefreshToken}); err != nil {
				b.Fatal(err)
			}
			r := req(g.AccessToken)
			b.StartTimer()
			if _, err := p.Authenticate(ctx, r, true); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkProxyRoundTrip is a GET through the proxy to a loopback
// upstream, against the same GET sent to the upstream directly: the
// difference is what the proxy adds (token check, rewrite, a second hop).
func BenchmarkProxyRoundTrip(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer up.Close()
	eng := benchProxyEngine(b)
	p, err := proxy.New(eng, proxy.Options{Routes: []config.ProxyRoute{{Prefix: "/api/", Upstream: up.URL + "/"}}})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	p.Register(mux)
	gw := httptest.NewServer(mux)
	defer gw.Close()
	tok := benchProxyToken(b, eng)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	get := func(b *testing.B, url string, auth bool) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r, _ := http.NewRequest(http.MethodGet, url, nil)
				if auth {
					r.Header.Set("Authorization", "Bearer "+tok)
				}
				resp, err := client.Do(r)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = resp.Body.Read(make([]byte, 64))
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	}
	b.Run("direct", func(b *testing.B) { get(b, up.URL+"/x", false) })
	b.Run("proxied", func(b *testing.B) { get(b, gw.URL+"/api/x", true) })
}
