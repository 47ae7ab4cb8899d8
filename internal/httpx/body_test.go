package httpx

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// failingBody fails every read with an error whose text must not reach a
// client.
type failingBody struct{}

func (failingBody) Read([]byte) (int, error) {
	return 0, errors.New("read tcp 10.0.0.7:8080: connection reset")
}
func (failingBody) Close() error { return nil }

func post(body, contentType string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func TestReadBody(t *testing.T) {
	if b, err := ReadBody(post(`{"a":1}`, "")); err != nil || string(b) != `{"a":1}` {
		t.Fatalf("ReadBody = %q, %v", b, err)
	}
	if b, err := ReadBody(post(strings.Repeat("x", MaxBodyBytes), "")); err != nil || len(b) != MaxBodyBytes {
		t.Fatalf("a body of exactly MaxBodyBytes: %d bytes, %v", len(b), err)
	}
	if _, err := ReadBody(post(strings.Repeat("x", MaxBodyBytes+1), "")); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("a body over MaxBodyBytes: %v, want ErrBodyTooLarge", err)
	}
	r := post("", "")
	r.Body = failingBody{}
	_, err := ReadBody(r)
	if !errors.Is(err, ErrBodyUnreadable) || strings.Contains(err.Error(), "10.0.0.7") {
		t.Fatalf("a failing body: %v, want ErrBodyUnreadable without the transport's text", err)
	}
}

func TestUnmarshalJSON(t *testing.T) {
	type in struct {
		A int `json:"a"`
	}
	for _, tc := range []struct {
		name, body string
		strict     bool
		want       error // nil: decodes
	}{
		{"object", `{"a":1}`, true, nil},
		{"surrounding space", " \n{\"a\":1}\n ", true, nil},
		{"unknown field, lax", `{"a":1,"b":2}`, false, nil},
		{"unknown field, strict", `{"a":1,"b":2}`, true, ErrNotJSON},
		{"empty", ``, false, ErrBodyEmpty},
		{"only space", "  \n", false, ErrBodyEmpty},
		{"truncated", `{"a":`, false, ErrNotJSON},
		{"wrong type", `{"a":"one"}`, false, ErrNotJSON},
		{"not JSON", `a=1`, false, ErrNotJSON},
		{"two values", `{"a":1}{"a":2}`, false, ErrTrailingData},
		{"trailing text", `{"a":1} x`, false, ErrTrailingData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v in
			err := UnmarshalJSON([]byte(tc.body), &v, tc.strict)
			if tc.want == nil {
				if err != nil || v.A != 1 {
					t.Fatalf("UnmarshalJSON = %v, %+v", err, v)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("UnmarshalJSON = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestDecodeJSON: DecodeJSON reads the request's body, at most
// MaxBodyBytes of it, and decodes it.
func TestDecodeJSON(t *testing.T) {
	var v struct {
		A int `json:"a"`
	}
	if err := DecodeJSON(post(`{"a":1}`, "application/json"), &v, true); err != nil || v.A != 1 {
		t.Fatalf("DecodeJSON = %v, %+v", err, v)
	}
	big := `{"a":1,"pad":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
	if err := DecodeJSON(post(big, "application/json"), &v, false); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("a body over MaxBodyBytes: %v, want ErrBodyTooLarge", err)
	}
	if err := DecodeJSON(post(`{"a":1} {}`, "application/json"), &v, false); !errors.Is(err, ErrTrailingData) {
		t.Fatalf("two values: %v, want ErrTrailingData", err)
	}
}

func TestIsForm(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/x-www-form-urlencoded":                true,
		"application/x-www-form-urlencoded; charset=UTF-8": true,
		"Application/X-WWW-Form-Urlencoded":                true,
		"":                                                 false,
		"text/plain":                                       false,
		"application/json":                                 false,
		"multipart/form-data; boundary=x":                  false,
		"application/x-www-form-urlencoded; =":             false,
	} {
		if got := IsForm(post("", ct)); got != want {
			t.Errorf("IsForm(%q) = %t, want %t", ct, got, want)
		}
	}
}

func TestReadForm(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	r := post("a=1&b=2&b=3", form)
	f, err := ReadForm(r)
	if err != nil || f.Get("a") != "1" || len(f["b"]) != 2 {
		t.Fatalf("ReadForm = %v, %v", f, err)
	}
	if r.PostForm.Get("a") != "1" {
		t.Fatalf("r.PostForm not set: %v", r.PostForm)
	}
	if _, err := ReadForm(post("a=1&pad="+strings.Repeat("x", MaxBodyBytes), form)); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("a body over MaxBodyBytes: %v, want ErrBodyTooLarge", err)
	}
	if _, err := ReadForm(post("a=%zz", form)); !errors.Is(err, ErrBadForm) {
		t.Fatalf("a bad escape: %v, want ErrBadForm", err)
	}
	// Another content type: no form values, and the body is left unread.
	r = post(`{"a":1}`, "application/json")
	if f, err := ReadForm(r); err != nil || len(f) != 0 {
		t.Fatalf("a JSON body: %v, %v; want no values", f, err)
	}
	if rest, _ := io.ReadAll(r.Body); string(rest) != `{"a":1}` {
		t.Fatalf("the JSON body was consumed: %q left", rest)
	}
}
