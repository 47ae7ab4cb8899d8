// Package core is tokengate's datarhei Core-compatible dialect: the
// liveness check GET /ping, the about endpoint GET /api, POST /api/login (password or an external Auth0/OIDC
// bearer token) and GET /api/login/refresh. It parses Core's request shapes,
// calls the engine and writes Core's response and error shapes; sessions
// use the "core" service's stable refresh policy, so a Core client keeps the
// refresh token it got at login.
package core

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/internal/store"
)

// Service is the engine sign-on service of Core logins.
const Service = "core"

// Subject is what the sub claim of Core's tokens carries: the user name,
// as Core's own tokens do (`"sub":"admin"`) and Core clients read it. It
// is unique only within a tenant (docs/dialects.md).
const Subject = engine.SubjectUserName

// External signs a user on with an external (Auth0/OIDC) token; provided
// by package idp.
type External interface {
	SignOn(ctx context.Context, tenant, service, raw string, req engine.SignOnRequest) (*engine.Grant, error)
	Issuers(tenant string) []config.OIDCIssuer
}

// Handler serves the Core endpoints.
type Handler struct {
	eng     *engine.Engine
	ext     External
	cfg     config.Core
	started time.Time
	log     *slog.Logger
	id      string
}

// New returns the Core handler. ext may be nil (no external sign-on).
func New(eng *engine.Engine, ext External, cfg config.Core, started time.Time, log *slog.Logger) *Handler {
	if cfg.Version == "" {
		cfg.Version = "16.16.0"
	}
	sum := sha256.Sum256([]byte("tokengate core " + eng.Issuer()))
	id := fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	return &Handler{eng: eng, ext: ext, cfg: cfg, started: started, log: log, id: id}
}

// Register mounts the endpoints on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api", h.about)
	mux.HandleFunc("GET /api/{$}", h.about)
	mux.HandleFunc("POST /api/login", h.login)
	mux.HandleFunc("GET /api/login/refresh", h.refresh)
	mux.HandleFunc("GET /ping", ping)
	mux.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD")
		h.writeError(r.Context(), w, &Error{Code: http.StatusMethodNotAllowed, Message: "Method Not Allowed", Details: []string{"/ping takes GET"}})
	})
}

// ping is Core's unauthenticated liveness check: "pong" as text, which
// Core clients call to see that the server is up before they log in.
func ping(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("pong"))
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// login signs on with {"username","password"}, or, with no body, with the
// external token of the Authorization header.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	req := engine.SignOnRequest{Tenant: h.cfg.Tenant, Service: Service}
	var g *engine.Grant
	var err error
	raw, rerr := httpx.ReadBody(r)
	if rerr != nil {
		h.writeError(ctx, w, errBadRequest("the request body could not be read"))
		return
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		bearer, ok := httpx.BearerToken(r)
		switch {
		case !ok:
			err = errBadRequest("send {\"username\",\"password\"} or an Auth0 token as Authorization: Bearer")
		case h.ext == nil || len(h.ext.Issuers(h.cfg.Tenant)) == 0:
			err = engine.ErrInvalidToken
		default:
			g, err = h.ext.SignOn(ctx, h.cfg.Tenant, "", bearer, req)
		}
	} else {
		var body loginRequest
		if !httpx.JSONBody(r, raw) {
			err = errBadRequest("the request body must be JSON")
		} else if derr := httpx.UnmarshalJSON(raw, &body, false); derr != nil {
			err = errBadRequest(jsonProblem(derr))
		} else if body.Username == "" || body.Password == "" {
			err = errBadRequest("username and password are required")
		} else {
			req.Username, req.Password = body.Username, body.Password
			g, err = h.eng.SignOnPassword(ctx, req)
		}
	}
	if err != nil {
		h.writeError(ctx, w, err)
		return
	}
	httpx.NoStore(w)
	httpx.WriteJSON(w, http.StatusOK, loginResponse{AccessToken: g.AccessToken, RefreshToken: g.RefreshToken})
}

// refresh answers a new access token for the stable refresh token of the
// Authorization header; the client keeps its refresh token.
func (h *Handler) refresh(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rt, ok := httpx.BearerToken(r)
	if !ok {
		h.writeError(ctx, w, errUnauthorized("missing Authorization: Bearer <refresh token>"))
		return
	}
	g, err := h.eng.Refresh(ctx, engine.RefreshRequest{Token: rt, Policy: store.PolicyStable})
	if err != nil {
		h.writeError(ctx, w, err)
		return
	}
	httpx.NoStore(w)
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"access_token": g.AccessToken})
}

type aboutVersion struct {
	Number           string `json:"number"`
	RepositoryCommit string `json:"repository_commit,omitempty"`
	RepositoryBranch string `json:"repository_branch,omitempty"`
	BuildDate        string `json:"build_date,omitempty"`
	Arch             string `json:"arch,omitempty"`
	Compiler         string `json:"compiler,omitempty"`
}

type about struct {
	App           string       `json:"app"`
	Auths         []string     `json:"auths"`
	Name          string       `json:"name,omitempty"`
	ID            string       `json:"id,omitempty"`
	CreatedAt     string       `json:"created_at,omitempty"`
	UptimeSeconds *int64       `json:"uptime_seconds,omitempty"`
	Version       aboutVersion `json:"version"`
}

// about answers Core's about JSON: the minimal shape to anyone, the full
// one to the bearer of a valid access token of a live session (Core
// clients tell from it whether their token still works).
func (h *Handler) about(w http.ResponseWriter, r *http.Request) {
	auths := []string{"localjwt"}
	if h.ext != nil {
		for _, is := range h.ext.Issuers(h.cfg.Tenant) {
			auths = append(auths, "auth0 "+is.Auth0Domain)
		}
	}
	a := about{App: "datarhei-core", Auths: auths, Version: aboutVersion{Number: h.cfg.Version}}
	if tok, ok := httpx.BearerToken(r); ok && h.validAccess(r.Context(), tok) {
		now := h.eng.Now()
		up := max(int64(now.Sub(h.started)/time.Second), 0)
		a.Name = "tokengate"
		a.ID = h.id
		a.CreatedAt = h.started.UTC().Format(time.RFC3339)
		a.UptimeSeconds = &up
		a.Version.RepositoryCommit = buildSetting("vcs.revision")
		a.Version.RepositoryBranch = "main"
		a.Version.BuildDate = buildSetting("vcs.time")
		a.Version.Arch = runtime.GOOS + "/" + runtime.GOARCH
		a.Version.Compiler = runtime.Version()
	}
	httpx.WriteJSON(w, http.StatusOK, a)
}

func (h *Handler) validAccess(ctx context.Context, tok string) bool {
	c, err := h.eng.VerifyAccess(tok)
	if err != nil {
		return false
	}
	if c.SessionID == "" {
		return true // a client-credentials token has no session
	}
	_, err = h.eng.SessionLive(ctx, c.SessionID)
	return err == nil
}

// jsonProblem is what Core says of a body that is not one JSON value: the
// body reader's own words, never the decoder's detail.
func jsonProblem(err error) string {
	if errors.Is(err, httpx.ErrTrailingData) {
		return httpx.ErrTrailingData.Error()
	}
	return httpx.ErrNotJSON.Error()
}
