package main

import (
	"context"
	"testing"

	"github.com/tokengate/tokengate/internal/app"
	"github.com/tokengate/tokengate/internal/config"
)

// openTestApp opens the data directory dir as the commands do, on the
// default configuration as mutate (if any) changes it. The caller closes
// it: some tests close it before the commands they run open it again.
func openTestApp(t *testing.T, dir string, mutate func(*config.Config)) *app.App {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dir
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := app.Open(context.Background(), cfg, nil, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// fastHashing makes password hashing cheap, for tests that create users.
func fastHashing(cfg *config.Config) {
	cfg.Password.MemoryKiB, cfg.Password.Iterations = 8*1024, 1
}
