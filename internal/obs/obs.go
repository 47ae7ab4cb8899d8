// Package obs carries request identity (the correlation id) through
// contexts and builds the structured logger that prints it on every line.
package obs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
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

// LatencyBuckets are the upper bounds, in seconds, of tokengate's latency
// histograms of operations: from 100 µs (a refresh, a cached token check)
// to 2 s (a password sign-on queued behind argon2id), so that a 1 ms
// refresh and a 200 ms password grant fall in buckets of their own.
var LatencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2}

// Gone reports whether the caller behind ctx went away: ctx was canceled
// (net/http cancels a request's context when its client closes the
// connection) rather than run out of time. What fails after that is a
// consequence of the client leaving, not a fault of the server.
func Gone(ctx context.Context) bool {
	return errors.Is(ctx.Err(), context.Canceled)
}

// Failure logs a failure to serve a request: at level, or at debug when
// the caller went away meanwhile (Gone), since a load run ending or a
// browser closing is no problem for an operator to look at.
func Failure(ctx context.Context, log *slog.Logger, level slog.Level, msg string, err error) {
	if Gone(ctx) {
		log.DebugContext(ctx, msg+": client went away", "err", err)
		return
	}
	log.Log(ctx, level, msg, "err", err)
}
