package engine

import (
	"context"

	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/token"
)

// KeyStore returns the key store a token.Ring keeps its keys in: the
// signing keys of st. Package token declares its own record so that it
// depends on no storage package; this adapter converts between the two
// (they have the same fields, which the conversions check at compile time).
func KeyStore(st store.Store) token.KeyStore { return ringKeys{st} }

type ringKeys struct{ st store.Store }

func (k ringKeys) CreateKey(ctx context.Context, r token.KeyRecord) error {
	return k.st.CreateKey(ctx, store.SigningKey(r))
}

func (k ringKeys) ListKeys(ctx context.Context) ([]token.KeyRecord, error) {
	recs, err := k.st.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]token.KeyRecord, len(recs))
	for i, r := range recs {
		out[i] = token.KeyRecord(r)
	}
	return out, nil
}

func (k ringKeys) UpdateKey(ctx context.Context, r token.KeyRecord) error {
	return k.st.UpdateKey(ctx, store.SigningKey(r))
}

func (k ringKeys) DeleteKey(ctx context.Context, id string) error { return k.st.DeleteKey(ctx, id) }
