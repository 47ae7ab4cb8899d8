package apptest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
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
	if err := encode(&buf, redactJSON(v, redact)); err != nil {
		t.Fatal(err)
	}
	compare(t, name, buf.Bytes())
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

// Responses collects named responses (status, the headers a client acts
// on, body) for one golden file, testdata/<file>.golden, compared when the
// test ends; -update rewrites it. Values that change from run to run are
// replaced by placeholders and the server's URL by {{ISSUER}}.
type Responses struct {
	t       *testing.T
	s       *Server
	file    string
	entries map[string]any
}

// GoldenResponses starts the golden file testdata/<file>.golden of s's
// responses; Add records them.
func (s *Server) GoldenResponses(t *testing.T, file string) *Responses {
	g := &Responses{t: t, s: s, file: file, entries: map[string]any{}}
	t.Cleanup(g.check)
	return g
}

// goldenHeaders are the response headers a golden entry records.
var goldenHeaders = []string{"Cache-Control", "Content-Type", "WWW-Authenticate", "Allow", "Pragma"}

// Add records a response under name.
func (g *Responses) Add(name string, r Response) {
	entry := map[string]any{"status": r.Status}
	hdr := map[string]string{}
	for _, h := range goldenHeaders {
		if v := r.Header.Get(h); v != "" {
			hdr[h] = v
		}
	}
	entry["headers"] = hdr
	if len(r.Body) > 0 {
		var body any
		if err := json.Unmarshal(r.Body, &body); err != nil {
			entry["body"] = string(r.Body)
		} else {
			entry["body"] = normalise(body, g.s.URL)
		}
	}
	g.entries[name] = entry
}

func (g *Responses) check() {
	if g.t.Failed() {
		return
	}
	keys := make([]string, 0, len(g.entries))
	for k := range g.entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	for _, k := range keys {
		buf.WriteString("== " + k + "\n")
		if err := encode(&buf, g.entries[k]); err != nil {
			g.t.Fatal(err)
		}
	}
	compare(g.t, g.file, buf.Bytes())
}

// volatile names JSON fields whose values change from run to run, with
// their placeholders.
var volatile = map[string]string{
	"access_token": "<jwt>", "refresh_token": "<jwt>", "jti": "<id>", "sid": "<id>", "sub": "<id>",
	"exp": "<unix>", "iat": "<unix>", "nbf": "<unix>", "kid": "<kid>", "x": "<key>", "n": "<key>", "y": "<key>",
	"id_token": "<jwt>", "auth_time": "<unix>", "at_hash": "<hash>", "updated_at": "<unix>",
}

// normalise rewrites a JSON value for a golden file: volatile values become
// placeholders and the server's URL becomes {{ISSUER}}.
func normalise(v any, issuer string) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if p, ok := volatile[k]; ok && x != nil {
				out[k] = p
				continue
			}
			out[k] = normalise(x, issuer)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalise(x, issuer)
		}
		return out
	case string:
		return strings.ReplaceAll(v, issuer, "{{ISSUER}}")
	}
	return v
}

// encode writes v as indented JSON, without HTML escaping.
func encode(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// compare checks got against testdata/<name>.golden, or with -update
// writes it there.
func compare(t *testing.T, name string, got []byte) {
	t.Helper()
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
		t.Fatalf("golden %s: %v (run go test -update to create it)", name, err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("wire shape %s changed (run go test -update and review the diff):\n--- want\n%s--- got\n%s", name, want, got)
	}
}
