package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tokengate/tokengate/internal/engine"
)

// The tests of this file drive a real Chromium, headless, against the
// gateway on loopback. scripts/test.sh installs Debian's chromium and
// axe-core; under CI=true a missing one fails the run, elsewhere the test
// skips and says why.

// chromiumPath finds the browser, or stops the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TOKENGATE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	missing(t, "no Chromium found (install Debian's chromium, as ./scripts/test.sh does, or set TOKENGATE_CHROMIUM)")
	return ""
}

func missing(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("browser test: %s", what)
	}
	t.Skipf("browser test skipped: %s", what)
}

// axeSource is axe-core, which scripts/test.sh installs from the npm
// registry into testdata/node.
func axeSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "node", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		missing(t, "axe-core is not installed (run: npm ci --prefix internal/web/testdata/node)")
	}
	return string(b)
}

// artifacts is where screenshots go: $TOKENGATE_TEST_ARTIFACTS, or a
// folder of the system's temporary directory, printed.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TOKENGATE_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "tokengate-test-artifacts")
	}
	dir = filepath.Join(dir, "web-ui")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// chrome starts a headless Chromium with a fresh profile and returns the
// context of its first tab.
func chrome(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	// A generous bound for the whole walk on a loaded two-core machine; it
	// only stops a hung browser, no step depends on it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("password-store", "basic"),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		missing(t, "Chromium did not start: "+err.Error())
	}
	return bctx
}

// tab opens a tab in a browser context of its own (its own cookies: a
// second person at another computer).
func tab(t *testing.T, parent context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	return ctx
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepBound)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		t.Fatalf("%s: %v%s", what, err, where(ctx))
	}
}

// stepBound bounds one step (a page to load, an element to appear), so
// that a step that can never succeed is reported with the page it left;
// no step comes near it on a loaded machine.
const stepBound = 20 * time.Second

// where describes the page a failed step left the tab on.
func where(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	return fmt.Sprintf("\n  at %s\n  page: %.600s", loc, body)
}

func run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepBound)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		t.Fatalf("%s: %v%s", what, err, where(ctx))
	}
	return v
}

// shot saves a full-page screenshot.
func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png := run(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

type violation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// accessible runs axe-core in the page and fails on any violation of
// serious or critical impact.
func accessible(t *testing.T, ctx context.Context, axe, page string) {
	t.Helper()
	// Runtime.evaluate is not subject to the page's Content-Security-Policy,
	// so the checker runs in pages that allow no foreign script.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](axe+";true")); err != nil {
		t.Fatalf("%s: inject axe-core: %v", page, err)
	}
	vs := run(t, ctx, "axe "+page, chromedp.Evaluate[[]violation](`axe.run(document, {resultTypes: ["violations"]}).then(r =>
		r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v =>
			({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))})))`, chromedp.EvalAwaitPromise))
	for _, v := range vs {
		t.Errorf("%s: accessibility (%s) %s: %s at %s", page, v.Impact, v.ID, v.Help, strings.Join(v.Nodes, ", "))
	}
}

// signInByKeyboard signs in with keys alone: the user name field has the
// focus when the page opens, Tab moves to the password, Enter submits.
func signInByKeyboard(t *testing.T, ctx context.Context, g *gateway, user, password string) {
	t.Helper()
	do(t, ctx, "open sign-in", chromedp.Navigate(g.URL+"/ui/signin"), chromedp.WaitVisible(chromedp.ID("username")))
	if id := run(t, ctx, "focus", chromedp.Evaluate[string](`document.activeElement.id`)); id != "username" {
		t.Fatalf("the sign-in page opens with the focus on %q, not the user name", id)
	}
	do(t, ctx, "type", chromedp.KeyEvent(user), chromedp.KeyEvent("\t"), chromedp.KeyEvent(password), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.ID("members-h")))
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return run(t, ctx, "text of "+sel, chromedp.Text(chromedp.CSS(sel)))
}

func TestBrowserWalk(t *testing.T) {
	axe := axeSource(t)
	root := chrome(t)
	dir := artifacts(t)
	g := newGateway(t, nil)
	ctx := context.Background()
	e := g.App.Engine
	g.user(t, "alice", "alice-password", false, false)
	if _, err := e.UpdateUser(ctx, tokenUser(t, g, "alice"), engine.UserUpdate{DisplayName: ptr("Alice Broker")}); err != nil {
		t.Fatal(err)
	}
	var mus []string
	for _, org := range []string{"gailbkr", "mcneillieuwr"} {
		if _, err := e.CreateOrganisation(ctx, "", org, strings.ToUpper(org[:1])+org[1:]+" Ltd"); err != nil {
			t.Fatal(err)
		}
		m, err := e.AddMembership(ctx, engine.NewMembership{User: "alice", Organisation: org, Channels: []string{org + "_ALL"}})
		if err != nil {
			t.Fatal(err)
		}
		mus = append(mus, m.ID)
	}

	user := tab(t, root)
	// Grant the clipboard to the gateway's origin in the user's browser
	// context, as a person does when the browser asks.
	bc := chromedp.FromContext(user).BrowserContextID
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(user, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true}, Setting: browser.PermissionSettingGranted,
			Origin: g.URL, BrowserContextID: bc}); err != nil {
			t.Fatalf("grant %s: %v", name, err)
		}
	}

	// Sign in with the keyboard alone; the sign-in page passes axe.
	do(t, user, "sign-in page", chromedp.Navigate(g.URL+"/ui/signin"), chromedp.WaitVisible(chromedp.ID("username")))
	accessible(t, user, axe, "sign-in")
	shot(t, user, dir, "signin")
	signInByKeyboard(t, user, g, "alice", "alice-password")

	// The profile shows both memberships with their MU ids.
	for _, mu := range mus {
		if got := text(t, user, "#mu-"+mu); got != mu {
			t.Fatalf("MU id shown %q, want %q", got, mu)
		}
	}
	do(t, user, "copy an MU id", chromedp.Click(chromedp.CSS(`button[data-copy="mu-`+mus[0]+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[data-copy="mu-`+mus[0]+`"][data-copied="true"]`)))
	if clip := run(t, user, "read clipboard", chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise)); clip != mus[0] {
		t.Fatalf("clipboard holds %q, want the MU id %q", clip, mus[0])
	}
	accessible(t, user, axe, "profile")

	// Request API access.
	do(t, user, "request access", chromedp.SendKeys(chromedp.ID("reason"), "Nightly risk export to our warehouse"),
		chromedp.Click(chromedp.CSS(`#access button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`[data-request="pending"]`)))
	shot(t, user, dir, "profile-pending")

	// An administrator, at another computer, approves it.
	admin := tab(t, root)
	signInByKeyboard(t, admin, g, "admin", adminPassword)
	do(t, admin, "requests page", chromedp.Navigate(g.URL+"/ui/admin/requests"), chromedp.WaitVisible(chromedp.ID("pending-h")))
	if got := text(t, admin, "[data-request]"); !strings.Contains(got, "Nightly risk export") || !strings.Contains(got, "alice") {
		t.Fatalf("the admin does not see the reason: %q", got)
	}
	accessible(t, admin, axe, "admin requests")
	shot(t, admin, dir, "admin-requests")
	do(t, admin, "approve", chromedp.SendKeys(chromedp.CSS(`[data-request] input[name=note]`), "Approved for the export"),
		chromedp.Click(chromedp.CSS(`[data-request] form[action$="/approve"] button`)), chromedp.WaitVisible(chromedp.CSS(`.notice`)))

	// The user sees the outcome and creates a token.
	do(t, user, "profile after approval", chromedp.Navigate(g.URL+"/ui/profile"), chromedp.WaitVisible(chromedp.ID("tokens-h")))
	if got := text(t, user, `[data-request="approved"]`); !strings.Contains(got, "Approved for the export") {
		t.Fatalf("outcome shown: %q", got)
	}
	do(t, user, "create token", chromedp.SendKeys(chromedp.ID("label"), "warehouse"),
		chromedp.Click(chromedp.CSS(`#tokens form button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("new-token")))
	tok := run(t, user, "read token", chromedp.Value(chromedp.ID("new-token")))
	if !strings.Contains(text(t, user, "#tokens .warning"), "It will not be shown again") {
		t.Fatal("no warning that the token is shown once")
	}
	do(t, user, "copy the token", chromedp.Click(chromedp.CSS(`button[data-copy="new-token"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[data-copy="new-token"][data-copied="true"]`)))
	clip := run(t, user, "read clipboard", chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if clip != tok || len(tok) < 100 {
		t.Fatalf("clipboard %q, page %q", clip, tok)
	}
	accessible(t, user, axe, "token revealed")
	shot(t, user, dir, "profile-token")
	if loc := run(t, user, "location", chromedp.Location()); strings.Contains(loc, tok) {
		t.Fatal("the token is in the URL")
	}

	// The token works for Sync Gateway's _oidc_refresh and the OAuth 2.0
	// token endpoint.
	if st, body := getRefresh(t, g, tok); st != http.StatusOK || !strings.Contains(body, `"id_token"`) {
		t.Fatalf("_oidc_refresh: %d %s", st, body)
	}
	if st, body := oauthRefresh(t, g, tok); st != http.StatusOK || !strings.Contains(body, `"access_token"`) {
		t.Fatalf("oauth2/token: %d %s", st, body)
	}

	// A reload asks the server again, which never shows it twice.
	do(t, user, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("tokens-h")))
	if html := run(t, user, "page", chromedp.OuterHTML(chromedp.CSS("html"))); strings.Contains(html, tok) || strings.Contains(html, `id="new-token"`) {
		t.Fatal("the token is shown again after a reload")
	}
	if hist := run(t, user, "history", chromedp.NavigationEntries()); strings.Contains(fmt.Sprint(hist.Entries), tok) {
		t.Fatal("the token is in the browser history")
	}

	// A cross-site page can't post a form (no CSRF token, foreign
	// Origin), and can't frame the UI.
	evil := evilSite(t, g)
	do(t, user, "cross-site post", chromedp.Navigate(evil+"/post"), chromedp.WaitVisible(chromedp.CSS(".card h1")))
	if body := text(t, user, "main"); !strings.Contains(body, "came from another site") {
		t.Fatalf("the cross-site post was not refused: %q", body)
	}
	do(t, user, "still signed in", chromedp.Navigate(g.URL+"/ui/profile"), chromedp.WaitVisible(chromedp.ID("tokens-h")))
	framed(t, user, evil, g)

	// Revoke the token in the UI (confirmed first); it is refused.
	do(t, user, "revoke", chromedp.Navigate(g.URL+"/ui/profile"), chromedp.WaitVisible(chromedp.ID("tokens-h")), chromedp.Click(chromedp.CSS(`tr[data-token] form button`)),
		chromedp.WaitVisible(chromedp.CSS(`form input[name=confirm] ~ button.danger`)))
	accessible(t, user, axe, "confirmation")
	do(t, user, "confirm", chromedp.Click(chromedp.CSS(`form input[name=confirm] ~ button.danger`)), chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	if st, _ := getRefresh(t, g, tok); st != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", st)
	}

	// Sign out everywhere: a second token survives, everything else ends.
	do(t, user, "second token", chromedp.SendKeys(chromedp.ID("label"), "keeper"),
		chromedp.Click(chromedp.CSS(`#tokens form button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("new-token")))
	keeper := run(t, user, "read keeper", chromedp.Value(chromedp.ID("new-token")))
	pw, err := e.SignOnPassword(ctx, engine.SignOnRequest{Service: "oauth2", ClientID: engine.DefaultClientID, Username: "alice", Password: "alice-password", DeviceID: "phone"})
	if err != nil {
		t.Fatal(err)
	}
	other := tab(t, root)
	signInByKeyboard(t, other, g, "alice", "alice-password")
	do(t, user, "profile with sessions", chromedp.Navigate(g.URL+"/ui/profile"), chromedp.WaitVisible(chromedp.CSS(`tr[data-session]`)))
	if got := text(t, user, "tr[data-session]"); !strings.Contains(got, "phone") || !strings.Contains(got, "OAuth 2.0") {
		t.Fatalf("session row: %q", got)
	}
	shot(t, user, dir, "profile-sessions")
	accessible(t, user, axe, "profile with tokens and sessions")
	do(t, user, "sign out everywhere", chromedp.Click(chromedp.CSS(`form[action="/ui/profile/everywhere"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form input[name=confirm] ~ button.danger`)),
		chromedp.Click(chromedp.CSS(`form input[name=confirm] ~ button.danger`)), chromedp.WaitVisible(chromedp.ID("username")))
	for name, c := range map[string]context.Context{"this browser": user, "the other browser": other} {
		do(t, c, "profile after sign-out", chromedp.Navigate(g.URL+"/ui/profile"), chromedp.WaitVisible(chromedp.ID("username")))
		if loc := run(t, c, "location", chromedp.Location()); !strings.Contains(loc, "/ui/signin") {
			t.Fatalf("%s is still signed in: %s", name, loc)
		}
	}
	if _, err := e.Refresh(ctx, engine.RefreshRequest{Token: pw.RefreshToken, ClientID: engine.DefaultClientID}); err == nil {
		t.Fatal("the OAuth 2.0 session survived sign out everywhere")
	}
	if st, body := getRefresh(t, g, keeper); st != http.StatusOK {
		t.Fatalf("the API token did not survive sign out everywhere: %d %s", st, body)
	}

	// The administration pages pass axe too.
	for _, p := range []string{"users", "users/alice", "orgs", "orgs/gailbkr", "clients", "sessions", "keys", "tenants", "audit"} {
		do(t, admin, "admin "+p, chromedp.Navigate(g.URL+"/ui/admin/"+p), chromedp.WaitVisible(chromedp.CSS("main h1")))
		accessible(t, admin, axe, "admin "+p)
		if p == "users/alice" || p == "audit" {
			shot(t, admin, dir, "admin-"+strings.ReplaceAll(p, "/", "-"))
		}
	}

	// On a phone's width the layout reflows: nothing is wider than the
	// screen but tables, which scroll inside their own box.
	do(t, admin, "phone width", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(g.URL+"/ui/admin/users/alice"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if w := run(t, admin, "page width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 390 {
		wide := run(t, admin, "wide elements", chromedp.Evaluate[[]string](`[...document.querySelectorAll("body *")]
			.filter(e => e.getBoundingClientRect().right > 391 && !e.closest(".table-wrap table"))
			.slice(0, 8).map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))`))
		t.Errorf("the page is %d px wide on a 390 px screen: %v", w, wide)
	}
	accessible(t, admin, axe, "admin user on a phone")
	shot(t, admin, dir, "admin-user-phone")
}

func ptr[T any](v T) *T { return &v }

func getRefresh(t *testing.T, g *gateway, tok string) (int, string) {
	t.Helper()
	resp, err := http.Get(g.URL + "/whitespace/_oidc_refresh?refresh_token=" + url.QueryEscape(tok))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func oauthRefresh(t *testing.T, g *gateway, tok string) (int, string) {
	t.Helper()
	resp, err := http.PostForm(g.URL+"/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {engine.DefaultClientID}, "refresh_token": {tok}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// evilSite is another origin on loopback (same site, other port: the
// browser sends the gateway's SameSite=Lax cookie along, so only the
// origin and CSRF checks stand in the way). Its /post page submits a form
// to the gateway at once; its /frame page frames the gateway beside a page
// of its own.
func evilSite(t *testing.T, g *gateway) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/post", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>win a prize</title><form method="post" action="%s/ui/profile/everywhere">
<input type="hidden" name="confirm" value="yes"></form><script>document.forms[0].submit()</script>`, g.URL)
	})
	mux.HandleFunc("/frame", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>frames</title><body><iframe name="own" src="/own" onload="document.body.dataset.own=1"></iframe><iframe name="ui" src="%s/ui/signin" onload="document.body.dataset.ui=1"></iframe>`, g.URL)
	})
	mux.HandleFunc("/own", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `<!doctype html><p>own frame</p>`) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// framed checks that a page of another origin can't show the UI in a frame:
// its own frame loads, the UI's is blocked (X-Frame-Options: DENY and
// frame-ancestors 'none').
func framed(t *testing.T, ctx context.Context, evil string, g *gateway) {
	t.Helper()
	// The framing page marks its body when each frame has fired load
	// (a blocked frame fires it too, with Chromium's error page).
	do(t, ctx, "framing page", chromedp.Navigate(evil+"/frame"), chromedp.WaitReady(chromedp.CSS("body[data-own][data-ui]")))
	res, err := chromedp.Call(ctx, cdppage.GetFrameTree, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	tree := *res.FrameTree
	var own, ui *cdp.Frame
	for _, c := range tree.ChildFrames {
		switch c.Frame.Name {
		case "own":
			own = c.Frame
		case "ui":
			ui = c.Frame
		}
	}
	if own == nil || own.URL != evil+"/own" {
		t.Fatalf("the control frame did not load: %v", frameURLs(tree))
	}
	if ui == nil {
		t.Fatalf("no UI frame: %v", frameURLs(tree))
	}
	if ui.URL == g.URL+"/ui/signin" && ui.UnreachableURL == "" {
		t.Fatalf("the UI loaded inside another site's frame: %v", frameURLs(tree))
	}
}

func frameURLs(tree cdppage.FrameTree) []string {
	var out []string
	for _, c := range tree.ChildFrames {
		out = append(out, c.Frame.URL+" (unreachable "+c.Frame.UnreachableURL+")")
	}
	return out
}
