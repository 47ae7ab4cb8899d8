package proxy

import (
	"net/url"
	"path"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tokengate/tokengate/internal/fuzzseed"
)

// FuzzCheckPath checks the path rule against an oracle of its own: the
// rest of an accepted path, percent-decoded any number of times by a
// decoder written here, and read by every kind of upstream (one that
// drops ";params" before resolving dot segments, one that takes '\' for
// '/'), never leads above the upstream's base, never gains or loses a
// segment, and is UTF-8 without NUL. And a rest made only of plain
// characters is always accepted, so the rule refuses no ordinary path.
func FuzzCheckPath(f *testing.F) {
	fuzzseed.Add(f, map[string]fuzzseed.Seed{
		"plain":           {"risks/1"},
		"dotdot":          {"../admin"},
		"enc-dotdot":      {"%2e%2e/admin"},
		"double-enc":      {"%252e%252e/admin"},
		"semicolon":       {"..;/admin"},
		"backslash":       {"a%5c..%5cadmin"},
		"enc-slash":       {"a%2F..%2F..%2Fadmin"},
		"overlong":        {"%c0%ae%c0%ae/admin"},
		"nul":             {"a%00b"},
		"deep":            {"%25252525252525252e%25252525252525252e/x"},
		"stray-percent":   {"100%/a%zz%2"},
		"unicode":         {"caf%C3%A9/%E2%80%AE"},
		"empty-segments":  {"//x///"},
		"dots-in-name":    {"...;x/..x/x.."},
		"query-lookalike": {"a%3Fb=..%2F"},
	})
	f.Fuzz(func(t *testing.T, rest string) {
		u, err := url.ParseRequestURI("/api/" + rest)
		if err != nil {
			return
		}
		esc := u.EscapedPath()
		ok := checkPath(u, "/api/") == nil
		if plain(esc) && !ok {
			t.Fatalf("checkPath refused the ordinary path %q", esc)
		}
		if !ok {
			return
		}
		r := esc[len("/api/"):]
		segs := strings.Count(r, "/")
		for depth := 0; ; depth++ {
			if strings.ContainsRune(r, 0) || !utf8.ValidString(r) {
				t.Fatalf("accepted %q: decoded %d times it is %q (NUL or not UTF-8)", esc, depth, r)
			}
			if n := strings.Count(r, "/"); n != segs {
				t.Fatalf("accepted %q: decoded %d times it has %d separators, not %d", esc, depth, n, segs)
			}
			for _, reading := range []string{r, strings.ReplaceAll(r, `\`, "/"), dropParams(r), dropParams(strings.ReplaceAll(r, `\`, "/"))} {
				if j := path.Join("/base", reading); j != "/base" && !strings.HasPrefix(j, "/base/") {
					t.Fatalf("accepted %q: decoded %d times it leads to %q", esc, depth, j)
				}
			}
			next := oracleUnescape(r)
			if next == r {
				break
			}
			if depth > maxDecodings {
				t.Fatalf("accepted %q, still encoded after %d decodings", esc, depth)
			}
			r = next
		}
	})
}

// plain reports whether a rest holds only unreserved characters and '/'
// and no segment is all dots.
func plain(esc string) bool {
	r := strings.TrimPrefix(esc, "/api/")
	for _, seg := range strings.Split(r, "/") {
		if strings.Trim(seg, ".") == "" && seg != "" {
			return false
		}
		for _, c := range seg {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '~' || c == '.') {
				return false
			}
		}
	}
	return strings.HasPrefix(esc, "/api/")
}

// dropParams removes every ";params" from each segment, as Tomcat does
// before it resolves dot segments.
func dropParams(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		s, _, _ = strings.Cut(s, ";")
		segs[i] = s
	}
	return strings.Join(segs, "/")
}

// oracleUnescape decodes every valid %XX of s, leaving any other '%': the
// most lenient decoder, written apart from unescapeLenient.
func oracleUnescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil && !strings.ContainsAny(s[i+1:i+3], "+-") {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
