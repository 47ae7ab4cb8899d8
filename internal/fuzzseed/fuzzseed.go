// Package fuzzseed gives the fuzz targets one way to declare their seed
// corpus: each named seed is added to the target (f.Add) and, when
// TOKENGATE_FUZZ_WRITE_SEEDS=1, also written in the `go test fuzz v1`
// format under the package's testdata/fuzz/<target>/seed-<name>, the
// corpus checked in beside the code. go test runs every file there as a
// seed as well, so a crasher the fuzzer found (which Go writes to the
// same directory) stays a regression test once it is committed.
//
//	TOKENGATE_FUZZ_WRITE_SEEDS=1 go test -run '^FuzzX$' ./internal/x
package fuzzseed

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Seed is one seed's values, in the order of the fuzz function's
// arguments after *testing.T.
type Seed []any

// Add adds every seed to f, and writes them to the checked-in corpus when
// TOKENGATE_FUZZ_WRITE_SEEDS=1. Names are short file-name-safe words.
func Add(f *testing.F, seeds map[string]Seed) {
	f.Helper()
	write := os.Getenv("TOKENGATE_FUZZ_WRITE_SEEDS") == "1"
	dir := filepath.Join("testdata", "fuzz", f.Name())
	if write {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			f.Fatal(err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(seeds)) {
		s := seeds[name]
		f.Add(s...)
		if !write {
			continue
		}
		body, err := Encode(s)
		if err != nil {
			f.Fatalf("seed %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "seed-"+name), body, 0o644); err != nil {
			f.Fatal(err)
		}
	}
}

// Encode returns the corpus file of one seed (the format of
// internal/fuzz's marshalCorpusFile for the types the targets use).
func Encode(s Seed) ([]byte, error) {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, v := range s {
		switch x := v.(type) {
		case string:
			fmt.Fprintf(&b, "string(%s)\n", strconv.Quote(x))
		case []byte:
			fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(x)))
		case bool:
			fmt.Fprintf(&b, "bool(%v)\n", x)
		case int:
			fmt.Fprintf(&b, "int(%d)\n", x)
		case int64:
			fmt.Fprintf(&b, "int64(%d)\n", x)
		case uint:
			fmt.Fprintf(&b, "uint(%d)\n", x)
		case uint16:
			fmt.Fprintf(&b, "uint16(%d)\n", x)
		default:
			return nil, fmt.Errorf("fuzzseed: type %T not supported", v)
		}
	}
	return []byte(b.String()), nil
}
