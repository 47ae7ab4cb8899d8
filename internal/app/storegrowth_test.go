package app_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/config"
)

// TestUnauthenticatedInputDoesNotGrowTheStore: failed sign-ons with huge
// user names, in every password dialect and each from an address of its
// own (so that no throttle refuses them first), leave the database file
// about as it was. The size is the real SQLite file's after the node
// closed (which checkpoints the write-ahead log into it).
func TestUnauthenticatedInputDoesNotGrowTheStore(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Password.MemoryKiB, cfg.Password.Iterations = 8192, 1
	db := filepath.Join(cfg.DataDir, "tokengate.db")
	serve := func(fn func(url string)) {
		t.Helper()
		a, err := app.Open(ctx, cfg, nil, app.Options{MasterKey: strings.Repeat("k", 43) + "="})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Engine.Bootstrap(ctx, "admin-password"); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(a.Handler())
		fn(srv.URL)
		srv.Close()
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
	}
	size := func() int64 {
		t.Helper()
		fi, err := os.Stat(db)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(db + "-wal"); err == nil {
			t.Fatalf("the write-ahead log outlived the node; the file size would not tell")
		}
		return fi.Size()
	}
	huge := strings.Repeat("x", 60<<10)
	send := func(base string, i int) {
		t.Helper()
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 2, byte(i+1))}}
		c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
		var req *http.Request
		switch i % 3 {
		case 0:
			form := url.Values{"grant_type": {"password"}, "client_id": {"tokengate"}, "username": {huge}, "password": {"wrong-password"}}
			req, _ = http.NewRequest("POST", base+"/oauth2/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		case 1:
			b, _ := json.Marshal(map[string]string{"username": huge, "password": "wrong-password"})
			req, _ = http.NewRequest("POST", base+"/api/login", strings.NewReader(string(b)))
			req.Header.Set("Content-Type", "application/json")
		default:
			b, _ := json.Marshal(map[string]any{"parameters": []map[string]string{{"name": "username", "value": huge}, {"name": "password", "value": "wrong-password"}}})
			req, _ = http.NewRequest("POST", base+"/ags/signOn", strings.NewReader(string(b)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("x-auth-service-id", "password")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("sign-on %d with a 60 KB user name: status %d", i, resp.StatusCode)
		}
	}

	serve(func(string) {})
	before := size()
	serve(func(base string) {
		for i := range 50 {
			send(base, i)
		}
	})
	after := size()
	// Each address may leave a record of its failures (tens of bytes);
	// nothing of the user names.
	if grown := after - before; grown > 32<<10 {
		t.Fatalf("50 failed sign-ons with 60 KB user names grew the database from %d to %d bytes (+%d)", before, after, grown)
	}
	t.Logf("database %d bytes before, %d after", before, after)
}
