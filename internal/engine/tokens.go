package engine

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/token"
)

// Grant is the result of a sign-on or a refresh.
type Grant struct {
	AccessToken     string
	AccessExpiresAt time.Time
	// RefreshToken is empty when none is issued: the user is not
	// refresh-enabled, or a stable session was refreshed (its client keeps
	// the token it has).
	RefreshToken string
	// IDToken is the OpenID Connect ID token of an authorization code
	// grant that was granted openid; empty otherwise.
	IDToken string
	// IssuedAt is the engine's clock when the grant was made; the
	// ExpiresIn methods count from it.
	IssuedAt time.Time
	Session  store.Session // zero for client credentials
	User     store.User    // zero for client credentials
	Tenant   store.Tenant
	Client   store.Client // set for client credentials
	Policy   Policy
	Scope    string
}

// AccessExpiresIn is the access token's remaining lifetime in seconds.
func (g *Grant) AccessExpiresIn() int64 { return secondsUntil(g.IssuedAt, g.AccessExpiresAt) }

// RefreshExpiresIn is the sliding (idle) lifetime left to the session.
func (g *Grant) RefreshExpiresIn() int64 {
	return secondsUntil(g.IssuedAt, minTime(g.Session.IdleExpiresAt, g.Session.AbsoluteExpiresAt))
}

// AbsoluteExpiresIn is the fixed lifetime left to the session.
func (g *Grant) AbsoluteExpiresIn() int64 {
	return secondsUntil(g.IssuedAt, g.Session.AbsoluteExpiresAt)
}

func secondsUntil(from, to time.Time) int64 {
	if to.IsZero() || !to.After(from) {
		return 0
	}
	return int64(to.Sub(from) / time.Second)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// newID returns a random URL-safe identifier of 128 bits.
func (e *Engine) newID() string {
	var b [16]byte
	if _, err := io.ReadFull(e.rand, b[:]); err != nil {
		panic("engine: random source failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// refreshJTI is the id of the refresh token of a session's generation: an
// HMAC under the refresh key. Nothing of the token is stored; the server
// recomputes the id, so a token is accepted only for the (session,
// generation) it was minted for, and the successor minted again within the
// grace window is the same token.
func (e *Engine) refreshJTI(sid string, gen int64) string {
	m := hmac.New(sha256.New, e.opts.RefreshKey)
	m.Write([]byte(sid))
	var g [8]byte
	binary.BigEndian.PutUint64(g[:], uint64(gen))
	m.Write(g[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (e *Engine) extraClaims(use string, t store.Tenant, u store.User, s store.Session, p Policy) map[string]any {
	if p.Claims == nil {
		return nil
	}
	return p.Claims(ClaimsInput{Use: use, Tenant: t, User: u, Session: s, Policy: p})
}

// subject is the sub of u's tokens under p.
func subject(p Policy, u store.User) string {
	if p.Subject == SubjectUserName {
		return u.Name
	}
	return u.ID
}

// sessionClaims are the claims every token of session s has: who, for
// whom, of which client and tenant, valid from iat to exp, for use.
func (e *Engine) sessionClaims(use string, t store.Tenant, u store.User, s store.Session, p Policy, scope string, iat, exp time.Time) *token.Claims {
	return &token.Claims{
		Issuer:            e.opts.Issuer,
		Subject:           subject(p, u),
		PreferredUsername: u.Name,
		Audience:          token.Audience{e.opts.Audience},
		Expiry:            exp.Unix(),
		IssuedAt:          iat.Unix(),
		Exi:               exp.Unix() - iat.Unix(),
		UseFor:            use,
		SessionID:         s.ID,
		Tenant:            t.Name,
		ClientID:          s.ClientID,
		Scope:             scope,
		Extra:             e.extraClaims(use, t, u, s, p),
	}
}

// mintAccess signs an access token for a session. It never outlives the
// session's absolute expiry.
func (e *Engine) mintAccess(now time.Time, t store.Tenant, u store.User, s store.Session, p Policy, scope string) (string, time.Time, error) {
	exp := now.Add(p.AccessTTL)
	if !s.AbsoluteExpiresAt.IsZero() && s.AbsoluteExpiresAt.Before(exp) {
		exp = s.AbsoluteExpiresAt
	}
	c := e.sessionClaims(token.UseAccess, t, u, s, p, scope, now, exp)
	c.NotBefore = now.Unix()
	c.ID = e.newID()
	tok, err := e.ring.Sign(c)
	return tok, exp, err
}

// mintRefresh signs the refresh token of the session's current generation.
// Its claims depend only on the stored session (and the user's name), so
// minting it again gives the same token byte for byte. Refresh tokens are read back only by the
// engine, so they are signed with HS256 under a key derived from the
// refresh key, not with the published signing keys: that halves the
// signature work of a refresh, and a refresh token can never verify as an
// access token anywhere else.
func (e *Engine) mintRefresh(t store.Tenant, u store.User, s store.Session, p Policy, scope string) (string, error) {
	iat := s.RotatedAt
	exp := minTime(s.IdleExpiresAt, s.AbsoluteExpiresAt)
	if s.Policy == store.PolicyStable {
		// The client keeps a stable token until the session ends; its exp
		// is the absolute one, and idle expiry is enforced server-side.
		exp = s.AbsoluteExpiresAt
	}
	// The name in the claims is the user's as it is now: a rename within the
	// grace window changes it in the successor minted again, which is no
	// less valid (its session and generation, which the server checks, are
	// the same).
	c := e.sessionClaims(token.UseRefresh, t, u, s, p, scope, iat, exp) // a refresh keeps the scope granted at sign-on (RFC 6749 §6)
	c.ID = e.refreshJTI(s.ID, s.Generation)
	c.Generation = s.Generation
	return e.mac.Sign(c)
}

// verify checks a token's signature: refresh tokens with the engine's MAC,
// every other token with the signing key ring. A token signed by the wrong
// one of the two for its kind is invalid.
func (e *Engine) verify(tok string) (*token.Claims, error) {
	if e.mac.IsMAC(tok) {
		c, err := e.mac.Verify(tok)
		if err == nil && c.UseFor != token.UseRefresh {
			err = token.ErrInvalidClaims
		}
		return c, err
	}
	c, err := e.ring.Verify(tok)
	if err == nil && c.UseFor == token.UseRefresh {
		err = token.ErrInvalidClaims
	}
	return c, err
}

// VerifySignature checks the signature of any token the engine issued
// (refresh tokens with the engine's MAC, others with the key ring) and
// returns its claims. It checks neither time claims nor the session: it is
// for diagnostics and tests, never for authorising a request.
func (e *Engine) VerifySignature(tok string) (*token.Claims, error) { return e.verify(tok) }

// subKey derives an independent key for one purpose from a key.
func subKey(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// parse verifies a token's signature and its time, issuer and kind.
//
// A refresh token's issuer is not checked: only this engine can make one
// (it is signed under the engine's own MAC key, derived from the master
// key), and its validity is the server's state, its session and
// generation, which every caller checks. The iss it carries is the address
// of the node that minted it, no reason to refuse it: otherwise every
// session would die of a change of the public URL or a restart on another
// port.
func (e *Engine) parse(tok, use string) (*token.Claims, error) {
	c, err := e.verify(tok)
	if err != nil {
		return nil, tokenError(err)
	}
	iss := e.opts.Issuer
	if c.UseFor == token.UseRefresh {
		iss = c.Issuer
	}
	if err := c.Validate(e.now(), iss, "", "", e.opts.Leeway); err != nil {
		return nil, tokenError(err)
	}
	if use != "" && c.UseFor != use {
		return nil, refused(ErrWrongTokenUse, fmt.Sprintf("token of use %q presented where a %s token is taken", c.UseFor, use))
	}
	return c, nil
}

// tokenError turns a failed signature or claims check into the engine's
// sentinel, keeping the check's own words (never the token) for the log.
func tokenError(err error) error {
	if errors.Is(err, token.ErrExpired) {
		return refused(ErrTokenExpired, err.Error())
	}
	return refused(ErrInvalidToken, err.Error())
}
