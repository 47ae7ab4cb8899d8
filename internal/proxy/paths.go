package proxy

import (
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"
)

// A route forwards {prefix}rest to {upstream}rest, and the upstream must
// never be led above its base. http.ServeMux redirects a request whose
// path has raw dot segments ("/api/../admin") to the cleaned path, but it
// matches routes on the escaped path, so "/api/%2e%2e/admin" reaches the
// route as it is; an upstream that decodes before it normalises (RFC 3986
// section 6.2.2.2 says it shouldn't, many do), decodes twice, takes '\'
// for '/' (WHATWG URL, IIS), or drops ";params" before resolving ".."
// (Tomcat) then serves /admin. The proxy therefore refuses, with 400, a
// path below the prefix that has, at any depth of percent-decoding, a
// segment "." or ".." (before any ';'), a '/' or '\' inside a segment, a
// NUL, or bytes that are not UTF-8 (overlong encodings of '.' and '/').
// Refusing is simpler to reason about than normalising within the route,
// and no legitimate client needs these paths.

// maxDecodings bounds how many layers of percent-encoding checkPath peels
// off a segment; a segment still encoded after that many is refused.
const maxDecodings = 8

// reasonBadPath is the WSAUTH reason of a refused path. It does not echo
// the path.
const reasonBadPath = "Invalid path: encoded dot segments, encoded slashes and backslashes are not allowed"

var errBadPath = errors.New("path with dot segments or encoded separators")

// checkPath returns errBadPath unless u's path, as escaped on the wire,
// starts with prefix and the rest is safe to join below the upstream's
// base.
func checkPath(u *url.URL, prefix string) error {
	esc := u.EscapedPath()
	if !strings.HasPrefix(esc, prefix) {
		// The prefix itself was percent-encoded ("/%61pi/"): the rest
		// can't be cut from the escaped path reliably.
		return errBadPath
	}
	for seg := range strings.SplitSeq(esc[len(prefix):], "/") {
		if !safeSegment(seg) {
			return errBadPath
		}
	}
	return nil
}

// safeSegment reports whether one escaped path segment stays one segment,
// and not a dot segment, however many times it is percent-decoded.
func safeSegment(seg string) bool {
	// The last round only checks the fully decoded segment: it is stable.
	for range maxDecodings + 1 {
		if strings.ContainsAny(seg, "/\\\x00") || !utf8.ValidString(seg) {
			return false
		}
		if name, _, _ := strings.Cut(seg, ";"); name == "." || name == ".." {
			return false
		}
		dec := unescapeLenient(seg)
		if dec == seg {
			return true
		}
		seg = dec
	}
	return false
}

// unescapeLenient decodes every valid %XX of s and leaves any other '%'
// as it is, as the most lenient decoder does.
func unescapeLenient(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
