package archtest

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// mayQueryStore reports whether package p may call the store's methods:
// the engine, the store's own packages, and internal/app, the wiring that
// opens a backend, hands it to the engine and closes it.
func mayQueryStore(p string) bool { return isEngine(p) || isStore(p) || isApp(p) }

// TestOnlyTheEngineQueriesTheStore type-checks every other package of the
// module (non-test files) and fails for each call of a query or of Tx (the
// methods of store.Queries, and Store.Tx, on the interfaces or on a
// backend's types), and for each use of store.ErrNotFound,
// store.ErrConflict or store.ErrUnavailable: above the engine, store records are vocabulary, but
// queries and storage errors are the engine's alone. A backend's lifecycle
// (Open, Ping, Close, migrations) is the wiring's, in internal/app or cmd.
func TestOnlyTheEngineQueriesTheStore(t *testing.T) {
	g := loadGraph(t)
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f := g.exports[path]
		if f == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	})
	queries := queryMethods(t, imp)
	checked := 0
	var found []string
	for _, path := range g.paths {
		if mayQueryStore(path) {
			continue
		}
		p := g.pkgs[path]
		var files []*ast.File
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		info := &types.Info{Uses: map[*ast.Ident]types.Object{}, Selections: map[*ast.SelectorExpr]*types.Selection{}}
		if _, err := (&types.Config{Importer: imp}).Check(p.ImportPath, fset, files, info); err != nil {
			t.Fatalf("type-check %s: %v", path, err)
		}
		checked++
		for sel, s := range info.Selections {
			if m, ok := s.Obj().(*types.Func); ok && queries[m.Name()] && isStoreMethod(m) {
				found = append(found, fmt.Sprintf("%s: %s calls the store's %s: only the engine queries the store; add an engine method",
					shortPos(fset, sel.Sel.Pos()), path, m.Name()))
			}
		}
		for id, obj := range info.Uses {
			if v, ok := obj.(*types.Var); ok && v.Pkg() != nil && rel(v.Pkg().Path()) == "internal/store" &&
				(v.Name() == "ErrNotFound" || v.Name() == "ErrConflict" || v.Name() == "ErrUnavailable") {
				found = append(found, fmt.Sprintf("%s: %s uses store.%s: the engine translates it into its own sentinel (ErrUnknownUser, ErrAlreadyExists, ErrUnavailable...)",
					shortPos(fset, id.Pos()), path, v.Name()))
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d packages", checked)
	}
	slices.Sort(found)
	for _, f := range found {
		t.Error(f)
	}
}

// TestEngineHandsOutNoStore fails when an exported method of the Engine
// returns the store or a backend, a side door past every rule above.
func TestEngineHandsOutNoStore(t *testing.T) {
	g := loadGraph(t)
	imp := importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		return os.Open(g.exports[path])
	})
	eng, err := imp.Import(module + "/internal/engine")
	if err != nil {
		t.Fatal(err)
	}
	obj := eng.Scope().Lookup("Engine")
	if obj == nil {
		t.Fatal("package engine declares no Engine")
	}
	ms := types.NewMethodSet(types.NewPointer(obj.Type()))
	if ms.Len() < 10 {
		t.Fatalf("Engine has only %d methods", ms.Len())
	}
	for i := range ms.Len() {
		m := ms.At(i).Obj().(*types.Func)
		res := m.Type().(*types.Signature).Results()
		for j := range res.Len() {
			if n, ok := types.Unalias(res.At(j).Type()).(*types.Named); ok && n.Obj().Pkg() != nil &&
				isStore(rel(n.Obj().Pkg().Path())) && (types.IsInterface(n) || isBackend(rel(n.Obj().Pkg().Path()))) {
				t.Errorf("Engine.%s returns %s: the store is the engine's alone; give the surfaces a narrow method instead", m.Name(), n)
			}
		}
	}
}

// queryMethods returns the names of the store's queries: the methods of
// store.Queries, and Tx.
func queryMethods(t *testing.T, imp types.Importer) map[string]bool {
	t.Helper()
	st, err := imp.Import(module + "/internal/store")
	if err != nil {
		t.Fatal(err)
	}
	q, ok := st.Scope().Lookup("Queries").(*types.TypeName)
	if !ok || !types.IsInterface(q.Type()) {
		t.Fatal("package store declares no interface Queries")
	}
	names := map[string]bool{"Tx": true}
	ms := types.NewMethodSet(q.Type())
	for i := range ms.Len() {
		names[ms.At(i).Obj().Name()] = true
	}
	if len(names) < 20 {
		t.Fatalf("store.Queries has only %d methods", len(names))
	}
	return names
}

// isStoreMethod reports whether m is a method of an interface of package
// store or of any type of a backend. Methods of store records
// (Session.Live) are vocabulary and never match a query's name anyway.
func isStoreMethod(m *types.Func) bool {
	if m.Pkg() == nil || !isStore(rel(m.Pkg().Path())) {
		return false
	}
	sig, ok := m.Type().(*types.Signature)
	if !ok || sig.Recv() == nil {
		return false
	}
	return types.IsInterface(sig.Recv().Type()) || isBackend(rel(m.Pkg().Path()))
}

// shortPos is a position relative to the module root.
func shortPos(fset *token.FileSet, pos token.Pos) string {
	p := fset.Position(pos)
	if r, err := filepath.Rel(loaded.root, p.Filename); err == nil {
		p.Filename = r
	}
	return p.String()
}
