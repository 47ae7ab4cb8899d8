package client

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// jwtTimes are the time claims of a token, read without verifying it: the
// client cannot verify (it holds no keys and needs none), and only uses
// them to plan its next refresh. The server verifies every token it gets.
type jwtTimes struct {
	Exp int64 `json:"exp"`
	Iat int64 `json:"iat"`
	Exi int64 `json:"exi"`
}

func readJWT(tok string) (jwtTimes, bool) {
	var t jwtTimes
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return t, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return t, false
	}
	if json.Unmarshal(payload, &t) != nil || t.Exp == 0 {
		return t, false
	}
	return t, true
}

// lifetime is the token's whole validity, from iat (or exi) to exp.
func (t jwtTimes) lifetime() time.Duration {
	switch {
	case t.Iat > 0 && t.Exp > t.Iat:
		return time.Duration(t.Exp-t.Iat) * time.Second
	case t.Exi > 0:
		return time.Duration(t.Exi) * time.Second
	}
	return 0
}

// schedule returns when an access token expires and when to refresh it.
// A token just received is timed by the client's clock from its lifetime
// (so a skewed clock on either side does not matter); a saved one by its
// exp. The margin defaults to min(30 s, 10% of the lifetime).
func schedule(tok string, received time.Time, fresh bool, margin time.Duration) (expiry, refreshAt time.Time) {
	t, ok := readJWT(tok)
	if !ok {
		// Not a JWT we can read: use it until the server refuses it.
		return time.Time{}, time.Time{}
	}
	life := t.lifetime()
	expiry = time.Unix(t.Exp, 0)
	if fresh && life > 0 {
		// iat and exp are whole seconds, so the token may have been minted
		// up to a second before iat says: count the lifetime from a second
		// earlier than we received it.
		expiry = received.Add(life - min(time.Second, life/2))
	}
	if margin <= 0 {
		margin = min(30*time.Second, life/10)
	}
	return expiry, expiry.Add(-margin)
}
