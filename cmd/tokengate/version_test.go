package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

// TestPrintVersion covers each shape of build information; TestCLI's
// version case checks a real binary against `go version -m`.
func TestPrintVersion(t *testing.T) {
	rev := "9483c200d93ae269d6422647b4229877cca0827f"
	for _, tc := range []struct {
		name     string
		bi       *debug.BuildInfo
		want     []string
		unwanted []string
	}{
		{"clean checkout", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "false"}, {Key: "vcs.time", Value: "2026-12-01T19:31:37Z"}}},
			[]string{"tokengate v1.2.3\n", "revision " + rev + "\n", "committed 2026-12-01T19:31:37Z", "go1.26.0"}, []string{"modified"}},
		{"modified tree", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20261201193137-9483c200d93a+dirty"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "true"}}},
			[]string{"tokengate v0.0.0-20261201193137-9483c200d93a+dirty", "revision " + rev + " (modified"}, nil},
		{"no vcs", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}},
			[]string{"tokengate (devel)", "revision unknown"}, []string{"committed"}},
		{"no build info", nil, []string{"no build information"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			printVersion(&b, tc.bi)
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("output %q lacks %q", b.String(), w)
				}
			}
			for _, w := range tc.unwanted {
				if strings.Contains(b.String(), w) {
					t.Errorf("output %q has %q", b.String(), w)
				}
			}
		})
	}
}
