// Package obs carries request identity (the correlation id) through
// contexts and builds the structured logger that prints it on every line.
package obs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"strings"
)

type ctxKey struct{}

// RequestInfo describes the HTTP request (or CLI command) an action serves.
type RequestInfo struct {
	CorrelationID string
	RemoteAddr    string
	UserAgent     string
}

// WithRequest returns a context carrying info.
func WithRequest(ctx context.Context, info RequestInfo) context.Context {
	return context.WithValue(ctx, ctxKey{}, info)
}

// Request returns the RequestInfo of ctx, or the zero value.
func Request(ctx context.Context) RequestInfo {
	info, _ := ctx.Value(ctxKey{}).(RequestInfo)
	return info
}

// NewCorrelationID returns a random id for a request that brought none.
func NewCorrelationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// SanitizeCorrelationID keeps a client-supplied id only when it is short
// and made of safe characters, so it can't forge log lines.
func SanitizeCorrelationID(id string) string {
	if id == "" || len(id) > 128 {
		return ""
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:/+=@", r)
		if !ok {
			return ""
		}
	}
	return id
}

// NewLogger returns a logger writing level and above to w in format
// ("text" or "json"); every record logged with a context carrying a
// RequestInfo gets its correlation_id.
func NewLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(correlationHandler{h})
}

type correlationHandler struct{ slog.Handler }

func (h correlationHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := Request(ctx).CorrelationID; id != "" {
		r.AddAttrs(slog.String("correlation_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h correlationHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return correlationHandler{h.Handler.WithAttrs(attrs)}
}

func (h correlationHandler) WithGroup(name string) slog.Handler {
	return correlationHandler{h.Handler.WithGroup(name)}
}
