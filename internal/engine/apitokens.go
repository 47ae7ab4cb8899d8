package engine

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tokengate/tokengate/internal/store"
)

// ErrUnknownAPIToken: no live API token with that id for that user.
var ErrUnknownAPIToken = errors.New("unknown API token")

// ErrReauthenticationRequired: the request needs a recent password
// sign-on of its user, which the session behind it is not (RFC 9470's
// insufficient_user_authentication).
var ErrReauthenticationRequired = errors.New("a recent password sign-on is required")

// ErrAPITokenLimit: the user holds the most live API tokens allowed.
var ErrAPITokenLimit = errors.New("API token limit reached")

// MaxAPITokenLabel is the most characters of an API token's label.
const MaxAPITokenLabel = 100

// APITokenRequest asks for an API token: a one-year credential, so the
// engine wants to know how the asker authenticated, from whatever surface
// asks (the profile API from the session behind its bearer token, the web
// UI from its browser session).
type APITokenRequest struct {
	User  string // user id
	Label string // "" for "API token"
	// AuthenticatedAt is when the user last authenticated by Method on the
	// surface that asks: the creation of the session behind a bearer
	// token, a browser session's last password sign-on.
	AuthenticatedAt time.Time
	Method          store.AuthMethod
	// FromAPIToken: the asker is itself an API token (or derived from
	// one), which never mints another.
	FromAPIToken bool
	// ByAdministrator marks the CLI's offline `apitoken create`: an
	// administrator acting on the data directory, who signs on nowhere.
	// No surface that serves requests sets it.
	ByAdministrator bool
}

// apiTokenAllowed is the rule for who may create an API token: an
// administrator offline, or a user whose password sign-on on the asking
// surface is at most window old (and not from the future beyond leeway).
func apiTokenAllowed(req APITokenRequest, now time.Time, window, leeway time.Duration) error {
	switch {
	case req.ByAdministrator:
		return nil
	case req.FromAPIToken:
		return withDetail(ErrReauthenticationRequired, "an API token cannot create API tokens")
	case req.Method != store.AuthPassword:
		return withDetail(ErrReauthenticationRequired, "sign on with your password to create an API token")
	case req.AuthenticatedAt.IsZero() || now.Sub(req.AuthenticatedAt) > window || req.AuthenticatedAt.Sub(now) > leeway:
		return withDetail(ErrReauthenticationRequired, fmt.Sprintf("creating an API token needs a password sign-on of the last %s; sign on again", window))
	}
	return nil
}

// checkLabel applies the label rule: at most MaxAPITokenLabel characters
// of text, no control characters.
func checkLabel(label string) error {
	if !utf8.ValidString(label) || utf8.RuneCountInString(label) > MaxAPITokenLabel {
		return invalidRequest("label: use at most %d characters", MaxAPITokenLabel)
	}
	for _, r := range label {
		if unicode.IsControl(r) {
			return invalidRequest("label: no control characters")
		}
	}
	return nil
}

// CreateAPIToken starts a stable session for a refresh-enabled user and
// returns its refresh token: the "API refresh token" a user copies from the
// profile page (or an administrator creates with the CLI). The token is
// shown once; the server keeps no copy. The asker must have signed on
// with a password within the reauthentication window (apiTokenAllowed),
// and a user holds at most MaxAPITokens live ones.
func (e *Engine) CreateAPIToken(ctx context.Context, req APITokenRequest) (*Grant, error) {
	if err := apiTokenAllowed(req, e.now(), e.opts.APITokenReauth, e.opts.Leeway); err != nil {
		return nil, err
	}
	if req.Label == "" {
		req.Label = "API token"
	}
	if err := checkLabel(req.Label); err != nil {
		return nil, err
	}
	u, err := e.st.GetUser(ctx, req.User)
	if err != nil {
		return nil, userByIDErr(err, req.User)
	}
	if !u.RefreshEnabled {
		return nil, ErrRefreshNotEnabled
	}
	t, err := e.st.GetTenant(ctx, u.TenantID)
	if err != nil {
		return nil, err
	}
	return e.StartSession(ctx, t, u, SignOnRequest{Service: ServiceAPIToken, ClientID: DefaultClientID, Label: req.Label, method: store.AuthAPIToken})
}

// CreateAPITokenAs creates an API token for the caller of a bearer access
// token, from what its session says of how the caller authenticated.
func (e *Engine) CreateAPITokenAs(ctx context.Context, p Principal, label string) (*Grant, error) {
	s := p.Session
	return e.CreateAPIToken(ctx, APITokenRequest{
		User: p.User.ID, Label: label, AuthenticatedAt: s.CreatedAt, Method: s.AuthMethod,
		FromAPIToken: s.Label != "" || s.AuthMethod == store.AuthAPIToken || s.Service == ServiceAPIToken,
	})
}

// ReauthWindow is how recent a password sign-on CreateAPIToken wants,
// for the surfaces' step-up challenges (RFC 9470 §3's max_age).
func (e *Engine) ReauthWindow() time.Duration { return e.opts.APITokenReauth }

// APITokens lists the live API tokens (labelled stable sessions) of a user,
// oldest first. The tokens themselves are never stored and can't be shown
// again.
func (e *Engine) APITokens(ctx context.Context, userID string) ([]store.Session, error) {
	return e.st.ListSessions(ctx, store.SessionFilter{UserID: userID, LiveAt: e.now(), Labelled: true})
}

// AllAPITokens lists the live API tokens of a tenant.
func (e *Engine) AllAPITokens(ctx context.Context, tenantID string) ([]store.Session, error) {
	return e.st.ListSessions(ctx, store.SessionFilter{TenantID: tenantID, LiveAt: e.now(), Labelled: true})
}

// RevokeAPIToken revokes an API token by its id (the session id). When
// userID is set the token must belong to that user, so a user can revoke
// only their own.
func (e *Engine) RevokeAPIToken(ctx context.Context, userID, id string) error {
	s, err := e.st.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (s.Label == "" || (userID != "" && s.UserID != userID))) {
		return fmt.Errorf("%w %q", ErrUnknownAPIToken, id)
	} else if err != nil {
		return err
	}
	return e.RevokeSession(ctx, id, "api_token_revoked")
}
