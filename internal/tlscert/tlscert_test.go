package tlscert_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/tlscert"
	"github.com/tokengate/tokengate/internal/tlscert/tlscerttest"
)

func TestReload(t *testing.T) {
	ca := tlscerttest.NewCA(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca.Write(t, certFile, keyFile, 101)
	r, err := tlscert.New(certFile, keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	serial := func() int64 {
		t.Helper()
		c, err := r.GetCertificate(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf.SerialNumber.Int64()
	}
	if got := serial(); got != 101 {
		t.Fatalf("serial %d, want 101", got)
	}
	if changed, err := r.Reload(); changed || err != nil {
		t.Fatalf("reload of unchanged files: changed %t, %v", changed, err)
	}

	// A renewal half written: the new certificate beside the old key.
	c2, k2 := ca.Issue(t, 102)
	tlscerttest.WriteFile(t, certFile, c2)
	if changed, err := r.Reload(); changed || err == nil || !strings.Contains(err.Error(), "not a certificate and its key") {
		t.Fatalf("reload of a mismatched pair: changed %t, %v; want an error", changed, err)
	}
	if got := serial(); got != 101 {
		t.Fatalf("after a failed reload serial %d, want the old 101", got)
	}
	tlscerttest.WriteFile(t, keyFile, k2)
	if changed, err := r.Reload(); !changed || err != nil {
		t.Fatalf("reload of the renewed pair: changed %t, %v", changed, err)
	}
	if got := serial(); got != 102 {
		t.Fatalf("serial %d, want 102", got)
	}

	// A file gone: an error naming it, the pair served stays.
	os.Remove(keyFile)
	if _, err := r.Reload(); err == nil || !strings.Contains(err.Error(), keyFile) {
		t.Fatalf("reload without the key file: %v", err)
	}
	if got := serial(); got != 102 {
		t.Fatalf("serial %d, want 102", got)
	}
}

func TestNewRefuses(t *testing.T) {
	ca := tlscerttest.NewCA(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca.Write(t, certFile, keyFile, 7)
	for name, tc := range map[string]struct{ cert, key, want string }{
		"missing cert":    {filepath.Join(dir, "nope.pem"), keyFile, "nope.pem"},
		"missing key":     {certFile, filepath.Join(dir, "nokey.pem"), "nokey.pem"},
		"key as the cert": {keyFile, keyFile, "not a certificate and its key"},
		"cert as the key": {certFile, certFile, "not a certificate and its key"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := tlscert.New(tc.cert, tc.key, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v; want an error with %q", err, tc.want)
			}
		})
	}
}

// TestWatch: a changed pair is picked up by the periodic check, a SIGHUP
// value reloads at once; each logged without key material.
func TestWatch(t *testing.T) {
	ca := tlscerttest.NewCA(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca.Write(t, certFile, keyFile, 1)
	// Written by Watch, read after it returned.
	var logs bytes.Buffer
	r, err := tlscert.New(certFile, keyFile, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hup := make(chan os.Signal)
	done := make(chan struct{})
	// An interval no test run reaches: only hup reloads.
	go func() { r.Watch(ctx, time.Hour, hup); close(done) }()
	c2, k2 := ca.Issue(t, 2)
	tlscerttest.WriteFile(t, certFile, c2)
	tlscerttest.WriteFile(t, keyFile, k2)
	hup <- os.Interrupt // any value: a request to reload
	hup <- os.Interrupt // the second is taken only after the first reload
	if got := r.Leaf().SerialNumber.Int64(); got != 2 {
		t.Fatalf("after SIGHUP serial %d, want 2", got)
	}
	cancel()
	<-done
	out := logs.String()
	if !strings.Contains(out, "tls certificate reloaded") || !strings.Contains(out, "serial=2") || !strings.Contains(out, "trigger=SIGHUP") {
		t.Fatalf("log:\n%s", out)
	}
	if strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, string(k2[40:80])) {
		t.Fatalf("log carries key material:\n%s", out)
	}
}
