package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/token"
)

// ErrUnknownKey: no signing key with that kid.
var ErrUnknownKey = errors.New("unknown signing key")

// RevokeKey revokes the signing key kid, for a key that is compromised:
// it leaves the JWKS and verifies nothing any more, on this node at once
// (also for tokens verified before, which the engine's and the proxy's
// caches remember: they ask SigningKeyTrusted) and on every other node at
// its next key reload (keys.reload_interval). Should kid be the key that
// signs now, another one takes over first, so signing never stops (see
// token.Ring.Revoke). byUserID names the administrator for the audit log
// ("" for the command line). An unknown kid is ErrUnknownKey.
func (e *Engine) RevokeKey(ctx context.Context, byUserID, kid string) (token.Revocation, error) {
	rv, err := e.ring.Revoke(ctx, kid)
	if errors.Is(err, token.ErrUnknownKey) {
		return rv, fmt.Errorf("%w %q", ErrUnknownKey, kid)
	} else if err != nil {
		return rv, err
	}
	detail := map[string]string{"kid": rv.Revoked.ID, "signer": rv.Signer.ID}
	switch {
	case rv.Created:
		detail["signer_created"] = "true"
	case rv.Activated:
		detail["signer_activated"] = "true"
	}
	e.log.WarnContext(ctx, "signing key revoked", "kid", rv.Revoked.ID, "signer", rv.Signer.ID, "created", rv.Created)
	return rv, e.audit(ctx, e.st, store.AuditEvent{Type: "key.revoke", UserID: byUserID, Detail: detail})
}

// SigningKeyTrusted reports whether the signing key kid still verifies
// tokens on this node (it is in the ring as last loaded, and neither
// expired nor revoked). A cache that remembers verified tokens checks it
// at each hit, so that revoking a key stops its tokens at once.
func (e *Engine) SigningKeyTrusted(kid string) bool { return e.ring.Trusts(kid) }

// IsOperator reports whether u, of tenant t, manages the node itself: its
// signing keys, which serve every tenant. Administrators of the default
// tenant do; administrators of other tenants manage only their tenant.
func (e *Engine) IsOperator(u store.User, t store.Tenant) bool {
	return u.Admin && !u.Disabled && u.TenantID == t.ID && t.Name == e.opts.DefaultTenant
}
