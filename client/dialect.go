package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// grant is what a sign-in or refresh returned. refresh is empty when the
// server sent none (a stable refresh, or a login without refresh).
type grant struct{ access, refresh string }

// dialect is one token API's wire shapes.
type dialect interface {
	canSignOn(cfg Config) bool
	signOn(ctx context.Context, c *Client) (grant, error)
	refresh(ctx context.Context, c *Client, rt string) (grant, error)
}

func dialectFor(d Dialect) dialect {
	switch d {
	case DialectCore:
		return coreDialect{}
	case DialectAGS:
		return agsDialect{}
	case DialectSyncGateway:
		return syncgwDialect{}
	}
	return oauth2Dialect{}
}

func hasCredentials(cfg Config) bool {
	return (cfg.Username != "" && cfg.Password != "") || cfg.ExternalToken != ""
}

// maxBody bounds what the client reads of a token response.
const maxBody = 1 << 20

// tokenResponse covers every dialect's success body.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"` // Sync Gateway
}

// send makes one sign-in or refresh call and decodes its answer.
func (c *Client) send(op string, req *http.Request) (tokenResponse, int, error) {
	var tr tokenResponse
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return tr, 0, ctxErr
		}
		return tr, 0, &ServerError{Message: fmt.Sprintf("server unreachable at %s: %v", c.base, errors.Unwrap(err)), Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return tr, resp.StatusCode, &ServerError{Status: resp.StatusCode, Message: "reading the response: " + err.Error(), Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return tr, resp.StatusCode, classify(op, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return tr, resp.StatusCode, &ServerError{Status: resp.StatusCode, Message: "the " + op + " response is not JSON; is " + c.base + " a tokengate server?"}
	}
	if tr.AccessToken == "" && tr.IDToken == "" {
		return tr, resp.StatusCode, &ServerError{Status: resp.StatusCode, Message: "the " + op + " response carries no access token"}
	}
	return tr, resp.StatusCode, nil
}

func (c *Client) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return req, nil
}

// oauth2Dialect speaks RFC 6749 §4.3 and §6 at /oauth2/token.
type oauth2Dialect struct{}

func (oauth2Dialect) canSignOn(cfg Config) bool { return hasCredentials(cfg) }

func (d oauth2Dialect) signOn(ctx context.Context, c *Client) (grant, error) {
	f := url.Values{"client_id": {c.cfg.ClientID}}
	if c.cfg.Username != "" {
		f.Set("grant_type", "password")
		f.Set("username", c.cfg.Username)
		f.Set("password", c.cfg.Password)
	} else {
		// RFC 8693 token exchange of the external token.
		f.Set("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange")
		f.Set("subject_token", c.cfg.ExternalToken)
		f.Set("subject_token_type", "urn:ietf:params:oauth:token-type:jwt")
	}
	return d.post(ctx, c, opSignOn, f)
}

func (d oauth2Dialect) refresh(ctx context.Context, c *Client, rt string) (grant, error) {
	return d.post(ctx, c, opRefresh, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {c.cfg.ClientID}})
}

func (oauth2Dialect) post(ctx context.Context, c *Client, op string, f url.Values) (grant, error) {
	req, err := c.newRequest(ctx, http.MethodPost, "/oauth2/token", strings.NewReader(f.Encode()))
	if err != nil {
		return grant{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	tr, _, err := c.send(op, req)
	return grant{tr.AccessToken, tr.RefreshToken}, err
}

// coreDialect speaks datarhei Core's /api/login.
type coreDialect struct{}

func (coreDialect) canSignOn(cfg Config) bool { return hasCredentials(cfg) }

func (coreDialect) signOn(ctx context.Context, c *Client) (grant, error) {
	var body io.Reader
	if c.cfg.Username != "" {
		b, _ := json.Marshal(map[string]string{"username": c.cfg.Username, "password": c.cfg.Password})
		body = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, http.MethodPost, "/api/login", body)
	if err != nil {
		return grant{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.Header.Set("Authorization", "Bearer "+c.cfg.ExternalToken)
	}
	tr, _, err := c.send(opSignOn, req)
	return grant{tr.AccessToken, tr.RefreshToken}, err
}

func (coreDialect) refresh(ctx context.Context, c *Client, rt string) (grant, error) {
	req, err := c.newRequest(ctx, http.MethodGet, "/api/login/refresh", nil)
	if err != nil {
		return grant{}, err
	}
	req.Header.Set("Authorization", "Bearer "+rt)
	tr, _, err := c.send(opRefresh, req)
	return grant{tr.AccessToken, tr.RefreshToken}, err
}

// agsDialect speaks the Authentication Gateway Service's /ags/signOn and
// /ags/refresh.
type agsDialect struct{}

func (agsDialect) canSignOn(cfg Config) bool { return hasCredentials(cfg) }

type agsParam struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func (d agsDialect) signOn(ctx context.Context, c *Client) (grant, error) {
	params := []agsParam{}
	if c.cfg.Username != "" {
		params = append(params, agsParam{"username", c.cfg.Username}, agsParam{"password", c.cfg.Password})
	} else {
		params = append(params, agsParam{"id_token", c.cfg.ExternalToken})
	}
	return d.post(ctx, c, opSignOn, "/ags/signOn", "", params)
}

func (d agsDialect) refresh(ctx context.Context, c *Client, rt string) (grant, error) {
	return d.post(ctx, c, opRefresh, "/ags/refresh", rt, []agsParam{})
}

func (agsDialect) post(ctx context.Context, c *Client, op, path, rt string, params []agsParam) (grant, error) {
	service, err := c.agsServiceID(ctx)
	if err != nil {
		return grant{}, err
	}
	b, _ := json.Marshal(map[string]any{"parameters": params})
	req, err := c.newRequest(ctx, http.MethodPost, path, bytes.NewReader(b))
	if err != nil {
		return grant{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-auth-service-id", service)
	if c.cfg.Tenant != "" {
		req.Header.Set("nv-tenant-id", c.cfg.Tenant)
	}
	if rt != "" {
		req.Header.Set("Authorization", rt)
	}
	tr, _, err := c.send(op, req)
	return grant{tr.AccessToken, tr.RefreshToken}, err
}

// agsServiceID is Config.AuthServiceID, or the service that service
// discovery lists for the client's kind of credentials: one whose sign-on
// takes a password, or an id_token for an external token.
func (c *Client) agsServiceID(ctx context.Context) (string, error) {
	if c.cfg.AuthServiceID != "" {
		return c.cfg.AuthServiceID, nil
	}
	c.agsMu.Lock()
	defer c.agsMu.Unlock()
	if c.agsService != "" {
		return c.agsService, nil
	}
	req, err := c.newRequest(ctx, http.MethodGet, "/ags/servicediscovery", nil)
	if err != nil {
		return "", err
	}
	if c.cfg.Tenant != "" {
		req.Header.Set("nv-tenant-id", c.cfg.Tenant)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", &ServerError{Message: fmt.Sprintf("server unreachable at %s: %v", c.base, errors.Unwrap(err)), Err: err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if resp.StatusCode != http.StatusOK {
		se := parseServerError(resp.StatusCode, body)
		se.Message = strings.TrimSpace("AGS service discovery failed; set the auth service id. " + se.Message)
		return "", se
	}
	var sd struct {
		AvailableServices []struct {
			AuthServiceName string `json:"authServiceName"`
			Endpoints       []struct {
				Name       string `json:"name"`
				Parameters []struct {
					Name       string `json:"name"`
					IsPassword bool   `json:"isPassword"`
				} `json:"parameterProperties"`
			} `json:"endpoints"`
		} `json:"availableServices"`
	}
	if err := json.Unmarshal(body, &sd); err != nil {
		return "", &ServerError{Status: resp.StatusCode, Message: "AGS service discovery answered no JSON"}
	}
	wantPassword := c.cfg.Username != ""
	for _, s := range sd.AvailableServices {
		for _, e := range s.Endpoints {
			if !strings.EqualFold(e.Name, "SIGNON") {
				continue
			}
			for _, p := range e.Parameters {
				if (wantPassword && p.IsPassword) || (!wantPassword && p.Name == "id_token") {
					c.agsService = s.AuthServiceName
					return c.agsService, nil
				}
			}
		}
	}
	if len(sd.AvailableServices) == 1 {
		c.agsService = sd.AvailableServices[0].AuthServiceName
		return c.agsService, nil
	}
	return "", &ServerError{Status: resp.StatusCode, Message: "AGS service discovery lists no suitable sign-on service; set the auth service id"}
}

// syncgwDialect speaks Sync Gateway's /{bucket}/_oidc_refresh. It sends
// the refresh token in a form body (POST), which keeps it out of URLs and
// logs, and falls back to the query string of a GET if POST is refused.
type syncgwDialect struct{}

func (syncgwDialect) canSignOn(Config) bool { return false }

func (syncgwDialect) signOn(context.Context, *Client) (grant, error) {
	return grant{}, ErrReauthenticate
}

func (syncgwDialect) refresh(ctx context.Context, c *Client, rt string) (grant, error) {
	path := "/" + url.PathEscape(c.cfg.Bucket) + "/_oidc_refresh"
	req, err := c.newRequest(ctx, http.MethodPost, path, strings.NewReader(url.Values{"refresh_token": {rt}}.Encode()))
	if err != nil {
		return grant{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	tr, status, err := c.send(opRefresh, req)
	if status == http.StatusMethodNotAllowed {
		if req, err = c.newRequest(ctx, http.MethodGet, path+"?"+url.Values{"refresh_token": {rt}}.Encode(), nil); err != nil {
			return grant{}, err
		}
		tr, _, err = c.send(opRefresh, req)
	}
	if err == nil && tr.AccessToken == "" {
		tr.AccessToken = tr.IDToken
	}
	// Sync Gateway never rotates: the caller keeps its refresh token.
	return grant{access: tr.AccessToken}, err
}
