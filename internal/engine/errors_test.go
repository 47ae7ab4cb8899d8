package engine_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/store"
)

// TestSentinelsComplete keeps engine.Sentinels() complete: every exported
// package-level Err… variable of the engine must be listed there, or the
// surfaces' mapping tests, which run each listed sentinel through each
// dialect's writer, would not cover it.
func TestSentinelsComplete(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]string{} // name -> file
	var listed []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				if d.Tok != token.VAR {
					continue
				}
				for _, spec := range d.Specs {
					for _, n := range spec.(*ast.ValueSpec).Names {
						if strings.HasPrefix(n.Name, "Err") && n.IsExported() {
							declared[n.Name] = fset.Position(n.Pos()).Filename
						}
					}
				}
			case *ast.FuncDecl:
				if d.Name.Name != "Sentinels" || d.Recv != nil {
					continue
				}
				ast.Inspect(d.Body, func(n ast.Node) bool {
					if id, ok := n.(*ast.Ident); ok && strings.HasPrefix(id.Name, "Err") {
						listed = append(listed, id.Name)
					}
					return true
				})
			}
		}
	}
	if len(declared) < 20 {
		t.Fatalf("found only %d Err variables in internal/engine; the parser walk is broken", len(declared))
	}
	var missing []string
	for name, file := range declared {
		if !slices.Contains(listed, name) {
			missing = append(missing, name+" ("+file+")")
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("sentinel %s is not in engine.Sentinels() (errors.go): add it there and map it in every dialect's writer", m)
	}
	for _, name := range listed {
		if _, ok := declared[name]; !ok {
			t.Errorf("engine.Sentinels() lists %s, which is not a package-level variable", name)
		}
	}

	all := engine.Sentinels()
	if len(all) != len(listed) {
		t.Fatalf("Sentinels() returns %d errors, its source lists %d", len(all), len(listed))
	}
	for i, s := range all {
		if slices.Index(all, s) != i {
			t.Errorf("Sentinels() lists %v twice", s)
		}
		if got := engine.PublicText(s); got == "" || got != s.Error() {
			t.Errorf("PublicText(%v) = %q, want its own text", s, got)
		}
	}
}

func TestErrorPublicAndDebugApart(t *testing.T) {
	const debug = "session s-123 revoked at generation 4 by sqlite row 17"
	e := &engine.Error{Kind: engine.ErrTokenRevoked, Debug: debug}
	for name, tc := range map[string]struct {
		err        error
		kind       error
		wantPublic string
	}{
		"bare":                   {e, engine.ErrTokenRevoked, "token revoked"},
		"wrapped with internals": {fmt.Errorf("sqlite: tx 42: %w", e), engine.ErrTokenRevoked, "token revoked"},
		"with public detail": {&engine.Error{Kind: engine.ErrInvalidRequest, Public: "invalid request: name is required", Debug: debug},
			engine.ErrInvalidRequest, "invalid request: name is required"},
		"sentinel wrapped by fmt.Errorf": {fmt.Errorf("%w: internal detail from %s", engine.ErrInvalidToken, "/var/lib/x"),
			engine.ErrInvalidToken, "invalid token"},
		"alias":          {engine.ErrExternalNotAllowed, engine.ErrInvalidCredentials, "this identity is not allowed to sign on"},
		"wrapped alias":  {&engine.Error{Kind: engine.ErrExternalUnavailable, Debug: debug}, engine.ErrBusy, "identity provider unavailable, try again"},
		"not the engine": {errors.New("sqlite: database is locked"), nil, ""},
		"nil":            {nil, nil, ""},
	} {
		t.Run(name, func(t *testing.T) {
			if tc.kind != nil && !errors.Is(tc.err, tc.kind) {
				t.Errorf("errors.Is(%v, %v) is false", tc.err, tc.kind)
			}
			if got := engine.PublicText(tc.err); got != tc.wantPublic {
				t.Errorf("PublicText = %q, want %q", got, tc.wantPublic)
			}
			if tc.err != nil && strings.Contains(engine.PublicText(tc.err), "sqlite") {
				t.Errorf("public text carries internal text: %q", engine.PublicText(tc.err))
			}
		})
	}
	if strings.Contains(e.Error(), debug) {
		t.Errorf("Error() shows the debug text: %q", e.Error())
	}
	if got := engine.DebugText(fmt.Errorf("refresh: %w", e)); got != debug {
		t.Errorf("DebugText = %q, want %q", got, debug)
	}
	if got := e.LogValue().String(); !strings.Contains(got, debug) || !strings.Contains(got, "token revoked") {
		t.Errorf("LogValue = %q, want the public and the debug text", got)
	}
}

// TestClassOf keeps the class table complete: every sentinel has a class
// (the surfaces' writers map classes), and a store that is unavailable is
// the engine's ErrUnavailable however it is wrapped, with its text and
// Retry-After, while any other failure stays internal.
func TestClassOf(t *testing.T) {
	for _, s := range engine.Sentinels() {
		if engine.ClassOf(s) == engine.ClassInternal {
			t.Errorf("sentinel %v has no class (class.go)", s)
		}
		if engine.ClassOf(fmt.Errorf("x: %w", &engine.Error{Kind: s, Debug: "d"})) != engine.ClassOf(s) {
			t.Errorf("wrapped %v changes class", s)
		}
	}
	raw := fmt.Errorf("engine: refresh: %w", store.Unavailable(errors.New("sqlite: commit: database is locked (5)")))
	if got := engine.ClassOf(raw); got != engine.ClassUnavailable {
		t.Errorf("ClassOf(store unavailable) = %v", got)
	}
	if !errors.Is(raw, engine.ErrUnavailable) || !errors.Is(engine.ErrUnavailable, store.ErrUnavailable) {
		t.Error("a store that is unavailable must be engine.ErrUnavailable, and the reverse")
	}
	if got := engine.PublicText(raw); got != engine.ErrUnavailable.Error() || strings.Contains(got, "sqlite") {
		t.Errorf("PublicText = %q", got)
	}
	if got := engine.RetryAfter(raw); got < 1 || got > 10 {
		t.Errorf("RetryAfter = %d, want a few seconds", got)
	}
	for _, err := range []error{errors.New("disk I/O error"), store.ErrNotFound, store.ErrConflict, nil} {
		if engine.ClassOf(err) != engine.ClassInternal || errors.Is(err, engine.ErrUnavailable) {
			t.Errorf("%v is not the engine's", err)
		}
	}
	for _, s := range engine.Sentinels() {
		if s != engine.ErrUnavailable && errors.Is(raw, s) {
			t.Errorf("a store that is unavailable matches %v", s)
		}
	}
}
