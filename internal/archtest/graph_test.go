package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// module is the module path; packages are named relative to it.
const module = "github.com/tokengate/tokengate"

// pkg is what the tests read of one package of `go list -json`.
type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string // non-test files only
	Imports    []string // imports of GoFiles, full paths
	Export     string   // compiled export data, for the type checker
	Error      *struct{ Err string }
}

// graph is the module's packages and everything they depend on.
type graph struct {
	pkgs    map[string]*pkg // by rel path for the module's, full path otherwise
	paths   []string        // the module's packages, sorted
	exports map[string]string
	root    string // the module's directory
}

// rel names a package relative to the module ("internal/engine"); a
// package of another module or the standard library keeps its path.
func rel(path string) string {
	if path == module {
		return "."
	}
	if r, ok := strings.CutPrefix(path, module+"/"); ok {
		return r
	}
	return path
}

// importPath is the inverse of rel for the module's top-level directories;
// any other path ("net/http") is left as it is.
func importPath(p string) string {
	if isInternal(p) || isClient(p) || strings.HasPrefix(p, "cmd/") || strings.HasPrefix(p, "examples/") {
		return module + "/" + p
	}
	return p
}

var (
	loadOnce sync.Once
	loaded   *graph
	loadErr  error
)

// loadGraph runs `go list -deps -export -json ./...` at the module root
// once per test binary.
func loadGraph(t *testing.T) *graph {
	t.Helper()
	loadOnce.Do(func() { loaded, loadErr = listModule() })
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return loaded
}

func listModule() (*graph, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return nil, errors.New("go env GOMOD: " + err.Error())
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	cmd := exec.Command("go", "list", "-deps", "-export", "-json", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, errors.New("go list: " + err.Error() + "\n" + stderr.String())
	}
	g := &graph{pkgs: map[string]*pkg{}, exports: map[string]string{}, root: root}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, errors.New("go list output: " + err.Error())
		}
		if p.Error != nil {
			return nil, errors.New("go list: " + p.ImportPath + ": " + p.Error.Err)
		}
		g.exports[p.ImportPath] = p.Export
		r := rel(p.ImportPath)
		g.pkgs[r] = &p
		if r != p.ImportPath {
			g.paths = append(g.paths, r)
		}
	}
	slices.Sort(g.paths)
	return g, nil
}

// chain returns the shortest import chain from the module package from to
// a package matching to, following only the module's own packages (a
// library's dependencies are its own business), or nil when there is none.
func (g *graph) chain(from string, to func(string) bool) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		p := g.pkgs[n]
		if p == nil {
			continue
		}
		for _, imp := range p.Imports {
			r := rel(imp)
			if _, seen := prev[r]; seen {
				continue
			}
			prev[r] = n
			if to(r) {
				var c []string
				for at := r; at != ""; at = prev[at] {
					c = append(c, at)
				}
				slices.Reverse(c)
				return c
			}
			if r != imp { // a package of this module: look further
				queue = append(queue, r)
			}
		}
	}
	return nil
}
