package engine

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/tokengate/tokengate/internal/store"
)

// ClientUpdate changes a client; nil fields stay as they are.
type ClientUpdate struct {
	// Tenant, when set, is the tenant the client must belong to (the
	// admin API's caller's); otherwise any tenant's (the command line).
	Tenant     string
	GrantTypes []string // the grant types the client may use; nil: unchanged
	Disabled   *bool
	// NewSecret gives a confidential client a new random secret, returned
	// once by UpdateClient; the old one stops working at once.
	NewSecret bool
	// RedirectURIs, PostLogoutRedirectURIs and Scopes replace the
	// client's lists when not nil (an empty list clears one; Scopes empty
	// allows none, nil leaves it); FirstParty when not nil.
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	Scopes                 []string
	FirstParty             *bool
}

// UpdateClient applies an update to the client with that client_id
// (ErrUnknownClient when none) and returns the client and, when
// NewSecret was asked, its new secret, which is stored only as its SHA-256.
// A public client has no secret to renew.
func (e *Engine) UpdateClient(ctx context.Context, id string, up ClientUpdate) (store.Client, string, error) {
	var secret string
	var hash []byte
	if up.NewSecret {
		var err error
		if secret, hash, err = e.newClientSecret(); err != nil {
			return store.Client{}, "", err
		}
	}
	if err := checkRegistration(up.RedirectURIs, up.PostLogoutRedirectURIs, up.Scopes); err != nil {
		return store.Client{}, "", err
	}
	var c store.Client
	err := e.st.Tx(ctx, func(q store.Queries) error {
		var err error
		if c, err = e.clientOf(ctx, q, up.Tenant, id); err != nil {
			return err
		}
		changed := map[string]string{}
		if up.NewSecret {
			if len(c.SecretHash) == 0 {
				return invalidRequest("client %q is public: it has no secret to renew", id)
			}
			c.SecretHash = hash
			c.PreviousSecretHash, c.PreviousSecretExpiresAt = nil, timeZero
			changed["secret"] = "renewed"
		}
		if up.GrantTypes != nil {
			c.GrantTypes = up.GrantTypes
			changed["grant_types"] = strings.Join(up.GrantTypes, ",")
		}
		if up.Disabled != nil {
			c.Disabled = *up.Disabled
			changed["disabled"] = fmt.Sprint(c.Disabled)
		}
		if up.RedirectURIs != nil {
			c.RedirectURIs = up.RedirectURIs
			changed["redirect_uris"] = strings.Join(up.RedirectURIs, " ")
		}
		if up.PostLogoutRedirectURIs != nil {
			c.PostLogoutRedirectURIs = up.PostLogoutRedirectURIs
			changed["post_logout_redirect_uris"] = strings.Join(up.PostLogoutRedirectURIs, " ")
		}
		if up.Scopes != nil {
			c.Scopes = up.Scopes
			changed["scopes"] = strings.Join(up.Scopes, " ")
		}
		if up.FirstParty != nil {
			c.FirstParty = *up.FirstParty
			changed["first_party"] = fmt.Sprint(c.FirstParty)
		}
		if slices.Contains(c.GrantTypes, GrantAuthorizationCode) && len(c.RedirectURIs) == 0 {
			return invalidRequest("the authorization_code grant needs at least one redirect URI")
		}
		if err := q.UpdateClient(ctx, c); err != nil {
			return err
		}
		return e.audit(ctx, q, store.AuditEvent{Type: "client.update", TenantID: c.TenantID, ClientID: c.ID, Detail: changed})
	})
	if err != nil {
		return store.Client{}, "", err
	}
	// This process's record is stale now; other processes sharing the
	// store re-read theirs within clientCacheMaxAge.
	e.clients.forget(id)
	e.origins.forget()
	return c, secret, nil
}

// newClientSecret returns a random client secret and the SHA-256 the store
// keeps of it (secrets are high-entropy, so a fast hash suffices).
func (e *Engine) newClientSecret() (string, []byte, error) {
	var b [32]byte
	if _, err := io.ReadFull(e.rand, b[:]); err != nil {
		return "", nil, err
	}
	secret := base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(secret))
	return secret, sum[:], nil
}
