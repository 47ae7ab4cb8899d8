// Package pgtest gives tests a PostgreSQL database of their own: a fresh
// schema on a real server, dropped when the test ends.
//
// The server is TOKENGATE_TEST_POSTGRES (a URL) or, when that is unset,
// postgres://postgres@127.0.0.1:5432/test. When none answers, a test that
// asks for one fails under CI=true (or when TOKENGATE_TEST_POSTGRES names
// the server) and is skipped otherwise, with a message saying what to set.
// ./scripts/test.sh starts a server when it finds none.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the server the tests use.
const EnvURL = "TOKENGATE_TEST_POSTGRES"

// DefaultURL is the server tried when EnvURL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test"

var (
	probeOnce sync.Once
	probeURL  string
	probeErr  error
)

// server returns the server's URL once it has answered.
func server() (string, error) {
	probeOnce.Do(func() {
		probeURL = os.Getenv(EnvURL)
		if probeURL == "" {
			probeURL = DefaultURL
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, probeURL)
		if err != nil {
			probeErr = err
			return
		}
		probeErr = conn.Ping(ctx)
		conn.Close(ctx)
	})
	return probeURL, probeErr
}

// Server returns the URL of the server, or ends the test (a failure under
// CI=true or an explicit TOKENGATE_TEST_POSTGRES, a skip otherwise) when
// none answers.
func Server(tb testing.TB) string {
	tb.Helper()
	u, err := server()
	if err == nil {
		return u
	}
	switch {
	case os.Getenv(EnvURL) != "":
		tb.Fatalf("PostgreSQL at %s=%s does not answer: %v", EnvURL, redact(u), err)
	case os.Getenv("CI") == "true":
		tb.Fatalf("no PostgreSQL server at %s (%v), and CI=true: set %s to a server's URL, or run ./scripts/test.sh, which starts one", u, err, EnvURL)
	default:
		tb.Skipf("no PostgreSQL server at %s (%v): set %s to a server's URL (or run ./scripts/test.sh, which starts one) to run this test", u, err, EnvURL)
	}
	return ""
}

// URL creates a new, empty schema on the server and returns the server's
// URL with search_path set to it, so that a store opened on the URL keeps
// everything there. The schema is dropped, with all it holds, when the test
// ends: close what uses it in a cleanup registered after URL returns.
func URL(tb testing.TB) string {
	tb.Helper()
	base := Server(tb)
	var raw [6]byte
	if _, err := rand.Read(raw[:]); err != nil {
		tb.Fatal(err)
	}
	schema := "tg_test_" + hex.EncodeToString(raw[:])
	exec(tb, base, "CREATE SCHEMA "+schema)
	tb.Cleanup(func() { exec(tb, base, "DROP SCHEMA "+schema+" CASCADE") })
	u, err := WithSearchPath(base, schema)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// WithSearchPath returns the URL u with its search_path set to schema.
func WithSearchPath(u, schema string) (string, error) {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "postgres" && p.Scheme != "postgresql") {
		return "", fmt.Errorf("pgtest: %s must be a postgres:// URL", EnvURL)
	}
	q := p.Query()
	q.Set("search_path", schema)
	p.RawQuery = q.Encode()
	return p.String(), nil
}

func exec(tb testing.TB, u, sql string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		tb.Fatalf("pgtest: %s: %v", sql, err)
	}
}

// redact hides a URL's password.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	if _, has := p.User.Password(); has {
		p.User = url.UserPassword(p.User.Username(), "xxxxx")
	}
	return strings.TrimSpace(p.String())
}
