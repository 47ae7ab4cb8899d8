package dialecttest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Golden compares a JSON body, indented and with the values of the
// redact keys (at any depth) replaced by "<key>", with
// testdata/<name>.golden; -update rewrites the file.
func Golden(t *testing.T, name string, body []byte, redact ...string) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("golden %s: body is not JSON: %v: %s", name, err, body)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(redactJSON(v, redact)); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run with -update to create it)", name, err)
	}
	if string(want) != string(got) {
		t.Errorf("wire shape %s changed:\n--- want\n%s--- got\n%s", name, want, got)
	}
}

func redactJSON(v any, keys []string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if slices.Contains(keys, k) {
				x[k] = "<" + k + ">"
			} else {
				x[k] = redactJSON(e, keys)
			}
		}
	case []any:
		for i, e := range x {
			x[i] = redactJSON(e, keys)
		}
	}
	return v
}
