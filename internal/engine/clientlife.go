package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

// The lifecycle of an OAuth 2.0 client: disable and enable, rotate its
// secret with an overlap, remove it. Each change takes effect at once on
// this node (the engine forgets its remembered record of the client) and
// within clientCacheMaxAge (2 s) on every other process sharing the store.
//
// Each method takes the client by its client_id, unique across tenants,
// and a tenant name: when tenant is not empty the client must belong to
// it (the admin API passes its caller's tenant, so an administrator sees
// only the clients of their own tenant), and otherwise it may be of any
// tenant (the command line, which names clients by client_id alone). A
// client not found that way is ErrUnknownClient.

// TenantClient returns the client with that client_id, which must belong
// to tenant when tenant is not empty.
func (e *Engine) TenantClient(ctx context.Context, tenant, id string) (store.Client, error) {
	return e.clientOf(ctx, e.st, tenant, id)
}

// DisableClient disables a client: it no longer authenticates (token,
// introspection and revocation endpoints: RFC 6749 §5.2 invalid_client),
// and the tokens issued to it are inactive and its sessions do not
// refresh, until EnableClient. Its sessions are kept.
func (e *Engine) DisableClient(ctx context.Context, tenant, id string) (store.Client, error) {
	return e.setClientDisabled(ctx, tenant, id, true)
}

// EnableClient enables a disabled client again; its sessions that have not
// expired meanwhile work again.
func (e *Engine) EnableClient(ctx context.Context, tenant, id string) (store.Client, error) {
	return e.setClientDisabled(ctx, tenant, id, false)
}

func (e *Engine) setClientDisabled(ctx context.Context, tenant, id string, disabled bool) (store.Client, error) {
	typ := "client.enable"
	if disabled {
		typ = "client.disable"
	}
	return e.changeClient(ctx, tenant, id, typ, func(q store.Queries, c *store.Client) (map[string]string, error) {
		c.Disabled = disabled
		return nil, nil
	})
}

// ClientSecret is a client's new secret from RotateClientSecret: Secret is
// shown once and stored only as its SHA-256.
type ClientSecret struct {
	Client store.Client
	Secret string
	// PreviousExpiresAt is when the previous secret stops working (zero:
	// it stopped at once).
	PreviousExpiresAt time.Time
}

// MaxSecretOverlap bounds the overlap of a secret rotation: a rotation is
// meant to end the old secret, not to keep two for good.
const MaxSecretOverlap = 30 * 24 * time.Hour

// RotateClientSecret gives a confidential client a new random secret. The
// previous secret keeps working for overlap (0: it stops at once), so that
// every deployment of the client can switch to the new one; a secret older
// than the previous stops at once either way. A public client has no
// secret to rotate (ErrInvalidRequest).
func (e *Engine) RotateClientSecret(ctx context.Context, tenant, id string, overlap time.Duration) (ClientSecret, error) {
	if overlap < 0 || overlap > MaxSecretOverlap {
		return ClientSecret{}, invalidRequest("secret overlap: want 0 (none) up to %s", MaxSecretOverlap)
	}
	secret, hash, err := e.newClientSecret()
	if err != nil {
		return ClientSecret{}, err
	}
	c, err := e.changeClient(ctx, tenant, id, "client.secret_rotate", func(q store.Queries, c *store.Client) (map[string]string, error) {
		if len(c.SecretHash) == 0 {
			return nil, invalidRequest("a public client has no secret to rotate")
		}
		c.PreviousSecretHash, c.PreviousSecretExpiresAt = nil, timeZero
		if overlap > 0 {
			c.PreviousSecretHash, c.PreviousSecretExpiresAt = c.SecretHash, e.now().Add(overlap)
		}
		c.SecretHash = hash
		return map[string]string{"overlap": overlap.String()}, nil
	})
	if err != nil {
		return ClientSecret{}, err
	}
	return ClientSecret{Client: c, Secret: secret, PreviousExpiresAt: c.PreviousSecretExpiresAt}, nil
}

// revokedClientRemoved is the revoke reason of the sessions of a removed
// client.
const revokedClientRemoved = "client_removed"

// RemoveClient deletes a client and, in the same transaction, ends every
// live session issued to it, and returns how many it ended.
//
// Removing ends the sessions rather than refusing while there are some: a
// client is removed to cut it off (it is retired, or its secret leaked),
// its sessions can't be used without it anyway, and a refusal would send
// the administrator hunting sessions one by one. DisableClient is the
// reversible choice. The built-in public client (DefaultClientID), which
// the password and refresh grants of every dialect use, can't be removed
// (ErrInUse).
func (e *Engine) RemoveClient(ctx context.Context, tenant, id string) (int, error) {
	if id == DefaultClientID {
		return 0, fmt.Errorf("the built-in client %q is %w: every dialect's sign-ons use it; disable it instead", id, ErrInUse)
	}
	var n int
	err := e.st.Tx(ctx, func(q store.Queries) error {
		c, err := e.clientOf(ctx, q, tenant, id)
		if err != nil {
			return err
		}
		if n, err = q.RevokeClientSessions(ctx, c.ID, e.now(), revokedClientRemoved); err != nil {
			return err
		}
		if err := q.DeleteClient(ctx, c.ID); err != nil {
			return err
		}
		e.metrics.revoked.WithLabelValues(revokedClientRemoved).Add(float64(n))
		return e.audit(ctx, q, store.AuditEvent{Type: "client.remove", TenantID: c.TenantID, ClientID: c.ID,
			Detail: map[string]string{"sessions_ended": fmt.Sprint(n)}})
	})
	e.clients.forget(id)
	e.origins.forget()
	return n, err
}

// changeClient applies change to the client in one transaction, audits it
// as typ and forgets this process's remembered record.
func (e *Engine) changeClient(ctx context.Context, tenant, id, typ string, change func(q store.Queries, c *store.Client) (map[string]string, error)) (store.Client, error) {
	var c store.Client
	err := e.st.Tx(ctx, func(q store.Queries) error {
		var err error
		if c, err = e.clientOf(ctx, q, tenant, id); err != nil {
			return err
		}
		detail, err := change(q, &c)
		if err != nil {
			return err
		}
		if err := q.UpdateClient(ctx, c); err != nil {
			return err
		}
		return e.audit(ctx, q, store.AuditEvent{Type: typ, TenantID: c.TenantID, ClientID: c.ID, Detail: detail})
	})
	e.clients.forget(id)
	e.origins.forget()
	if err != nil {
		return store.Client{}, err
	}
	return c, nil
}

// clientOf reads the client with that client_id, of tenant when tenant is
// not empty.
func (e *Engine) clientOf(ctx context.Context, q store.Queries, tenant, id string) (store.Client, error) {
	c, err := q.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return c, fmt.Errorf("%w %q", ErrUnknownClient, id)
	} else if err != nil {
		return c, err
	}
	if tenant != "" {
		t, err := q.GetTenant(ctx, c.TenantID)
		if err != nil {
			return store.Client{}, err
		}
		if t.Name != tenant {
			return store.Client{}, fmt.Errorf("%w %q in tenant %q", ErrUnknownClient, id, tenant)
		}
	}
	return c, nil
}
