package proxy

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strings"

	"github.com/tokengate/tokengate/internal/httpx"
)

// The upstream trusts the identity headers because only the gateway sets
// them. Servers do not agree on what a header name is, though: CGI and
// WSGI (RFC 3875 section 4.1.18) expose "X-Tokengate-User" and
// "X_Tokengate_User" alike as HTTP_X_TOKENGATE_USER, PHP and Apache's CGI
// fold any byte other than a letter or digit, and every server ignores
// case. So the proxy compares names folded the way the most liberal server
// reads them, and drops from the client's request, under any spelling:
//
//   - the gateway's identity headers (everything folding to x-tokengate…)
//     and the credentials and selector it consumes (Authorization, Cookie,
//     UserID);
//   - every header that names a client address or the original request,
//     which frameworks trust for logging, rate limits and access rules
//     (X-Real-IP, True-Client-IP, Forwarded, X-Forwarded-*, …): the
//     gateway sets X-Forwarded-For, -Host and -Proto itself;
//   - every header that overrides the URL or method an upstream routes by
//     (X-Original-URL, X-Rewrite-URL, X-HTTP-Method-Override, …), which
//     would let a client reach a path the route does not lead to.

// droppedHeaders are the folded names of the headers the proxy never
// forwards from a client.
var droppedHeaders = map[string]bool{
	// Consumed by the gateway.
	"authorization": true, "proxy-authorization": true, "cookie": true, "userid": true,
	// Client address.
	"forwarded": true, "forwarded-for": true, "x-forwarded": true, "x-real-ip": true, "true-client-ip": true,
	"x-client-ip": true, "client-ip": true, "cf-connecting-ip": true, "cf-connecting-ipv6": true,
	"fastly-client-ip": true, "x-cluster-client-ip": true, "x-originating-ip": true, "x-remote-ip": true,
	"x-remote-addr": true, "x-proxyuser-ip": true, "x-envoy-external-address": true, "x-host": true,
	"x-url-scheme": true, "front-end-https": true,
	// URL and method overrides.
	"x-http-method": true, "x-http-method-override": true, "x-method-override": true,
	"x-http-host-override": true, "x-envoy-original-path": true,
}

// droppedPrefixes are folded name prefixes the proxy never forwards.
var droppedPrefixes = []string{
	"x-tokengate",  // the identity headers, whatever follows
	"x-forwarded-", // -for, -host, -proto, -port, -prefix, -uri, -ssl, …
	"x-original-",  // -url, -uri, -host, -method
	"x-rewrite-",   // -url
	"x-override-",  // -url
}

// foldName appends to buf the header name k as the most liberal server
// reads it: lower case, every run of bytes other than letters and digits
// as one '-', with none leading or trailing.
func foldName(buf []byte, k string) []byte {
	sep := false
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		default:
			sep = true
			continue
		}
		if sep && len(buf) > 0 {
			buf = append(buf, '-')
		}
		sep = false
		buf = append(buf, c)
	}
	return buf
}

// dropped reports whether the client header k is never forwarded.
func dropped(k string) bool {
	var arr [64]byte
	f := foldName(arr[:0], k)
	if droppedHeaders[string(f)] {
		return true
	}
	for _, p := range droppedPrefixes {
		if len(f) >= len(p) && string(f[:len(p)]) == p {
			return true
		}
	}
	return false
}

// StripIdentity deletes from h every header a client could use to pose as
// someone or somewhere else: the identity headers, credentials, the
// UserID selector, client-address and URL-override headers, in any
// spelling that some server reads as one of them.
func StripIdentity(h http.Header) {
	for k := range h {
		if dropped(k) {
			delete(h, k)
		}
	}
}

// setForwarded sets the outbound X-Forwarded-Host and -Proto from the
// inbound request and X-Forwarded-For as forwardedFor says. It runs after
// StripIdentity has dropped every forwarding header the client sent.
func setForwarded(pr *httputil.ProxyRequest, trusted []netip.Prefix) {
	pr.SetXForwarded()
	peer, _, err := net.SplitHostPort(pr.In.RemoteAddr)
	if err != nil {
		return // SetXForwarded set none either
	}
	pr.Out.Header.Set("X-Forwarded-For", forwardedFor(peer, pr.In.Header["X-Forwarded-For"], trusted))
}

// forwardedFor is the X-Forwarded-For the upstream gets for a request
// from peer whose own X-Forwarded-For lines are chain: the chain extended
// with the peer when the peer is a trusted proxy, else the peer alone (a
// client can't choose the address an upstream sees).
func forwardedFor(peer string, chain []string, trusted []netip.Prefix) string {
	if len(chain) == 0 || !httpx.TrustedAddr(peer, trusted) {
		return peer
	}
	return strings.Join(chain, ", ") + ", " + peer
}

// dropGatewayCookies deletes from an upstream's response every Set-Cookie
// that names one of the gateway's own cookies (a name starting with
// tokengate, also behind the __Host- and __Secure- prefixes, in any case).
// An upstream shares the gateway's origin, so a browser would take such a
// cookie as the gateway's: it could sign the browser in to the web UI as
// someone else, or sign it out. The upstream's own cookies pass.
func dropGatewayCookies(h http.Header) {
	vs := h["Set-Cookie"]
	if len(vs) == 0 {
		return
	}
	kept := make([]string, 0, len(vs))
	for _, v := range vs {
		name, _, _ := strings.Cut(v, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		name = strings.TrimPrefix(strings.TrimPrefix(name, "__host-"), "__secure-")
		if !strings.HasPrefix(name, "tokengate") {
			kept = append(kept, v)
		}
	}
	if len(kept) == 0 {
		h.Del("Set-Cookie")
		return
	}
	h["Set-Cookie"] = kept
}
