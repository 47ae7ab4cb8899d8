package archtest

import (
	"strings"
	"testing"
)

// The layers, by package path relative to the module (see
// docs/ARCHITECTURE.md):
//
//	surfaces (dialects, proxy, admin API, web)  ─┐
//	cmd, demo, bench ────────────────────────────┼─► engine ─► token, store ◄─ backends
//	app (wires a node: opens the store) ─────────┘
//	client (public Go package): HTTP only
func isEngine(p string) bool  { return under(p, "internal/engine") }
func isStore(p string) bool   { return under(p, "internal/store") }
func isBackend(p string) bool { return strings.HasPrefix(p, "internal/store/") }
func isDialect(p string) bool { return strings.HasPrefix(p, "internal/dialect/") }
func isApp(p string) bool     { return under(p, "internal/app") }
func isToken(p string) bool   { return under(p, "internal/token") }
func isIDP(p string) bool     { return under(p, "internal/idp") }
func isClient(p string) bool  { return under(p, "client") }
func isInternal(p string) bool {
	return strings.HasPrefix(p, "internal/")
}

// isSurface reports whether p is an HTTP surface over the engine.
func isSurface(p string) bool {
	return isDialect(p) || under(p, "internal/proxy") || under(p, "internal/adminapi") || under(p, "internal/web")
}

// testHelpers are packages of non-test files that only tests import, which
// the rules below do not start from. None is needed today: the surfaces'
// shared harness, internal/app/apptest, opens a whole node from under the
// app, where that import is the app's own.
var testHelpers = map[string]bool{}

// under reports whether p is dir or a package below it.
func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// rule forbids the packages matching from to reach a package matching to,
// directly or through other packages of this module.
type rule struct {
	from, to         func(string) bool
	fromName, toName string
	why              string
}

var rules = []rule{
	{isEngine, func(p string) bool { return p == "net/http" }, "the engine", "net/http",
		"the engine speaks no HTTP: the surfaces parse requests and write responses"},
	{isEngine, func(p string) bool { return isSurface(p) || isApp(p) }, "the engine", "a surface or internal/app",
		"nothing below a surface reaches up to it"},
	{isStore, func(p string) bool { return isEngine(p) || isSurface(p) || isApp(p) }, "a store package", "the engine, a surface or internal/app",
		"the store holds records and queries; the rules above it are the engine's"},
	{isSurface, isBackend, "a surface", "a store backend",
		"surfaces reach the store only through the engine; only internal/app opens a backend"},
	{isIDP, isDialect, "internal/idp", "a dialect",
		"idp verifies external tokens; the wire shapes that carry them are the dialects'"},
	{isToken, isStore, "internal/token", "internal/store",
		"token declares its own key record; the engine adapts the store to it"},
	{isClient, isInternal, "client/", "internal/",
		"the public Go client talks HTTP only and must build outside this module"},
	{isDialect, isApp, "a dialect", "internal/app",
		"a dialect is mounted by the app, never the other way round"},
}

// TestLayers fails for every package that reaches past its layer,
// naming the import chain. Only non-test imports count.
func TestLayers(t *testing.T) {
	g := loadGraph(t)
	for _, want := range []string{"internal/engine", "internal/store", "internal/store/sqlite", "internal/token", "internal/idp",
		"internal/dialect/oauth2", "internal/proxy", "internal/adminapi", "internal/app", "client"} {
		if g.pkgs[want] == nil {
			t.Fatalf("go list shows no package %s: the rules would check nothing", want)
		}
	}
	for _, r := range rules {
		for _, from := range g.paths {
			if !r.from(from) || testHelpers[from] {
				continue
			}
			if chain := g.chain(from, r.to); chain != nil {
				t.Errorf("%s must not import %s (%s):\n\t%s", r.fromName, r.toName, r.why, strings.Join(chain, " → "))
			}
		}
	}
}

// TestRulesCatchForbiddenImports feeds the rules a graph that breaks each
// of them, so that a rule that can't fail is noticed.
func TestRulesCatchForbiddenImports(t *testing.T) {
	for _, tc := range []struct{ from, to string }{
		{"internal/engine", "net/http"},
		{"internal/engine", "internal/dialect/core"},
		{"internal/engine", "internal/proxy"},
		{"internal/engine", "internal/web"},
		{"internal/engine", "internal/adminapi"},
		{"internal/engine", "internal/app"},
		{"internal/store/sqlite", "internal/engine"},
		{"internal/store", "internal/dialect/oauth2"},
		{"internal/dialect/ags", "internal/store/sqlite"},
		{"internal/proxy", "internal/store/postgres"},
		{"internal/adminapi", "internal/store/sqlite"},
		{"internal/web", "internal/store/sqlite"},
		{"internal/idp", "internal/dialect/oauth2"},
		{"internal/token", "internal/store"},
		{"client", "internal/httpx"},
		{"internal/dialect/syncgw", "internal/app"},
	} {
		// The forbidden import sits one hop away, behind a harmless
		// package of the module, as a real violation often does.
		g := &graph{pkgs: map[string]*pkg{
			tc.from:             {Imports: []string{module + "/internal/ttlcache"}},
			"internal/ttlcache": {Imports: []string{importPath(tc.to)}},
		}, paths: []string{tc.from, "internal/ttlcache"}}
		caught := false
		for _, r := range rules {
			if r.from(tc.from) && g.chain(tc.from, r.to) != nil {
				caught = true
			}
		}
		if !caught {
			t.Errorf("no rule forbids %s → %s", tc.from, tc.to)
		}
	}
}
