package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/tokengate/tokengate/internal/store"
)

// ErrUnknownAPIToken: no live API token with that id for that user.
var ErrUnknownAPIToken = errors.New("unknown API token")

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
