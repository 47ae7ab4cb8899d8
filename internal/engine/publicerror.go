package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Error is an engine error split into what a client may read and what only
// the operator may, as fosite splits an RFC 6749 error's hint from its
// debug text. Kind is the sentinel the surfaces map to their own status and
// shape: errors.Is(err, ErrInvalidToken) holds for an *Error of that kind,
// however deeply it is wrapped. Public is the description a surface may put
// on the wire; Debug says why, for the logs only.
//
// Error returns the public part alone, so that even a surface that wrote
// err.Error() would show no internal text; surfaces write PublicText(err)
// and never err.Error().
type Error struct {
	// Kind is one of Sentinels(), or an *Error that is (an alias such as
	// ErrExternalNotAllowed).
	Kind error
	// Public is the client-safe description; empty means the Kind's.
	Public string
	// Debug is the reason for the logs. It never holds a token, a password
	// or a secret.
	Debug string
	// RetryAfter, when set, is how long the client should wait before it
	// tries again; surfaces send it as Retry-After (RetryAfter).
	RetryAfter time.Duration
}

// Error returns the public description.
func (e *Error) Error() string { return e.public() }

// Unwrap returns the Kind, so errors.Is matches the sentinel.
func (e *Error) Unwrap() error { return e.Kind }

// LogValue shows the debug text beside the public one when the error is
// logged as an attribute.
func (e *Error) LogValue() slog.Value {
	if e.Debug == "" {
		return slog.StringValue(e.public())
	}
	return slog.StringValue(e.public() + " (" + e.Debug + ")")
}

func (e *Error) public() string {
	if e.Public != "" {
		return e.Public
	}
	if e.Kind != nil {
		return PublicText(e.Kind)
	}
	return ""
}

// sentinels is Sentinels(), kept for PublicText.
var sentinels = Sentinels()

// PublicText returns the client-safe description of an engine error: the
// public part of the first *Error in err's chain, or else the text of the
// engine sentinel err wraps. It returns "" for an error that is not the
// engine's, such as a store failure, whose text must never reach a client:
// the surface shows its own fixed text for those.
func PublicText(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.public()
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return ""
}

// RetryAfter returns how long a caller refused with err should wait, in
// whole seconds (rounded up, at least one) as Retry-After carries them
// (RFC 9110 §10.2.3): the RetryAfter of the first *Error in err's chain
// that has one, ErrUnavailable's for a store that is unavailable, or 0
// when err says nothing of waiting.
func RetryAfter(err error) int {
	for e := err; e != nil; {
		var ee *Error
		if !errors.As(e, &ee) {
			break
		}
		if ee.RetryAfter > 0 {
			return retrySeconds(ee.RetryAfter)
		}
		e = ee.Kind
	}
	if errors.Is(err, ErrUnavailable) {
		return retrySeconds(unavailableRetry)
	}
	return 0
}

func retrySeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// DebugText returns the debug reason of the first *Error in err's chain,
// or err's own text for any other error. It is for logs only.
func DebugText(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Debug != "" {
		return e.Debug
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// refused returns an *Error of kind that shows the kind's own text to the
// client and debug in the logs.
func refused(kind error, debug string) *Error { return &Error{Kind: kind, Debug: debug} }

// withDetail returns an *Error of kind whose public description adds a
// client-safe detail to the kind's text ("invalid token: refresh token was
// issued to another client").
func withDetail(kind error, detail string) *Error {
	return &Error{Kind: kind, Public: kind.Error() + ": " + detail}
}

// InvalidRequest returns ErrInvalidRequest with a reason that is shown to
// the client ("invalid request: reason"), for code that refuses a request
// on the engine's behalf. The reason must be client-safe: no internal text.
func InvalidRequest(format string, args ...any) error {
	return withDetail(ErrInvalidRequest, fmt.Sprintf(format, args...))
}

// invalidRequest is InvalidRequest, for the engine's own refusals.
func invalidRequest(format string, args ...any) error { return InvalidRequest(format, args...) }
