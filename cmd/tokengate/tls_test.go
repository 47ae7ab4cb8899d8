package main

// TestTLS runs `tokengate serve` with a certificate made by the test's own
// CA (internal/tlscert/tlscerttest, never a key checked in): it serves
// HTTPS with https issuers and Secure cookies, and serves a renewed
// certificate after SIGHUP or, with the config keys, after the files
// change; a half-written renewal keeps the certificate served.

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tokengate/tokengate/internal/tlscert/tlscerttest"
)

// servedSerial is the serial number of the certificate a new TLS
// connection to addr is served, verified against pool.
func servedSerial(t *testing.T, addr string, pool *tls.Config) int64 {
	t.Helper()
	c, err := tls.Dial("tcp", addr, pool)
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// waitSerial polls new connections until addr serves serial.
func waitSerial(t *testing.T, addr string, tc *tls.Config, serial int64) {
	t.Helper()
	eventually(t, fmt.Sprintf("certificate serial %d served", serial), func() bool { return servedSerial(t, addr, tc) == serial })
}

func TestTLS(t *testing.T) {
	bin := buildTokengate(t)
	ca := tlscerttest.NewCA(t)
	tc := &tls.Config{RootCAs: ca.Pool}
	client := func() *http.Client { return browserClient(&http.Transport{TLSClientConfig: tc.Clone()}) }
	t.Run("flags, https issuer, Secure cookies, SIGHUP", func(t *testing.T) { testTLSFlagsSIGHUP(t, bin, ca, tc, client()) })
	t.Run("config keys, reload on file change", func(t *testing.T) { testTLSFileChange(t, bin, ca, tc, client()) })
	t.Run("bad pairs are refused at start", func(t *testing.T) { testTLSRefused(t, bin, ca) })
}

func testTLSFlagsSIGHUP(t *testing.T, bin string, ca *tlscerttest.CA, tc *tls.Config, hc *http.Client) {
	dir, certDir := t.TempDir(), t.TempDir()
	certFile, keyFile := filepath.Join(certDir, "cert.pem"), filepath.Join(certDir, "key.pem")
	ca.Write(t, certFile, keyFile, 1001)
	// No periodic check within any test run: only SIGHUP reloads.
	cfg := filepath.Join(t.TempDir(), "tokengate.yaml")
	if err := os.WriteFile(cfg, []byte("tls:\n  reload_interval: 24h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	base := "https://" + addr
	g := startServeClient(t, hc, bin, base, []string{"serve", "--data", dir, "--listen", addr, "--config", cfg,
		"--tls-cert", certFile, "--tls-key", keyFile}, "TOKENGATE_ADMIN_PASSWORD="+serveAdminPassword)
	if out := g.stdout.String(); !strings.Contains(out, "tokengate listening on "+base+" (issuer "+base+",") {
		t.Fatalf("welcome text does not say https:\n%s", out)
	}
	if got := servedSerial(t, addr, tc); got != 1001 {
		t.Fatalf("serial %d, want 1001", got)
	}
	// Plain HTTP on the TLS port is refused.
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP to the TLS listener: %s", resp.Status)
		}
	}

	// Tokens carry the https issuer.
	resp, err := hc.PostForm(base+"/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {"tokengate"},
		"username": {"admin"}, "password": {serveAdminPassword}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	a := httpAnswer{status: resp.StatusCode, raw: string(b)}
	if err := json.Unmarshal(b, &a.body); err != nil || a.status != http.StatusOK {
		t.Fatalf("password grant over TLS: %d %s", a.status, a.raw)
	}
	if iss := jwtPart(t, a.str("access_token"), 1)["iss"]; iss != base {
		t.Fatalf("access token iss %v, want %s", iss, base)
	}

	// The web UI's cookies are Secure and __Host- prefixed.
	checkSecureSignIn(t, hc, base)

	// A renewal takes effect on SIGHUP, and the process lives on.
	ca.Write(t, certFile, keyFile, 1002)
	if got := servedSerial(t, addr, tc); got != 1001 {
		t.Fatalf("serial %d before SIGHUP, want 1001", got)
	}
	if err := g.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitSerial(t, addr, tc, 1002)
	if !g.stderr.waitFor("tls certificate reloaded", g.exited) || !strings.Contains(g.stderr.String(), "serial=1002") {
		t.Fatalf("reload not logged:\n%s", g.stderr)
	}

	// Half a renewal: the new certificate beside the old key. SIGHUP
	// keeps the pair served, and says why.
	c3, k3 := ca.Issue(t, 1003)
	tlscerttest.WriteFile(t, certFile, c3)
	if err := g.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !g.stderr.waitFor("tls certificate not reloaded", g.exited) {
		t.Fatalf("mismatched pair not reported:\n%s", g.stderr)
	}
	if got := servedSerial(t, addr, tc); got != 1002 {
		t.Fatalf("serial %d after a mismatched pair, want 1002 still", got)
	}
	tlscerttest.WriteFile(t, keyFile, k3)
	if err := g.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitSerial(t, addr, tc, 1003)
	if strings.Contains(g.stderr.String(), "PRIVATE KEY") {
		t.Fatalf("key material in the log:\n%s", g.stderr)
	}
	select {
	case <-g.exited:
		t.Fatalf("the gateway exited after SIGHUP:\n%s", g.stderr)
	default:
	}
}

func testTLSFileChange(t *testing.T, bin string, ca *tlscerttest.CA, tc *tls.Config, hc *http.Client) {
	dir, certDir := t.TempDir(), t.TempDir()
	certFile, keyFile := filepath.Join(certDir, "cert.pem"), filepath.Join(certDir, "key.pem")
	ca.Write(t, certFile, keyFile, 2001)
	cfg := filepath.Join(t.TempDir(), "tokengate.yaml")
	conf := fmt.Sprintf("tls:\n  cert: %s\n  key: %s\n  reload_interval: 1s\n", certFile, keyFile)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	startServeClient(t, hc, bin, "https://"+addr, []string{"serve", "--data", dir, "--listen", addr, "--config", cfg},
		"TOKENGATE_ADMIN_PASSWORD="+serveAdminPassword)
	if got := servedSerial(t, addr, tc); got != 2001 {
		t.Fatalf("serial %d, want 2001", got)
	}
	ca.Write(t, certFile, keyFile, 2002)
	waitSerial(t, addr, tc, 2002)
}

// checkSecureSignIn signs in to the web UI at base and checks its cookies.
func checkSecureSignIn(t *testing.T, hc *http.Client, base string) {
	t.Helper()
	page, signIn := webSignIn(t, hc, base, "admin", serveAdminPassword)
	checkCookies(t, "sign-in page", page, "__Host-tokengate_pre=")
	checkCookies(t, "sign-in", signIn, "__Host-tokengate_session=")
}

func checkCookies(t *testing.T, what string, cookies []string, want string) {
	t.Helper()
	found := false
	for _, c := range cookies {
		found = found || strings.HasPrefix(c, want)
		if !strings.Contains(c, "; Secure") {
			t.Errorf("%s: cookie without Secure over TLS: %.40q", what, c)
		}
	}
	if !found {
		t.Errorf("%s: no %s cookie in %d cookies", what, want, len(cookies))
	}
}

// testTLSRefused: a pair that does not load stops serve before it listens
// or creates the data directory, with a message naming the problem.
func testTLSRefused(t *testing.T, bin string, ca *tlscerttest.CA) {
	certDir := t.TempDir()
	certFile, keyFile := filepath.Join(certDir, "cert.pem"), filepath.Join(certDir, "key.pem")
	ca.Write(t, certFile, keyFile, 3001)
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"cert without key":  {[]string{"--tls-cert", certFile}, "give both tls.cert and tls.key"},
		"missing cert file": {[]string{"--tls-cert", filepath.Join(certDir, "none.pem"), "--tls-key", keyFile}, "none.pem"},
		"key for the cert":  {[]string{"--tls-cert", keyFile, "--tls-key", keyFile}, "not a certificate and its key"},
		"http public url":   {[]string{"--tls-cert", certFile, "--tls-key", keyFile, "--public-url", "http://auth.example.test"}, "public_url"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			cmd := exec.Command(bin, append([]string{"serve", "--data", dir, "--listen", freeAddr(t)}, tc.args...)...)
			cmd.Env = hermeticEnv()
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("serve %v: %v\n%s\nwant an error saying %q", tc.args, err, out, tc.want)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Fatalf("the refused start left a data directory (%v)", err)
			}
		})
	}
}
