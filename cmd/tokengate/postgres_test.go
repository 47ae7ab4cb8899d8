package main

// A real `tokengate serve --db postgres://...` process, and a second node
// on the same database: migrations explicit and at start, sign-on,
// refresh and reuse detection over HTTP, across nodes.

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokengate/tokengate/internal/store/postgres/pgtest"
)

// pgMasterKey is the master key every node of the test is given (32 bytes, hex).
const pgMasterKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

func TestServePostgres(t *testing.T) {
	db := pgtest.URL(t)
	bin := buildTokengate(t)
	env := []string{"TOKENGATE_MASTER_KEY=" + pgMasterKey, "TOKENGATE_ADMIN_PASSWORD=" + serveAdminPassword}
	run := func(args ...string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = hermeticEnv(env...)
		cmd.Dir = t.TempDir()
		cmd.Stdin = strings.NewReader(serveBobPassword + "\n")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// An empty database: an admin command refuses it and creates nothing, a
	// dry run lists the migrations, serve --no-migrate refuses to start,
	// migrate applies them.
	out, err := run("user", "list", "--db", db)
	if err == nil || !strings.Contains(out, "holds no tokengate data") || !strings.Contains(out, "tokengate init") {
		t.Fatalf("user list on an empty database: %v\n%s", err, out)
	}
	if strings.Contains(out, "postgres://postgres@") {
		t.Errorf("the message quotes the database URL:\n%s", out)
	}
	out, err = run("migrate", "--dry-run", "--db", db)
	if err != nil || !strings.Contains(out, "would apply") || !strings.Contains(out, "0001_init.sql") {
		t.Fatalf("migrate --dry-run: %v\n%s", err, out)
	}
	out, err = run("serve", "--no-migrate", "--db", db, "--listen", freeAddr(t))
	if err == nil || !strings.Contains(out, "schema is at version 0") || !strings.Contains(out, "tokengate migrate") {
		t.Fatalf("serve --no-migrate on an empty database: %v\n%s", err, out)
	}
	if strings.Contains(out, "postgres://") && strings.Contains(out, "@") {
		t.Errorf("serve printed the database URL:\n%s", out)
	}
	out, err = run("migrate", "--db", db)
	if err != nil || !strings.Contains(out, "applied 0001_init.sql") {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	out, err = run("migrate", "--db", db)
	if err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("second migrate: %v\n%s", err, out)
	}

	// Two nodes, each with its own data directory (no state there but the
	// master key, which they are given), one public URL.
	addr1, addr2 := freeAddr(t), freeAddr(t)
	public := "http://gateway.test"
	n1 := startServe(t, bin, "http://"+addr1, []string{"serve", "--no-migrate", "--db", db, "--data", t.TempDir(), "--listen", addr1, "--public-url", public}, env...)
	if !strings.Contains(n1.stdout.String(), `Created user "admin"`) {
		t.Fatalf("first node did not bootstrap the database:\n%s", n1.stdout)
	}
	n2 := startServe(t, bin, "http://"+addr2, []string{"serve", "--db", db, "--data", t.TempDir(), "--listen", addr2, "--public-url", public}, env...)
	if strings.Contains(n2.stdout.String(), "Created user") {
		t.Fatalf("second node bootstrapped again:\n%s", n2.stdout)
	}
	if k1, k2 := n1.jwksKids(), n2.jwksKids(); strings.Join(k1, ",") != strings.Join(k2, ",") || len(k1) == 0 {
		t.Fatalf("nodes publish different keys: %v and %v", k1, k2)
	}

	// An admin command on a third data directory reaches the same database.
	if out, err := run("user", "add", "bob", "--password-stdin", "--refresh-enabled", "--db", db, "--data", t.TempDir()); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}

	p0 := n1.password("bob", serveBobPassword)
	if p0.status != 200 || p0.str("refresh_token") == "" {
		t.Fatalf("password grant at node 1: %d %s", p0.status, p0.raw)
	}
	sid, _ := jwtPart(t, p0.str("access_token"), 1)["sid"].(string)
	p1 := n2.refresh(p0.str("refresh_token"))
	if p1.status != 200 || p1.str("refresh_token") == "" || p1.str("refresh_token") == p0.str("refresh_token") {
		t.Fatalf("refresh at node 2: %d %s", p1.status, p1.raw)
	}
	p2 := n1.refresh(p1.str("refresh_token"))
	if p2.status != 200 || p2.str("refresh_token") == "" {
		t.Fatalf("refresh of node 2's successor at node 1: %d %s", p2.status, p2.raw)
	}

	// The session is in PostgreSQL, at generation 2.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var gen int64
	if err := conn.QueryRow(ctx, `SELECT generation FROM sessions WHERE id = $1`, sid).Scan(&gen); err != nil || gen != 2 {
		t.Fatalf("session %s in PostgreSQL: generation %d, %v; want 2", sid, gen, err)
	}

	// The first token is two generations old: presenting it (at node 2,
	// which superseded it) is reuse, and the family ends on every node.
	r := n2.refresh(p0.str("refresh_token"))
	if r.status != 400 || r.str("error") != "invalid_grant" || !strings.Contains(r.str("error_description"), "reused") {
		t.Fatalf("superseded token at node 2: %d %s; want invalid_grant for reuse", r.status, r.raw)
	}
	if r := n1.refresh(p2.str("refresh_token")); r.status != 400 || !strings.Contains(r.str("error_description"), "revoked") {
		t.Fatalf("newest token at node 1 after reuse: %d %s; want revoked", r.status, r.raw)
	}
	var reason string
	if err := conn.QueryRow(ctx, `SELECT revoke_reason FROM sessions WHERE id = $1`, sid).Scan(&reason); err != nil || reason != "reuse" {
		t.Fatalf("session %s revoke_reason %q, %v; want reuse", sid, reason, err)
	}

	for _, g := range []*gateway{n1, n2} {
		if logs := g.stderr.String(); strings.Contains(logs, serveBobPassword) || strings.Contains(logs, p1.str("refresh_token")) {
			t.Errorf("a node's log holds a secret")
		}
	}
}
