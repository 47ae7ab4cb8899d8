package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/store/postgres/pgtest"
	"github.com/tokengate/tokengate/internal/token"
)

// TestJoiningNodeWithoutMasterKey starts a node on a PostgreSQL database
// whose signing keys another node sealed, giving it no master key (none in
// the environment, none in its data directory). It must refuse, saying it
// was given none rather than a wrong one, and leave no key of its own
// behind: a master.key made there unseals nothing in the database, and
// would make a later start look like one given a wrong key.
func TestJoiningNodeWithoutMasterKey(t *testing.T) {
	t.Setenv("TOKENGATE_MASTER_KEY", "")
	ctx := context.Background()
	db := pgtest.URL(t)
	open := func(masterKey string) (*app.App, string, error) {
		cfg := config.Default()
		cfg.DataDir = t.TempDir()
		cfg.Database.URL = db
		cfg.PublicURL = "http://gateway.test"
		cfg.Password.MemoryKiB, cfg.Password.Iterations = 8192, 1
		a, err := app.Open(ctx, cfg, nil, app.Options{MasterKey: masterKey})
		return a, cfg.DataDir, err
	}
	first, _, err := open(nodesMasterKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Engine.Bootstrap(ctx, "admin-pass-1"); err != nil {
		t.Fatal(err)
	}
	first.Close()

	a, dir, err := open("")
	if err == nil {
		a.Close()
		t.Fatal("a node without the master key opened the database")
	}
	if msg := err.Error(); !strings.Contains(msg, "no master key") || !strings.Contains(msg, "TOKENGATE_MASTER_KEY") {
		t.Errorf("error %q does not say the node was given no master key and how to give it", msg)
	}
	if _, serr := os.Stat(filepath.Join(dir, token.MasterKeyFile)); !os.IsNotExist(serr) {
		t.Errorf("the refused start left %s behind (stat: %v)", token.MasterKeyFile, serr)
	}

	// A key given but not the one: still said to be the wrong one.
	a, _, err = open("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
	if err == nil {
		a.Close()
		t.Fatal("a node with another master key opened the database")
	}
	if !strings.Contains(err.Error(), "wrong master key") {
		t.Errorf("error %q does not say the master key is wrong", err)
	}
}
