package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
)

// TestWelcomeCurlLine runs the "Get a first token" line serve prints
// through a real shell, with curl replaced by a function that prints its
// arguments: a user who pastes the line must send the admin's password,
// whatever characters it holds, and never the literal name of a variable.
func TestWelcomeCurlLine(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	const chosen = `p&ss +w'ord$x`
	for _, tc := range []struct {
		name string
		res  engine.BootstrapResult
		want string // the password curl must be given
	}{
		{"generated", engine.BootstrapResult{CreatedAdmin: true, AdminPassword: "Gen3rated-Pw_x"}, "Gen3rated-Pw_x"},
		{"from the environment", engine.BootstrapResult{CreatedAdmin: true}, chosen},
		{"the environment's, in use already", engine.BootstrapResult{AdminPasswordInUse: true}, chosen},
		{"existing admin", engine.BootstrapResult{}, "YOUR_PASSWORD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			var out bytes.Buffer
			printWelcome(&out, cfg, tc.res)
			var line string
			for _, l := range strings.Split(out.String(), "\n") {
				if strings.HasPrefix(strings.TrimSpace(l), "curl ") {
					line = strings.TrimSpace(l)
				}
			}
			if line == "" {
				t.Fatalf("no curl line in:\n%s", out.String())
			}
			script := `curl() { for a in "$@"; do printf '%s\n' "$a"; done; }; jq() { cat; }; ` + line
			cmd := exec.Command(sh, "-c", script)
			cmd.Env = []string{"PATH=/usr/bin:/bin", "TOKENGATE_ADMIN_PASSWORD=" + chosen}
			got, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			args := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
			found := false
			for i, a := range args {
				if a == "password="+tc.want && i > 0 && args[i-1] == "--data-urlencode" {
					found = true
				}
			}
			if !found {
				t.Errorf("the line %q gives curl %q, not --data-urlencode password=%s", line, args, tc.want)
			}
		})
	}
}

// TestHelpListsOneCommandPerColumn checks that tokengate --help keeps every
// line of a command's summary in the summary column: a continuation line
// at the left margin reads as a command of its own.
func TestHelpListsOneCommandPerColumn(t *testing.T) {
	var out bytes.Buffer
	printGroup(&out, rootCommand(), []string{"tokengate"})
	_, list, ok := strings.Cut(out.String(), "Commands:\n")
	if !ok {
		t.Fatalf("no command list in:\n%s", out.String())
	}
	list, _, _ = strings.Cut(list, "\n\n")
	const col = "  " + "          " + " " // the indent, %-10s, the space
	for _, l := range strings.Split(list, "\n") {
		if !strings.HasPrefix(l, "  ") || (strings.HasPrefix(l, "   ") && !strings.HasPrefix(l, col)) {
			t.Errorf("help line out of its column: %q", l)
		}
	}
}

// TestInitStartHint checks the command init suggests: it starts on what
// init made, so it names the configuration file given to init, and never
// repeats a database URL (which may hold a password).
func TestInitStartHint(t *testing.T) {
	for _, tc := range []struct {
		g    globalFlags
		want string
	}{
		{globalFlags{}, "tokengate serve --data /d"},
		{globalFlags{configFile: "my conf.yaml"}, "tokengate serve --config 'my conf.yaml' --data /d"},
		{globalFlags{dbURL: "postgres://u:secret@h/db"}, "tokengate serve --data /d --db URL (the one given to init)"},
	} {
		if got := startHint(&cliEnv{global: tc.g, getenv: func(string) string { return "" }}, "/d"); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.g, got, tc.want)
		}
	}
}
