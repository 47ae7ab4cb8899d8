package token

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestClaimsMarshal(t *testing.T) {
	tests := []struct {
		name   string
		claims Claims
		want   string
	}{
		{"empty", Claims{}, `{}`},
		{"single audience is a string", Claims{Subject: "u1", Audience: Audience{"api"}},
			`{"sub":"u1","aud":"api"}`},
		{"several audiences are an array", Claims{Audience: Audience{"a", "b"}},
			`{"aud":["a","b"]}`},
		{"core claims", Claims{Issuer: "i", Expiry: 20, IssuedAt: 10, Exi: 10, UseFor: UseRefresh, ID: "j"},
			`{"iss":"i","exp":20,"iat":10,"jti":"j","exi":10,"usefor":"refresh"}`},
		{"extra merged", Claims{Subject: "u1", Extra: map[string]any{
			"typ": "Bearer", "accountId": "a1", "sessionControl": map[string]any{"maxSessions": 3}}},
			`{"sub":"u1","accountId":"a1","sessionControl":{"maxSessions":3},"typ":"Bearer"}`},
		{"extra only", Claims{Extra: map[string]any{"deviceId": "d1"}}, `{"deviceId":"d1"}`},
		{"standard claim wins over extra", Claims{Subject: "u1", Extra: map[string]any{"sub": "evil", "exp": "never", "x": 1}},
			`{"sub":"u1","x":1}`},
		{"extra of standard names only", Claims{Extra: map[string]any{"iss": "evil"}}, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(&tt.claims)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("Marshal =\n %s\nwant\n %s", got, tt.want)
			}
			// A value (not a pointer) must encode the same way.
			byValue, _ := json.Marshal(tt.claims)
			if string(byValue) != tt.want {
				t.Fatalf("Marshal by value = %s", byValue)
			}
		})
	}
}

func TestClaimsUnmarshal(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		want    Claims
		wantErr bool
	}{
		{"audience string", `{"aud":"api"}`, Claims{Audience: Audience{"api"}}, false},
		{"audience array", `{"aud":["a","b"]}`, Claims{Audience: Audience{"a", "b"}}, false},
		{"audience null", `{"aud":null}`, Claims{}, false},
		{"unknown claims land in extra", `{"sub":"u1","gen":4,"typ":"Bearer","fixed_exp":99,"sessionControl":{"maxSessions":3}}`,
			Claims{Subject: "u1", Generation: 4, Extra: map[string]any{
				"typ": "Bearer", "fixed_exp": float64(99), "sessionControl": map[string]any{"maxSessions": float64(3)}}}, false},
		{"all standard claims", `{"iss":"i","sub":"s","aud":"a","exp":3,"nbf":1,"iat":2,"jti":"j","exi":1,"usefor":"access","sid":"S","tenant":"t","client_id":"c","scope":"x y","gen":7}`,
			Claims{Issuer: "i", Subject: "s", Audience: Audience{"a"}, Expiry: 3, NotBefore: 1, IssuedAt: 2, ID: "j", Exi: 1,
				UseFor: UseAccess, SessionID: "S", Tenant: "t", ClientID: "c", Scope: "x y", Generation: 7}, false},
		{"audience of numbers", `{"aud":[1]}`, Claims{}, true},
		{"exp not a number", `{"exp":"soon"}`, Claims{}, true},
		{"not an object", `[1,2]`, Claims{}, true},
		{"null", `null`, Claims{}, true},
		// encoding/json matches field names case-insensitively: "ISS"
		// beside "iss" would set the issuer that other readers of the
		// token do not see (found by FuzzClaimsJSON).
		{"a case twin of a standard claim", `{"iss":"https://gate.example","ISS":"https://evil.example","exp":1}`, Claims{}, true},
		{"a standard claim in another case only", `{"Sub":"admin","exp":1}`, Claims{}, true},
		{"a Unicode fold of a standard claim", `{"exp":1,"\u017fub":"admin"}`, Claims{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Claims
			err := json.Unmarshal([]byte(tt.json), &got)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Unmarshal succeeded: %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Unmarshal =\n %#v\nwant\n %#v", got, tt.want)
			}
		})
	}
}

func TestClaimsRoundTrip(t *testing.T) {
	in := Claims{Issuer: "https://gate.example", Subject: "u1", Audience: Audience{"a", "b"}, Expiry: 1700000600,
		IssuedAt: 1700000000, ID: "jti", Exi: 600, UseFor: UseAccess, SessionID: "s1", Tenant: "t1",
		ClientID: "c1", Scope: "openid", Generation: 2,
		Extra: map[string]any{"accountId": "acc", "typ": "Bearer", "sessionControl": map[string]any{"maxSessions": float64(2)}}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Claims
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip changed the claims:\n in  %#v\n out %#v", in, out)
	}
}

func TestClaimsValidate(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	base := func(mod func(c *Claims)) *Claims {
		c := &Claims{Issuer: "iss", Audience: Audience{"api", "web"}, UseFor: UseAccess,
			IssuedAt: now.Add(-time.Minute).Unix(), NotBefore: now.Add(-time.Minute).Unix(), Expiry: now.Add(time.Minute).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	const leeway = 30 * time.Second
	tests := []struct {
		name   string
		claims *Claims
		aud    string
		use    string
		want   error
	}{
		{"valid", base(nil), "api", UseAccess, nil},
		{"second audience", base(nil), "web", UseAccess, nil},
		{"audience and use not checked when empty", base(nil), "", "", nil},
		{"expired", base(func(c *Claims) { c.Expiry = now.Add(-time.Minute).Unix() }), "api", "", ErrExpired},
		{"exactly at exp plus leeway", base(func(c *Claims) { c.Expiry = now.Add(-leeway).Unix() }), "", "", ErrExpired},
		{"expired within leeway", base(func(c *Claims) { c.Expiry = now.Add(-leeway + time.Second).Unix() }), "", "", nil},
		{"missing exp", base(func(c *Claims) { c.Expiry = 0 }), "", "", ErrInvalidClaims},
		{"not yet valid", base(func(c *Claims) { c.NotBefore = now.Add(time.Minute).Unix() }), "", "", ErrNotYetValid},
		{"nbf within leeway", base(func(c *Claims) { c.NotBefore = now.Add(leeway).Unix() }), "", "", nil},
		{"issued in the future", base(func(c *Claims) { c.IssuedAt = now.Add(time.Minute).Unix() }), "", "", ErrNotYetValid},
		{"iat within leeway", base(func(c *Claims) { c.IssuedAt = now.Add(leeway).Unix() }), "", "", nil},
		{"wrong issuer", base(func(c *Claims) { c.Issuer = "other" }), "", "", ErrInvalidClaims},
		{"missing issuer", base(func(c *Claims) { c.Issuer = "" }), "", "", ErrInvalidClaims},
		{"wrong audience", base(nil), "admin", "", ErrInvalidClaims},
		{"no audience", base(func(c *Claims) { c.Audience = nil }), "api", "", ErrInvalidClaims},
		{"refresh token used as access", base(func(c *Claims) { c.UseFor = UseRefresh }), "", UseAccess, ErrInvalidClaims},
		{"missing usefor", base(func(c *Claims) { c.UseFor = "" }), "", UseRefresh, ErrInvalidClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.claims.Validate(now, "iss", tt.aud, tt.use, leeway)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Validate = %v, want %v", err, tt.want)
			}
		})
	}
}
