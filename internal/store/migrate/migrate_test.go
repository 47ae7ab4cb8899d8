package migrate

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadAndPending(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0002_sessions.sql": {Data: []byte("CREATE TABLE b (x int);")},
		"m/0001_init.sql":     {Data: []byte("CREATE TABLE a (x int);")},
		"m/README":            {Data: []byte("not a migration")},
	}
	ms, err := Load(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Name != "0001_init.sql" || ms[1].Version != 2 || ms[1].SQL != "CREATE TABLE b (x int);" {
		t.Fatalf("Load: %+v", ms)
	}
	if Latest(ms) != 2 {
		t.Fatalf("Latest = %d", Latest(ms))
	}
	for current, want := range map[int]int{0: 2, 1: 1, 2: 0} {
		p, err := Pending(ms, current)
		if err != nil || len(p) != want {
			t.Errorf("Pending at %d: %d migrations, %v; want %d", current, len(p), err, want)
		}
	}
	if _, err := Pending(ms, 3); err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		t.Errorf("Pending at a newer version: %v", err)
	}
	msg := Behind(0, ms).Error()
	if !strings.Contains(msg, "version 0") || !strings.Contains(msg, "needs 2") || !strings.Contains(msg, "tokengate migrate") {
		t.Errorf("Behind: %s", msg)
	}
}

func TestLoadRejects(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no number":      {"m/init.sql": {}},
		"zero":           {"m/0000_init.sql": {}},
		"shared version": {"m/0001_a.sql": {}, "m/1_b.sql": {}},
		"empty":          {"m/README": {}},
		"gap":            {"m/0001_a.sql": {}, "m/0003_c.sql": {}},
		"not from one":   {"m/0002_b.sql": {}},
	} {
		if _, err := Load(fsys, "m"); err == nil {
			t.Errorf("%s: Load accepted it", name)
		}
	}
}
