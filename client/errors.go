package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Errors a caller can match with errors.Is. Each is returned wrapped
// together with the *ServerError that caused it, when there was one, so
// errors.As still finds the server's status and message.
var (
	// ErrReauthenticate means the client holds no usable refresh token (it
	// expired, was revoked or was never given) and has no credentials to
	// sign in again: the user must sign in anew.
	ErrReauthenticate = errors.New("sign-in required: the refresh token is expired or revoked and no credentials are configured")
	// ErrInvalidCredentials means the server refused the username and
	// password, or the external token.
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrRefreshNotEnabled means the login holds no refresh token (an
	// administrator has not enabled refresh for it) although the caller
	// asked for one (Config.RequireRefreshToken, or refresh-only use).
	ErrRefreshNotEnabled = errors.New("refresh is not enabled for this login")
	// ErrUserIDRequired means the API refused the call because the user
	// belongs to several organisations and sent no valid UserID (the
	// WSAUTH error): set Config.UserID to one of the user's MU ids.
	ErrUserIDRequired = errors.New("a valid UserID (MU…) must be supplied: the user belongs to several organisations")
)

// ServerError is an answer of the server that the client could not use,
// or the absence of one (Status 0: the server was unreachable).
type ServerError struct {
	Status  int    // HTTP status; 0 when no response arrived
	Code    string // the dialect's error code, when it sent one
	Message string // the server's client-safe message, or ours
	// Err is the transport error when Status is 0.
	Err error
}

func (e *ServerError) Error() string {
	if e.Status == 0 {
		return e.Message
	}
	var b strings.Builder
	fmt.Fprintf(&b, "server answered %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

func (e *ServerError) Unwrap() error { return e.Err }

// Unreachable reports whether no answer came from the server.
func (e *ServerError) Unreachable() bool { return e.Status == 0 }

// typedError joins one of the sentinel errors with its cause.
type typedError struct {
	kind  error
	cause error
}

func (e *typedError) Error() string {
	var se *ServerError
	switch {
	case e.cause == nil:
		return e.kind.Error()
	case errors.As(e.cause, &se):
		// The server's own words, unless they only repeat ours.
		if se.Message == "" || strings.Contains(strings.ToLower(e.kind.Error()), strings.ToLower(se.Message)) {
			return e.kind.Error()
		}
		return e.kind.Error() + " (server: " + se.Message + ")"
	}
	return e.kind.Error() + ": " + e.cause.Error()
}

func (e *typedError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

func wrapKind(kind, cause error) error { return &typedError{kind: kind, cause: cause} }

// rejectedError marks a refresh token the server refused as bad, expired,
// revoked or reused: the cue to sign in again.
type rejectedError struct{ err error }

func (e *rejectedError) Error() string { return e.err.Error() }
func (e *rejectedError) Unwrap() error { return e.err }

func isRejected(err error) bool {
	var r *rejectedError
	return errors.As(err, &r)
}

// parseServerError reads the error body of any dialect: OAuth 2.0
// {error, error_description}, Core {code, message}, Sync Gateway and the
// proxy {error, reason}, AGS {message…}.
func parseServerError(status int, body []byte) *ServerError {
	se := &ServerError{Status: status}
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return se
	}
	str := func(k string) string {
		switch v := m[k].(type) {
		case string:
			return v
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
		return ""
	}
	for _, k := range []string{"error_description", "message", "reason", "errorMessage", "detail"} {
		if s := str(k); s != "" {
			se.Message = s
			break
		}
	}
	if s, ok := m["error"].(string); ok {
		if se.Message == "" {
			se.Message = s
		} else {
			se.Code = s
		}
	}
	if se.Code == "" {
		se.Code = str("errorCode")
	}
	return se
}

// Operations whose failures classify differently.
const (
	opSignOn  = "sign-on"
	opRefresh = "refresh"
)

// classify turns a failed sign-on or refresh answer into the error the
// caller sees. It works on every dialect's shape, so the dialects only
// say where to send what.
func classify(op string, status int, body []byte) error {
	se := parseServerError(status, body)
	msg := strings.ToLower(se.Message)
	notEnabled := strings.Contains(msg, "refresh is not enabled")
	refused := (status == 401 && se.Code != "invalid_client") || (status == 400 && se.Code == "invalid_grant")
	if op == opSignOn && status == 400 && se.Code == "invalid_request" && strings.Contains(msg, "subject_token") {
		// RFC 8693 §2.2.2: a refused subject token is invalid_request.
		refused = true
	}
	switch op {
	case opSignOn:
		if notEnabled {
			return wrapKind(ErrRefreshNotEnabled, se)
		}
		if refused && !strings.Contains(msg, "disabled") && !strings.Contains(msg, "limit") {
			return wrapKind(ErrInvalidCredentials, se)
		}
	case opRefresh:
		if notEnabled {
			return &rejectedError{wrapKind(ErrRefreshNotEnabled, se)}
		}
		if refused {
			return &rejectedError{se}
		}
	}
	return se
}

func isWSAUTH(body []byte) bool {
	return strings.Contains(string(body), "Invalid WSAUTH")
}
