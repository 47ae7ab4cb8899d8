package main

// These tests read the README and the docs as a new user follows them:
// the shell examples must run as written from the repository, and what
// they write there must not show up as untracked files.

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const repoRoot = "../.."

// shellLines returns the lines of the ```sh blocks of a Markdown file,
// without comments, keyed by their line number.
func shellLines(t *testing.T, path string) map[int]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := map[int]string{}
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "```"):
			in = !in && strings.TrimPrefix(l, "```") == "sh"
		case in:
			if i := strings.Index(l, "#"); i == 0 || (i > 0 && l[i-1] == ' ') {
				l = l[:i]
			}
			if strings.TrimSpace(l) != "" {
				lines[n] = l
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func docFiles(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{filepath.Join(repoRoot, "README.md")}, docs...)
}

// bareCommand is `tokengate SUBCOMMAND` run from the PATH, where nothing
// put it: the docs build ./tokengate (go run leaves no binary).
var bareCommand = regexp.MustCompile("(?:^|[\\s;|&(`])tokengate\\s+[a-z-]")

func TestDocsRunTheBuiltCommand(t *testing.T) {
	for _, path := range docFiles(t) {
		for n, l := range shellLines(t, path) {
			if bareCommand.MatchString(l) {
				t.Errorf("%s:%d runs tokengate from the PATH, where go run and go build put none; write ./tokengate: %s",
					filepath.Base(path), n, strings.TrimSpace(l))
			}
		}
	}
}

// writtenFile is a file a shell example writes by redirection.
var writtenFile = regexp.MustCompile(`>\s*([\w.-]+)`)

func TestDocsOutputIsIgnored(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, ".gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	ignored := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		ignored[strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(l), "/"), "/")] = true
	}
	// The binary and the default data directory, then every file the
	// README's examples write.
	want := map[string]string{"tokengate": "go build -o tokengate", "tokengate-data": "the default data directory"}
	for n, l := range shellLines(t, filepath.Join(repoRoot, "README.md")) {
		for _, m := range writtenFile.FindAllStringSubmatch(l, -1) {
			if m[1] != "&2" && !strings.HasPrefix(m[1], "/dev") {
				want[m[1]] = "written at README.md:" + strconv.Itoa(n)
			}
		}
	}
	if len(want) < 4 {
		t.Fatalf("found only %v; the README writes pair.json and core.json", want)
	}
	for name, from := range want {
		if !ignored[name] {
			t.Errorf(".gitignore lacks /%s (%s)", name, from)
		}
	}
}
