package engine

import (
	"context"
	"errors"

	"github.com/tokengate/tokengate/internal/store"
)

// issuerMeta names the store's record of the issuer the serving node uses.
const issuerMeta = "node.issuer"

// RecordIssuer stores the engine's issuer as the node's, so that offline
// commands working on the same store stamp what they mint with the issuer
// the server uses (RecordedIssuer), not with an address they would have to
// guess from their own flags. A serving node calls it when it starts. A
// change of issuer is logged: access tokens of the old one fail at every
// verifier until they expire, while refresh tokens, valid by the server's
// state alone, keep working.
func (e *Engine) RecordIssuer(ctx context.Context) error {
	prev, err := RecordedIssuer(ctx, e.st)
	if err != nil {
		return err
	}
	if prev == e.opts.Issuer {
		return nil
	}
	if prev != "" {
		e.log.WarnContext(ctx, "issuer changed: access tokens issued for the old one are refused until they expire; refresh tokens keep working",
			"old", prev, "new", e.opts.Issuer)
	}
	return e.st.SetMeta(ctx, issuerMeta, e.opts.Issuer)
}

// RecordedIssuer returns the issuer a serving node last recorded in st,
// or "" when no node has served from it yet. Offline commands pass it as
// Options.Issuer.
func RecordedIssuer(ctx context.Context, st store.Queries) (string, error) {
	v, err := st.GetMeta(ctx, issuerMeta)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return v, err
}
