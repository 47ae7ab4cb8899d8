package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/client"
	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
)

// exampleServer starts a tokengate node in-process on loopback, with a
// refresh-enabled user alice and an /whoami endpoint that checks the
// bearer token, so the examples run without a network.
func exampleServer() (url string, stop func()) {
	dir, err := os.MkdirTemp("", "tokengate-example")
	if err != nil {
		log.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Password.MemoryKiB, cfg.Password.Iterations = 8*1024, 1
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, nil, app.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := a.Engine.Bootstrap(ctx, "admin-password"); err != nil {
		log.Fatal(err)
	}
	if _, err := a.Engine.CreateUser(ctx, engine.NewUser{Name: "alice", Password: "wonderland", RefreshEnabled: true}); err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", a.Handler())
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		tok := r.Header.Get("Authorization")
		if len(tok) < 7 {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		c, err := a.Engine.VerifyAccess(tok[len("Bearer "):])
		if err != nil {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		fmt.Fprintln(w, c.PreferredUsername) // the name; c.Subject is the user's immutable id
	})
	srv := httptest.NewServer(mux)
	return srv.URL, func() { srv.Close(); a.Close(); os.RemoveAll(dir) }
}

func Example() {
	addr, stop := exampleServer()
	defer stop()

	// New signs in at once; the client then keeps its tokens fresh.
	c, err := client.New(context.Background(), client.Config{
		Address:  addr,
		Username: "alice",
		Password: "wonderland",
	})
	if err != nil {
		log.Fatal(err)
	}
	resp, err := c.HTTPClient().Get(addr + "/whoami")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var who string
	fmt.Fscan(resp.Body, &who)
	fmt.Println(resp.Status, who)
	// Output: 200 OK alice
}

// Save the tokens and resume with them later: no sign-in call while the
// refresh token works; the credentials are the fallback for when it has
// expired or been revoked.
func ExampleNew_resume() {
	addr, stop := exampleServer()
	defer stop()
	ctx := context.Background()

	var saved client.Tokens
	_, err := client.New(ctx, client.Config{Address: addr, Username: "alice", Password: "wonderland",
		OnTokens: func(t client.Tokens) { saved = t }, // persist them somewhere safe
	})
	if err != nil {
		log.Fatal(err)
	}

	c, err := client.New(ctx, client.Config{
		Address:      addr,
		AccessToken:  saved.AccessToken,
		RefreshToken: saved.RefreshToken,
		Username:     "alice",
		Password:     "wonderland",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("resumed with the saved tokens:", c.Tokens().AccessToken == saved.AccessToken)
	// Output: resumed with the saved tokens: true
}

// A client without credentials must be signed in again when its refresh
// token is no longer accepted.
func ExampleErrReauthenticate() {
	addr, stop := exampleServer()
	defer stop()

	_, err := client.New(context.Background(), client.Config{Address: addr, RefreshToken: "a-revoked-token"})
	fmt.Println(errors.Is(err, client.ErrReauthenticate))
	// Output: true
}

// The client plugs into code that takes an oauth2.TokenSource.
func ExampleClient_TokenSource() {
	addr, stop := exampleServer()
	defer stop()
	ctx := context.Background()

	c, err := client.New(ctx, client.Config{Address: addr, Username: "alice", Password: "wonderland"})
	if err != nil {
		log.Fatal(err)
	}
	hc := oauth2.NewClient(ctx, c.TokenSource())
	resp, err := hc.Get(addr + "/whoami")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output: 200 OK
}

// The Core dialect, as datarhei Core clients use it, with a UserID for a
// user in several organisations.
func ExampleConfig_core() {
	c, err := client.New(context.Background(), client.Config{
		Address:  "http://127.0.0.1:8080",
		Dialect:  client.DialectCore,
		Username: "sumo",
		Password: os.Getenv("TOKENGATE_DEMO_PASSWORD"),
		UserID:   "MU00000000-0000-0000-0000-000000000000",
	})
	if err != nil {
		log.Fatal(err)
	}
	resp, err := c.HTTPClient().Get("http://127.0.0.1:8080/api/risks")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
}

// Sync Gateway only refreshes: start from an API refresh token copied from
// the User Profile page (or `tokengate apitoken create`).
func ExampleConfig_syncGateway() {
	c, err := client.New(context.Background(), client.Config{
		Address:      "http://127.0.0.1:8080",
		Dialect:      client.DialectSyncGateway,
		Bucket:       "whitespace",
		RefreshToken: os.Getenv("RENEWABLE"),
	})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := c.Token(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Authorization: Bearer " + tok)
}
