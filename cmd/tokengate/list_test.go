package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/engine"
)

// TestListCommands runs every list command in-process on one data
// directory: the table, --json, --tenant and the refusal of arguments.
func TestListCommands(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a := openTestApp(t, dir, fastHashing)
	e := a.Engine
	if _, err := e.Bootstrap(ctx, "admin-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateTenant(ctx, engine.NewTenant{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	u, err := e.CreateUser(ctx, engine.NewUser{Name: "alice", Password: "alice-password", RefreshEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateOrganisation(ctx, "", "gailbkr", "GAIL Brokers"); err != nil {
		t.Fatal(err)
	}
	m, err := e.AddMembership(ctx, engine.NewMembership{User: "alice", Organisation: "gailbkr", Channels: []string{"risks"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.CreateClient(ctx, engine.NewClient{ID: "svc-reports", GrantTypes: []string{"client_credentials"}}); err != nil {
		t.Fatal(err)
	}
	g, err := e.CreateAPIToken(ctx, engine.APITokenRequest{User: u.ID, Label: "laptop", ByAdministrator: true})
	if err != nil {
		t.Fatal(err)
	}
	kid := a.Ring.Keys()[0].ID
	a.Close()

	cli := func(args ...string) (stdout, stderr string, code int) {
		var out, errb bytes.Buffer
		env := &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		code = run(ctx, env, append(args, "--data", dir))
		return out.String(), errb.String(), code
	}
	for _, tc := range []struct {
		cmd      string
		header   string // the table's first column
		want     string // in both the table and the JSON
		tenanted bool
	}{
		{"user", "NAME", "alice", true},
		{"session", "ID", g.Session.ID, true},
		{"key", "KID", kid, false},
		{"client", "CLIENT_ID", "svc-reports", true},
		{"tenant", "NAME", "acme", false},
		{"org", "NAME", "gailbkr", true},
		{"member", "MU ID", m.ID, true},
		{"apitoken", "ID", g.Session.ID, true},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			out, errOut, code := cli(tc.cmd, "list")
			if code != 0 || !strings.HasPrefix(out, tc.header+" ") || !strings.Contains(out, tc.want) {
				t.Fatalf("%s list: exit %d, stdout %q, stderr %q; want a table headed %s listing %s", tc.cmd, code, out, errOut, tc.header, tc.want)
			}
			out, errOut, code = cli(tc.cmd, "list", "--json")
			var v any
			if code != 0 || json.Unmarshal([]byte(out), &v) != nil || !strings.Contains(out, tc.want) {
				t.Fatalf("%s list --json: exit %d, stdout %q, stderr %q; want JSON listing %s", tc.cmd, code, out, errOut, tc.want)
			}
			if out, errOut, code := cli(tc.cmd, "list", "extra"); code != 1 || out != "" || !strings.Contains(errOut, "Usage: tokengate "+tc.cmd+" list") {
				t.Fatalf("%s list extra: exit %d, stdout %q, stderr %q; want the usage", tc.cmd, code, out, errOut)
			}
			_, errOut, code = cli(tc.cmd, "list", "--tenant", "nosuch")
			if !tc.tenanted {
				if code != 1 || !strings.Contains(errOut, "flag provided but not defined: -tenant") {
					t.Fatalf("%s list --tenant: exit %d, stderr %q; want the flag refused", tc.cmd, code, errOut)
				}
				return
			}
			if code != 1 || !strings.Contains(errOut, "nosuch") {
				t.Fatalf("%s list --tenant nosuch: exit %d, stderr %q; want an error naming the tenant", tc.cmd, code, errOut)
			}
			out, errOut, code = cli(tc.cmd, "list", "--tenant", "acme")
			if code != 0 || !strings.HasPrefix(out, tc.header+" ") || strings.Contains(out, tc.want) {
				t.Fatalf("%s list --tenant acme: exit %d, stdout %q, stderr %q; want an empty table", tc.cmd, code, out, errOut)
			}
			// An empty listing is an empty JSON list, not null.
			if out, errOut, code = cli(tc.cmd, "list", "--tenant", "acme", "--json"); code != 0 || strings.TrimSpace(out) != "[]" {
				t.Fatalf("%s list --tenant acme --json: exit %d, stdout %q, stderr %q; want []", tc.cmd, code, out, errOut)
			}
		})
	}
}
