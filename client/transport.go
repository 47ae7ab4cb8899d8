package client

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"

	"golang.org/x/oauth2"
)

// UserIDHeader is the header that selects a membership (MU…) of a user in
// several organisations.
const UserIDHeader = "UserID"

// HTTPClient returns an *http.Client whose requests carry the access token
// (renewed before it expires) and the UserID; a redirect to another host
// gets neither. A request answered 401 is
// sent once more with a renewed token when its body can be replayed
// (GetBody is set, as http.NewRequest does for in-memory bodies). The
// proxy's "Valid UserID must be supplied" answer is returned as an error
// matching ErrUserIDRequired.
func (c *Client) HTTPClient() *http.Client {
	c.apiOnce.Do(func() { c.api = c.newAPIClient() })
	return c.api
}

func (c *Client) newAPIClient() *http.Client {
	base := c.hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	return &http.Client{
		Transport:     &transport{c: c, base: base},
		CheckRedirect: c.hc.CheckRedirect,
		Jar:           c.hc.Jar,
		Timeout:       c.hc.Timeout,
	}
}

// Do sends an authenticated request, as HTTPClient().Do does.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	return c.HTTPClient().Do(req)
}

// NewRequest returns a request for a path on the gateway (or a full URL).
func (c *Client) NewRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	if !strings.Contains(path, "://") {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		path = c.base + path
	}
	return http.NewRequestWithContext(ctx, method, path, body)
}

type transport struct {
	c    *Client
	base http.RoundTripper
}

// maxPeek bounds how much of a 401 body is read to tell the WSAUTH answer
// from a token refusal.
const maxPeek = 64 << 10

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if prev := req.Response; prev != nil && prev.Request != nil && prev.Request.URL.Host != req.URL.Host {
		// A redirect to another host gets no token, as http.Client drops
		// the Authorization header a caller set itself.
		return t.base.RoundTrip(req)
	}
	ctx := req.Context()
	tok, gen, err := t.c.token(ctx)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.base.RoundTrip(t.authorize(req, tok.AccessToken, req.Body))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	peek, err := peekBody(resp)
	if err != nil {
		return nil, err
	}
	if isWSAUTH(peek) {
		resp.Body.Close()
		return nil, wrapKind(ErrUserIDRequired, parseServerError(resp.StatusCode, peek))
	}
	var body io.ReadCloser
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return resp, nil // not replayable: the caller sees the 401
		}
		if body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	// The token was refused: renew it (unless someone already has) and
	// try once more.
	tok, _, err = t.c.renew(ctx, gen, true)
	if err != nil {
		resp.Body.Close()
		if body != nil {
			body.Close()
		}
		return nil, err
	}
	resp.Body.Close()
	resp, err = t.base.RoundTrip(t.authorize(req, tok.AccessToken, body))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if peek, err = peekBody(resp); err != nil {
		return nil, err
	}
	if isWSAUTH(peek) {
		resp.Body.Close()
		return nil, wrapKind(ErrUserIDRequired, parseServerError(resp.StatusCode, peek))
	}
	return resp, nil
}

// authorize clones req with the token and the UserID; a RoundTripper must
// not change the request it is given.
func (t *transport) authorize(req *http.Request, tok string, body io.ReadCloser) *http.Request {
	r := req.Clone(req.Context())
	r.Body = body
	r.Header.Set("Authorization", "Bearer "+tok)
	if t.c.cfg.UserID != "" && r.Header.Get(UserIDHeader) == "" {
		r.Header.Set(UserIDHeader, t.c.cfg.UserID)
	}
	return r
}

// peekBody reads the start of a response body and puts it back.
func peekBody(resp *http.Response) ([]byte, error) {
	peek, err := io.ReadAll(io.LimitReader(resp.Body, maxPeek))
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(peek), resp.Body), resp.Body}
	return peek, nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// TokenSource returns the client as a golang.org/x/oauth2.TokenSource, so
// it plugs into code that takes one (oauth2.NewClient, gRPC credentials…).
// Each Token call returns a valid token, renewed when due.
func (c *Client) TokenSource() oauth2.TokenSource { return tokenSource{c} }

type tokenSource struct{ c *Client }

func (s tokenSource) Token() (*oauth2.Token, error) {
	t, _, err := s.c.token(context.Background())
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: "Bearer", RefreshToken: t.RefreshToken, Expiry: t.Expiry}, nil
}

var (
	_ http.RoundTripper  = (*transport)(nil)
	_ oauth2.TokenSource = tokenSource{}
)
