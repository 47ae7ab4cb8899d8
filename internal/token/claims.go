package token

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Values of the JOSE "typ" header. Every token says what kind it is, and
// each verifier accepts only its own kind (RFC 8725 section 3.11), beside
// the "usefor" claim that dialects read.
const (
	// TypeAccess is the type of access tokens (RFC 9068 section 2.1).
	TypeAccess = "at+jwt"
	// TypeRefresh is the type of refresh tokens: tokengate's own, since
	// only their issuer ever reads them back.
	TypeRefresh = "rt+jwt"
	// TypeID is the type of OpenID Connect ID tokens: plain JWT, as
	// relying parties expect (OpenID Connect Core §2 names none).
	TypeID = "JWT"
)

// Values of Claims.UseFor, as datarhei Core's "usefor" claim.
const (
	UseAccess  = "access"
	UseRefresh = "refresh"
)

// Claims is the claim set of a tokengate JWT: the registered claims of
// RFC 7519 section 4.1, the claims shared by every dialect, and Extra for
// dialect-specific ones.
type Claims struct {
	Issuer  string `json:"iss,omitempty"`
	Subject string `json:"sub,omitempty"`
	// PreferredUsername is the user's name (OpenID Connect Core §5.1),
	// beside a sub that is the user's immutable id.
	PreferredUsername string   `json:"preferred_username,omitempty"`
	Audience          Audience `json:"aud,omitempty"`
	Expiry            int64    `json:"exp,omitempty"` // unix seconds
	NotBefore         int64    `json:"nbf,omitempty"` // unix seconds
	IssuedAt          int64    `json:"iat,omitempty"` // unix seconds
	ID                string   `json:"jti,omitempty"`
	Exi               int64    `json:"exi,omitempty"` // seconds of validity, as datarhei Core does
	UseFor            string   `json:"usefor,omitempty"`
	SessionID         string   `json:"sid,omitempty"`
	Tenant            string   `json:"tenant,omitempty"`
	ClientID          string   `json:"client_id,omitempty"`
	Scope             string   `json:"scope,omitempty"`
	Generation        int64    `json:"gen,omitempty"`
	// KeyID is the kid of the key that signed the token, set by
	// Ring.Verify; it is a header parameter, not a claim.
	KeyID string `json:"-"`
	// Extra holds further claims (dialect-specific, such as AGS's typ,
	// accountId or sessionControl). MarshalJSON merges them into the
	// top-level object but drops any whose name is one of the claims above,
	// so a standard claim always wins; UnmarshalJSON puts every claim not
	// listed above here. Numbers decode as float64.
	Extra map[string]any `json:"-"`
}

// claimsFields is Claims without its methods, for the default encoding.
type claimsFields Claims

// standardClaims names the claims that have a field in Claims.
var standardClaims = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true,
	"jti": true, "exi": true, "usefor": true, "sid": true, "tenant": true,
	"client_id": true, "scope": true, "gen": true, "preferred_username": true,
}

// MarshalJSON encodes the standard claims followed by Extra.
func (c Claims) MarshalJSON() ([]byte, error) {
	std, err := json.Marshal(claimsFields(c))
	if err != nil || len(c.Extra) == 0 {
		return std, err
	}
	extra := make(map[string]any, len(c.Extra))
	for k, v := range c.Extra {
		if !standardClaims[k] {
			extra[k] = v
		}
	}
	if len(extra) == 0 {
		return std, nil
	}
	eb, err := json.Marshal(extra)
	if err != nil {
		return nil, fmt.Errorf("token: extra claims: %w", err)
	}
	// Splice the two objects: std is "{...}", eb is "{...}" and non-empty.
	out := make([]byte, 0, len(std)+len(eb))
	out = append(out, std[:len(std)-1]...)
	if len(std) > 2 {
		out = append(out, ',')
	}
	return append(out, eb[1:]...), nil
}

// UnmarshalJSON decodes the standard claims into their fields and every
// other claim into Extra.
func (c *Claims) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw == nil {
		return fmt.Errorf("token: claims are not a JSON object")
	}
	var f claimsFields
	var extra map[string]any
	for k, v := range raw {
		if standardClaims[k] {
			continue
		}
		if foldsToStandard(k) {
			// encoding/json would read it into the standard claim's
			// field, beside or instead of the claim itself: readers of
			// the token would disagree on what it says.
			return fmt.Errorf("token: a claim name differs from a standard claim's only in case")
		}
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			return err
		}
		if extra == nil {
			extra = make(map[string]any)
		}
		extra[k] = x
	}
	if len(raw) > len(extra) {
		if err := json.Unmarshal(b, &f); err != nil {
			return err
		}
	}
	f.Extra = extra
	*c = Claims(f)
	return nil
}

// foldsToStandard reports whether k matches a standard claim's name the
// way encoding/json matches field names (Unicode case folding) without
// being it.
func foldsToStandard(k string) bool {
	if len(k) > len("preferred_username")+8 {
		return false
	}
	for name := range standardClaims {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// Username is the name of the user the token was minted for: its
// preferred_username, or its sub for a token minted before tokengate wrote
// preferred_username (when sub was the name), or "" for a client's own
// token.
func (c *Claims) Username() string {
	if c.PreferredUsername != "" || c.SessionID == "" {
		return c.PreferredUsername
	}
	return c.Subject
}

// Audience is the "aud" claim. RFC 7519 section 4.1.3 allows a single
// string or an array of strings; a single audience is encoded as a string.
type Audience []string

// MarshalJSON encodes one audience as a string and several as an array.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON accepts a string, an array of strings or null.
func (a *Audience) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = Audience{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return fmt.Errorf("token: aud must be a string or an array of strings")
	}
	*a = ss
	return nil
}

// Contains reports whether aud is one of the audiences.
func (a Audience) Contains(aud string) bool {
	return slices.Contains(a, aud)
}

// Validate checks the time claims at now, allowing leeway for clock skew,
// and that the token was issued by issuer, for audience aud (when aud is not
// empty) and for use (when use is not empty). A token without exp is
// invalid: every tokengate token expires, and key retention relies on it.
//
// It returns an error wrapping ErrExpired, ErrNotYetValid or
// ErrInvalidClaims.
func (c *Claims) Validate(now time.Time, issuer, aud, use string, leeway time.Duration) error {
	// RFC 7519 section 4.1.4: reject on or after exp.
	if c.Expiry == 0 {
		return fmt.Errorf("%w: missing exp", ErrInvalidClaims)
	}
	if !now.Before(time.Unix(c.Expiry, 0).Add(leeway)) {
		return fmt.Errorf("%w at %s", ErrExpired, time.Unix(c.Expiry, 0).UTC().Format(time.RFC3339))
	}
	// RFC 7519 section 4.1.5: reject before nbf.
	if c.NotBefore != 0 && now.Add(leeway).Before(time.Unix(c.NotBefore, 0)) {
		return fmt.Errorf("%w before %s", ErrNotYetValid, time.Unix(c.NotBefore, 0).UTC().Format(time.RFC3339))
	}
	if c.IssuedAt != 0 && now.Add(leeway).Before(time.Unix(c.IssuedAt, 0)) {
		return fmt.Errorf("%w: issued in the future", ErrNotYetValid)
	}
	if c.Issuer != issuer {
		return fmt.Errorf("%w: wrong issuer", ErrInvalidClaims)
	}
	if aud != "" && !c.Audience.Contains(aud) {
		return fmt.Errorf("%w: wrong audience", ErrInvalidClaims)
	}
	if use != "" && c.UseFor != use {
		return fmt.Errorf("%w: token is not for %s use", ErrInvalidClaims, use)
	}
	return nil
}
