// Package tlscert serves a TLS certificate pair read from PEM files and
// reloads it without a restart: when asked (serve turns SIGHUP into a
// request) and when the files change, so that a renewal written by
// certbot, cert-manager or an operator is served from the next handshake
// on. A pair that does not load, say the certificate already renewed and
// the key not yet, leaves the pair being served in place.
package tlscert

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Reloader holds the certificate pair served; its GetCertificate is the
// tls.Config hook.
type Reloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu  sync.Mutex // one reload at a time
	cur atomic.Pointer[pair]
}

// pair is a loaded certificate and the digest of the files it came from.
type pair struct {
	cert *tls.Certificate
	sum  [sha256.Size]byte
}

// New loads the pair from certFile and keyFile. An error names the file
// and what is wrong with it.
func New(certFile, keyFile string, log *slog.Logger) (*Reloader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: log}
	p, err := r.load()
	if err != nil {
		return nil, err
	}
	r.cur.Store(p)
	if na := p.cert.Leaf.NotAfter; na.Before(time.Now()) {
		log.Warn("tls certificate expired: clients will refuse it until a renewed one is loaded", "cert", certFile, "not_after", na.UTC().Format(time.RFC3339))
	}
	return r, nil
}

// GetCertificate returns the pair loaded last (tls.Config.GetCertificate).
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cur.Load().cert, nil
}

// Leaf is the certificate served.
func (r *Reloader) Leaf() *x509.Certificate { return r.cur.Load().cert.Leaf }

// Reload rereads the files. It reports whether another pair is served
// now; files as they were loaded last change nothing, and files that do
// not load are the error, the pair served staying in place.
func (r *Reloader) Reload() (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := r.load()
	if err != nil {
		return false, err
	}
	if p.sum == r.cur.Load().sum {
		return false, nil
	}
	r.cur.Store(p)
	return true, nil
}

// Watch reloads on every value from hup and every interval, logging each
// pair it starts serving and each that it could not load, until ctx ends.
func (r *Reloader) Watch(ctx context.Context, interval time.Duration, hup <-chan os.Signal) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		why := "file change"
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-hup:
			why = "SIGHUP"
		}
		changed, err := r.Reload()
		switch {
		case err != nil:
			r.log.Warn("tls certificate not reloaded; the one loaded before is still served", "trigger", why, "err", err)
		case changed:
			leaf := r.Leaf()
			r.log.Info("tls certificate reloaded", "trigger", why, "subject", leaf.Subject.String(),
				"serial", leaf.SerialNumber.String(), "not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
		case why == "SIGHUP":
			r.log.Info("tls certificate unchanged", "trigger", why, "cert", r.certFile)
		}
	}
}

func (r *Reloader) load() (*pair, error) {
	certPEM, err := os.ReadFile(r.certFile)
	if err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(r.keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls key: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("tls: %s and %s are not a certificate and its key: %w", r.certFile, r.keyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tls certificate %s: %w", r.certFile, err)
		}
	}
	h := sha256.New()
	h.Write(certPEM)
	h.Write([]byte{0})
	h.Write(keyPEM)
	p := &pair{cert: &cert}
	copy(p.sum[:], h.Sum(nil))
	return p, nil
}
