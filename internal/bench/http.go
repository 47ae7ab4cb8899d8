package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Target is the gateway under load and the credentials a scenario uses.
type Target struct {
	BaseURL      string // e.g. http://127.0.0.1:8080
	ClientID     string
	ClientSecret string // empty for a public client
	Username     string
	Password     string
	HTTP         *http.Client
	// Path is what the proxy and get scenarios request (default "/").
	Path string
	// Bucket is the Sync Gateway bucket of the syncgw dialect (default
	// "whitespace").
	Bucket string
	// NetHTTP sends requests with net/http's client even to plain-http
	// targets (https targets always use it); by default those get the
	// leaner rawConn.
	NetHTTP bool

	rawAddr, rawHost, rawPrefix string // set by New for plain-http targets
}

// NewHTTPClient returns a client whose transport keeps one idle
// connection per worker, so a run measures requests, not TCP handshakes.
func NewHTTPClient(concurrency int) *http.Client {
	tr := &http.Transport{
		Proxy:               nil, // never through an HTTP proxy: loopback targets
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        concurrency * 2,
		MaxIdleConnsPerHost: concurrency * 2,
		MaxConnsPerHost:     0,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// StatusError is a response with an unexpected status.
type StatusError struct {
	Status int
	Body   string // the start of the body, for diagnosis (never tokens: error bodies)
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body)
}

// Recoverer is implemented by workers that must start over after a failed
// request (a refresh chain broken by an error signs on again). The runner
// calls it outside the timed section.
type Recoverer interface {
	Recover(ctx context.Context) error
}

// conn is what every HTTP worker shares: the target, a reusable body
// buffer and the precomputed client authentication.
type conn struct {
	t     *Target
	basic string // "Basic ..." or ""
	buf   bytes.Buffer
	raw   *rawConn // nil: net/http
	hbuf  []byte
}

func newConn(t *Target) *conn {
	c := &conn{t: t}
	if t.rawAddr != "" {
		c.raw = newRawConn(t.rawAddr, t.rawHost)
	}
	if t.ClientSecret != "" {
		// RFC 6749 §2.3.1: id and secret are form-urlencoded, then Basic.
		raw := url.QueryEscape(t.ClientID) + ":" + url.QueryEscape(t.ClientSecret)
		c.basic = "Basic " + base64.StdEncoding.EncodeToString([]byte(raw))
	}
	return c
}

// form adds the client id to a form when the client is public.
func (c *conn) form(v url.Values) string {
	if c.basic == "" && c.t.ClientID != "" {
		v.Set("client_id", c.t.ClientID)
	}
	return v.Encode()
}

// do sends a request and reads the whole body into c.buf.
func (c *conn) do(ctx context.Context, method, path, contentType, body string, header http.Header) (int, error) {
	if c.raw != nil {
		return c.doRaw(ctx, method, path, contentType, body, header)
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.t.BaseURL+path, rd)
	if err != nil {
		return 0, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.basic != "" && header.Get("Authorization") == "" {
		req.Header.Set("Authorization", c.basic)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.t.HTTP.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	c.buf.Reset()
	if _, err := c.buf.ReadFrom(resp.Body); err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		b := c.buf.String()
		if len(b) > 200 {
			b = b[:200]
		}
		return resp.StatusCode, &StatusError{Status: resp.StatusCode, Body: b}
	}
	return resp.StatusCode, nil
}

func (c *conn) doRaw(ctx context.Context, method, path, contentType, body string, header http.Header) (int, error) {
	h := c.hbuf[:0]
	if contentType != "" {
		h = append(h, "Content-Type: "...)
		h = append(h, contentType...)
		h = append(h, "\r\n"...)
	}
	if c.basic != "" && header.Get("Authorization") == "" {
		h = append(h, "Authorization: "...)
		h = append(h, c.basic...)
		h = append(h, "\r\n"...)
	}
	h = append(h, headerBytes(header)...)
	c.hbuf = h
	status, err := c.raw.do(ctx, method, c.t.rawPrefix+path, h, body, &c.buf)
	if err != nil {
		return status, err
	}
	if status != http.StatusOK {
		b := c.buf.String()
		if len(b) > 200 {
			b = b[:200]
		}
		return status, &StatusError{Status: status, Body: b}
	}
	return status, nil
}

const formType = "application/x-www-form-urlencoded"

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// passwordGrant signs on through POST /oauth2/token (RFC 6749 §4.3).
func (c *conn) passwordGrant(ctx context.Context) (int, tokenResponse, error) {
	var tr tokenResponse
	body := c.form(url.Values{"grant_type": {"password"}, "username": {c.t.Username}, "password": {c.t.Password}})
	status, err := c.do(ctx, http.MethodPost, "/oauth2/token", formType, body, nil)
	if err != nil {
		return status, tr, err
	}
	if err := json.Unmarshal(c.buf.Bytes(), &tr); err != nil || tr.AccessToken == "" {
		return status, tr, errors.New("token response without access_token")
	}
	return status, tr, nil
}

// Scenario names accepted by New.
const (
	ScenarioRefresh    = "refresh"
	ScenarioSignOn     = "signon"
	ScenarioIntrospect = "introspect"
	// ScenarioProxy sends GETs with a bearer access token through a proxy
	// route; ScenarioGet sends the same GETs without a token, to measure
	// the upstream directly and so the proxy's added latency.
	ScenarioProxy = "proxy"
	ScenarioGet   = "get"
)

// Dialects of the refresh scenario.
const (
	DialectOAuth2 = "oauth2" // rotating, POST /oauth2/token
	DialectCore   = "core"   // stable, GET /api/login/refresh
	DialectSyncGW = "syncgw" // stable, POST /{bucket}/_oidc_refresh
)

// New returns the scenario called name against t.
func New(name, dialect string, t *Target) (Scenario, error) {
	if t.HTTP == nil {
		return nil, errors.New("bench: target has no HTTP client")
	}
	t.BaseURL = strings.TrimRight(t.BaseURL, "/")
	if u, err := url.Parse(t.BaseURL); err == nil && u.Scheme == "http" && !t.NetHTTP {
		t.rawHost, t.rawPrefix = u.Host, u.EscapedPath()
		t.rawAddr = u.Host
		if u.Port() == "" {
			t.rawAddr = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	switch name {
	case ScenarioRefresh:
		switch dialect {
		case "", DialectOAuth2:
			return &refreshScenario{t: t}, nil
		case DialectCore, DialectSyncGW:
			if t.Bucket == "" {
				t.Bucket = "whitespace"
			}
			return &stableScenario{t: t, dialect: dialect}, nil
		default:
			return nil, fmt.Errorf("bench: unknown refresh dialect %q (want oauth2, core or syncgw)", dialect)
		}
	case ScenarioSignOn:
		return &signOnScenario{t: t}, nil
	case ScenarioIntrospect:
		if t.ClientSecret == "" {
			return nil, errors.New("bench: introspection needs a confidential client (a client secret)")
		}
		return &introspectScenario{t: t}, nil
	case ScenarioProxy, ScenarioGet:
		if t.Path == "" {
			t.Path = "/"
		}
		if !strings.HasPrefix(t.Path, "/") {
			return nil, fmt.Errorf("bench: path %q must start with /", t.Path)
		}
		return &getScenario{t: t, auth: name == ScenarioProxy}, nil
	default:
		return nil, fmt.Errorf("bench: unknown scenario %q", name)
	}
}

// refreshScenario chains rotating refreshes through POST /oauth2/token:
// each worker owns one session and always presents its latest token.
type refreshScenario struct{ t *Target }

func (s *refreshScenario) Name() string { return "refresh (oauth2, rotating)" }

func (s *refreshScenario) NewWorker(ctx context.Context, id int) (Worker, error) {
	w := &refreshWorker{c: newConn(s.t)}
	return w, w.Recover(ctx)
}

type refreshWorker struct {
	c  *conn
	rt string
}

func (w *refreshWorker) Recover(ctx context.Context) error {
	_, tr, err := w.c.passwordGrant(ctx)
	if err != nil {
		return fmt.Errorf("sign on: %w", err)
	}
	if tr.RefreshToken == "" {
		return errors.New("sign on gave no refresh token: is the bench user refresh-enabled?")
	}
	w.rt = tr.RefreshToken
	return nil
}

func (w *refreshWorker) Do(ctx context.Context) (int, error) {
	body := w.c.form(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {w.rt}})
	status, err := w.c.do(ctx, http.MethodPost, "/oauth2/token", formType, body, nil)
	if err != nil {
		return status, err
	}
	rt, ok := jsonString(w.c.buf.Bytes(), "refresh_token")
	if !ok || rt == "" {
		return status, errors.New("refresh response without refresh_token")
	}
	w.rt = rt
	return status, nil
}

// signOnScenario sends password grants: each one hashes the password
// (argon2id) and starts a session.
type signOnScenario struct{ t *Target }

func (s *signOnScenario) Name() string { return "signon (oauth2 password grant)" }

func (s *signOnScenario) NewWorker(ctx context.Context, id int) (Worker, error) {
	return &signOnWorker{c: newConn(s.t)}, nil
}

type signOnWorker struct{ c *conn }

func (w *signOnWorker) Do(ctx context.Context) (int, error) {
	status, _, err := w.c.passwordGrant(ctx)
	return status, err
}

// introspectScenario asks POST /oauth2/introspect about one access token,
// authenticated as a confidential client (RFC 7662 §2.1).
type introspectScenario struct {
	t    *Target
	once sync.Once
	tok  string
	err  error
}

func (s *introspectScenario) Name() string { return "introspect (oauth2, access token)" }

func (s *introspectScenario) NewWorker(ctx context.Context, id int) (Worker, error) {
	s.once.Do(func() {
		_, tr, err := newConn(s.t).passwordGrant(ctx)
		s.tok, s.err = tr.AccessToken, err
	})
	if s.err != nil {
		return nil, fmt.Errorf("sign on: %w", s.err)
	}
	c := newConn(s.t)
	return &introspectWorker{c: c, body: url.Values{"token": {s.tok}}.Encode()}, nil
}

type introspectWorker struct {
	c    *conn
	body string
}

var activeTrue = []byte(`"active":true`)

func (w *introspectWorker) Do(ctx context.Context) (int, error) {
	status, err := w.c.do(ctx, http.MethodPost, "/oauth2/introspect", formType, w.body, nil)
	if err != nil {
		return status, err
	}
	if !bytes.Contains(w.c.buf.Bytes(), activeTrue) {
		return status, errors.New("introspection answered active:false")
	}
	return status, nil
}

// jsonString extracts a top-level string member of a JSON object, without
// decoding the rest; a generator spending its CPU on JSON would take it
// from the server it shares the machine with.
func jsonString(b []byte, key string) (string, bool) {
	var m map[string]json.RawMessage
	if i := bytes.Index(b, []byte(`"`+key+`":"`)); i >= 0 {
		rest := b[i+len(key)+4:]
		if j := bytes.IndexByte(rest, '"'); j >= 0 && bytes.IndexByte(rest[:j], '\\') < 0 {
			return string(rest[:j]), true
		}
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return "", false
	}
	var s string
	if err := json.Unmarshal(m[key], &s); err != nil {
		return "", false
	}
	return s, true
}

// stableScenario refreshes stable sessions (the same refresh token each
// time) through the Core or Sync Gateway dialect. Each worker signs on
// through Core's POST /api/login, whose sessions are stable.
type stableScenario struct {
	t       *Target
	dialect string
}

func (s *stableScenario) Name() string { return "refresh (" + s.dialect + ", stable)" }

func (s *stableScenario) NewWorker(ctx context.Context, id int) (Worker, error) {
	c := newConn(s.t)
	c.basic = "" // Core and Sync Gateway know no OAuth clients
	body, _ := json.Marshal(map[string]string{"username": s.t.Username, "password": s.t.Password})
	if _, err := c.do(ctx, http.MethodPost, "/api/login", "application/json", string(body), nil); err != nil {
		return nil, fmt.Errorf("core sign on: %w", err)
	}
	var tr tokenResponse
	if err := json.Unmarshal(c.buf.Bytes(), &tr); err != nil || tr.RefreshToken == "" {
		return nil, errors.New("core sign on gave no refresh token: is the bench user refresh-enabled?")
	}
	w := &stableWorker{c: c, dialect: s.dialect}
	switch s.dialect {
	case DialectCore:
		w.header = http.Header{"Authorization": {"Bearer " + tr.RefreshToken}}
	default:
		w.path = "/" + url.PathEscape(s.t.Bucket) + "/_oidc_refresh"
		w.body = url.Values{"refresh_token": {tr.RefreshToken}}.Encode()
	}
	return w, nil
}

type stableWorker struct {
	c       *conn
	dialect string
	header  http.Header
	path    string
	body    string
}

func (w *stableWorker) Do(ctx context.Context) (int, error) {
	var status int
	var err error
	if w.dialect == DialectCore {
		status, err = w.c.do(ctx, http.MethodGet, "/api/login/refresh", "", "", w.header)
	} else {
		status, err = w.c.do(ctx, http.MethodPost, w.path, formType, w.body, nil)
	}
	if err != nil {
		return status, err
	}
	key := "access_token"
	if w.dialect == DialectSyncGW {
		key = "id_token"
	}
	if tok, ok := jsonString(w.c.buf.Bytes(), key); !ok || tok == "" {
		return status, errors.New("refresh response without " + key)
	}
	return status, nil
}

// getScenario sends GET Path, with a bearer access token (through the
// proxy) or without (to the upstream directly).
type getScenario struct {
	t    *Target
	auth bool
	once sync.Once
	tok  string
	err  error
}

func (s *getScenario) Name() string {
	if s.auth {
		return "proxy (GET " + s.t.Path + " with a bearer token)"
	}
	return "get (GET " + s.t.Path + ", no token)"
}

func (s *getScenario) NewWorker(ctx context.Context, id int) (Worker, error) {
	c := newConn(s.t)
	w := &getWorker{c: c, path: s.t.Path}
	if s.auth {
		// One token for every worker: the proxy sees it first once, then
		// finds it in its cache (the common case for an API client).
		s.once.Do(func() {
			_, tr, err := newConn(s.t).passwordGrant(ctx)
			s.tok, s.err = tr.AccessToken, err
		})
		if s.err != nil {
			return nil, fmt.Errorf("sign on: %w", s.err)
		}
		w.header = http.Header{"Authorization": {"Bearer " + s.tok}}
	}
	c.basic = ""
	return w, nil
}

type getWorker struct {
	c      *conn
	path   string
	header http.Header
}

func (w *getWorker) Do(ctx context.Context) (int, error) {
	return w.c.do(ctx, http.MethodGet, w.path, "", "", w.header)
}
