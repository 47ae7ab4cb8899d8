package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// MaxBodyBytes bounds request bodies of token endpoints.
const MaxBodyBytes = 64 << 10

// The errors of the body reader. Their texts are safe for clients; each
// dialect maps them to its own shape and wording.
var (
	// ErrBodyTooLarge: the body is over MaxBodyBytes.
	ErrBodyTooLarge = errors.New("request body too large")
	// ErrBodyUnreadable: reading the body failed (the connection broke,
	// say); the cause is not kept, as it is the transport's, not the
	// client's.
	ErrBodyUnreadable = errors.New("request body could not be read")
	// ErrBodyEmpty: a JSON body was expected and there is none.
	ErrBodyEmpty = errors.New("request body is empty")
	// ErrNotJSON: the body is not one JSON value of the expected shape;
	// it wraps the decoder's complaint about the client's bytes.
	ErrNotJSON = errors.New("request body is not valid JSON")
	// ErrTrailingData: the JSON value is followed by more.
	ErrTrailingData = errors.New("request body has data after the JSON value")
	// ErrBadForm: a form body (or the query beside it) could not be
	// parsed.
	ErrBadForm = errors.New("request body is not a valid form")
)

// ReadBody reads the whole body of r, at most MaxBodyBytes of it.
func ReadBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		return nil, bodyError(err)
	}
	return b, nil
}

func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return ErrBodyTooLarge
	}
	return ErrBodyUnreadable
}

// DecodeJSON reads the body of r (see ReadBody) and decodes it into v (see
// UnmarshalJSON).
func DecodeJSON(r *http.Request, v any, strict bool) error {
	raw, err := ReadBody(r)
	if err != nil {
		return err
	}
	return UnmarshalJSON(raw, v, strict)
}

// UnmarshalJSON decodes raw, a request body, into v: exactly one JSON
// value, without unknown fields when strict.
func UnmarshalJSON(raw []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return ErrBodyEmpty
		}
		return jsonBodyError(err)
	}
	if dec.More() {
		return ErrTrailingData
	}
	return nil
}

// IsJSON reports whether the request declares a JSON body (or none).
func IsJSON(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// JSONBody reports whether raw, the body of r, is to be read as JSON: it
// is declared JSON (or not declared), or it is a JSON object sent with
// curl's default type for -d (application/x-www-form-urlencoded) or as
// text/plain. The seeds' own curl lines send Content-Type:
// application/json, but `curl -d '{...}'` without it is how people try an
// API by hand, and such a body can't be a form anyway. Accepting it opens
// no cross-site hole: the endpoints that use this answer tokens in the
// response body, which a cross-site page cannot read, and set no cookie.
func JSONBody(r *http.Request, raw []byte) bool {
	if IsJSON(r) {
		return true
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/x-www-form-urlencoded" && mt != "text/plain") {
		return false
	}
	trimmed := bytes.TrimSpace(raw)
	return len(trimmed) > 0 && trimmed[0] == '{'
}

// IsForm reports whether r declares an application/x-www-form-urlencoded
// body, the only body OAuth 2.0 endpoints take (RFC 6749 §3.2).
func IsForm(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// ReadForm parses r's form body, at most MaxBodyBytes of it, and returns
// its values (also left in r.PostForm). A body of another declared type is
// no values and stays unread; callers that accept only a form check IsForm
// first.
func ReadForm(r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, ErrBodyTooLarge
		}
		return nil, ErrBadForm
	}
	return r.PostForm, nil
}
