package engine

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

// These tests run the refresh rules as the pure functions they are: no
// store, no keys, no clock but the times in the table.

func TestDecideRefresh(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	const grace = 10 * time.Second
	p := Policy{IdleTTL: time.Hour}
	rotating := store.Session{ID: "s1", Policy: store.PolicyRotating, Generation: 3, RotatedAt: t0,
		LastUsedAt: t0, IdleExpiresAt: t0.Add(time.Hour), AbsoluteExpiresAt: t0.Add(24 * time.Hour)}
	stable := rotating
	stable.Policy, stable.Generation = store.PolicyStable, 0
	nearEnd := rotating
	nearEnd.AbsoluteExpiresAt = t0.Add(20 * time.Minute)
	none := rotating
	none.Policy = store.PolicyNone

	for _, tc := range []struct {
		name    string
		s       store.Session
		gen     int64
		now     time.Time
		want    refreshOutcome
		wantErr error
		check   func(t *testing.T, next store.Session)
	}{
		{name: "rotating current generation rotates", s: rotating, gen: 3, now: t0.Add(time.Minute), want: refreshRotate,
			check: func(t *testing.T, n store.Session) {
				if n.Generation != 4 || !n.RotatedAt.Equal(t0.Add(time.Minute)) || !n.LastUsedAt.Equal(t0.Add(time.Minute)) {
					t.Errorf("generation %d rotated %v used %v; want 4 and now", n.Generation, n.RotatedAt, n.LastUsedAt)
				}
				if want := t0.Add(time.Minute + time.Hour); !n.IdleExpiresAt.Equal(want) {
					t.Errorf("idle expiry %v, want %v", n.IdleExpiresAt, want)
				}
			}},
		{name: "idle expiry never passes the absolute one", s: nearEnd, gen: 3, now: t0.Add(time.Minute), want: refreshRotate,
			check: func(t *testing.T, n store.Session) {
				if !n.IdleExpiresAt.Equal(nearEnd.AbsoluteExpiresAt) || !n.AbsoluteExpiresAt.Equal(nearEnd.AbsoluteExpiresAt) {
					t.Errorf("idle %v absolute %v; want both %v", n.IdleExpiresAt, n.AbsoluteExpiresAt, nearEnd.AbsoluteExpiresAt)
				}
			}},
		{name: "previous generation within grace gets the same successor", s: rotating, gen: 2, now: t0.Add(grace), want: refreshRetry,
			check: func(t *testing.T, n store.Session) {
				if n != rotating {
					t.Errorf("a grace retry changed the session: %+v", n)
				}
			}},
		{name: "previous generation after grace is reuse", s: rotating, gen: 2, now: t0.Add(grace + time.Nanosecond), want: refreshReuse, wantErr: ErrTokenReused,
			check: func(t *testing.T, n store.Session) {
				if n.RevokeReason != "reuse" || !n.RevokedAt.Equal(t0.Add(grace+time.Nanosecond)) || n.Generation != 3 {
					t.Errorf("revoked %v reason %q generation %d; want revoked now for reuse at generation 3", n.RevokedAt, n.RevokeReason, n.Generation)
				}
			}},
		{name: "older generation within grace is reuse", s: rotating, gen: 1, now: t0, want: refreshReuse, wantErr: ErrTokenReused},
		{name: "first generation long superseded is reuse", s: rotating, gen: 0, now: t0.Add(time.Hour), want: refreshReuse, wantErr: ErrTokenReused},
		{name: "rotating generation from the future is unknown", s: rotating, gen: 4, now: t0, want: refreshUnknown, wantErr: ErrInvalidToken},
		{name: "stable current generation slides", s: stable, gen: 0, now: t0.Add(30 * time.Minute), want: refreshSlide,
			check: func(t *testing.T, n store.Session) {
				if n.Generation != 0 || !n.RotatedAt.Equal(t0) || !n.LastUsedAt.Equal(t0.Add(30*time.Minute)) ||
					!n.IdleExpiresAt.Equal(t0.Add(90*time.Minute)) || !n.AbsoluteExpiresAt.Equal(stable.AbsoluteExpiresAt) {
					t.Errorf("stable refresh wrote %+v; want only last use and idle expiry moved", n)
				}
			}},
		{name: "stable other generation is unknown", s: stable, gen: 1, now: t0, want: refreshUnknown, wantErr: ErrInvalidToken},
		{name: "session without refresh is unknown", s: none, gen: 3, now: t0, want: refreshUnknown, wantErr: ErrInvalidToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next, got := decideRefresh(tc.s, tc.gen, tc.now, p, grace)
			if got != tc.want {
				t.Fatalf("outcome %v, want %v", got, tc.want)
			}
			err := got.refusal(next, tc.gen)
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("refusal %v, want %v", err, tc.wantErr)
			}
			if got.writes() != (got == refreshRotate || got == refreshSlide || got == refreshReuse) {
				t.Errorf("%v writes %t", got, got.writes())
			}
			if !got.writes() && next != tc.s {
				t.Errorf("%v writes nothing but changed the session", got)
			}
			if tc.check != nil {
				tc.check(t, next)
			}
		})
	}
}

func TestCheckSession(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	live := store.Session{LastUsedAt: t0, IdleExpiresAt: t0.Add(time.Hour), AbsoluteExpiresAt: t0.Add(2 * time.Hour)}
	revoked := live
	revoked.RevokedAt, revoked.RevokeReason = t0, "admin"
	for _, tc := range []struct {
		name   string
		s      store.Session
		now    time.Time
		want   error
		reason string
	}{
		{name: "live", s: live, now: t0.Add(time.Hour - time.Nanosecond)},
		{name: "idle expiry is exclusive", s: live, now: t0.Add(time.Hour), want: ErrTokenExpired, reason: "idle"},
		{name: "absolute expiry", s: live, now: t0.Add(2 * time.Hour), want: ErrTokenExpired, reason: "absolute"},
		{name: "revoked wins over expiry", s: revoked, now: t0.Add(3 * time.Hour), want: ErrTokenRevoked, reason: "revoked (admin)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkSession(tc.s, tc.now)
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Fatalf("checkSession: %v, want %v", err, tc.want)
			}
			if err != nil && !strings.Contains(DebugText(err), tc.reason) {
				t.Errorf("debug text %q lacks %q", DebugText(err), tc.reason)
			}
		})
	}
}

func TestRefreshRequestRules(t *testing.T) {
	s := store.Session{ClientID: "tokengate", Service: "ags:password", Policy: store.PolicyRotating}
	u := store.User{Name: "alice", RefreshEnabled: true}
	tn := store.Tenant{Name: "acme"}
	for _, tc := range []struct {
		name       string
		req        RefreshRequest
		u          store.User
		t          store.Tenant
		want       error
		wantPublic string
	}{
		{name: "everything matches", req: RefreshRequest{ClientID: "tokengate", Service: "ags", Tenant: "acme", Policy: store.PolicyRotating}, u: u, t: tn},
		{name: "no narrowing", u: u, t: tn},
		{name: "another client", req: RefreshRequest{ClientID: "other"}, u: u, t: tn, want: ErrInvalidToken,
			wantPublic: "invalid token: refresh token was issued to another client"},
		{name: "another service", req: RefreshRequest{Service: "core"}, u: u, t: tn, want: ErrPolicyMismatch,
			wantPublic: `refresh token does not belong to this endpoint: refresh token belongs to sign-on service "ags:password"`},
		{name: "a prefix that is not the base", req: RefreshRequest{Service: "ag"}, u: u, t: tn, want: ErrPolicyMismatch},
		{name: "another policy", req: RefreshRequest{Policy: store.PolicyStable}, u: u, t: tn, want: ErrPolicyMismatch,
			wantPublic: "refresh token does not belong to this endpoint: this endpoint takes stable refresh tokens; this one is rotating and belongs to the ags:password sign-on"},
		{name: "user disabled", u: store.User{Disabled: true, RefreshEnabled: true}, t: tn, want: ErrUserDisabled},
		{name: "refresh no longer enabled", u: store.User{}, t: tn, want: ErrRefreshNotEnabled},
		{name: "tenant disabled", u: u, t: store.Tenant{Name: "acme", Disabled: true}, want: ErrTenantDisabled},
		{name: "another tenant", req: RefreshRequest{Tenant: "default"}, u: u, t: tn, want: ErrTenantMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.req.matches(s)
			if err == nil {
				err = tc.req.admits(tc.u, tc.t)
			}
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if tc.wantPublic != "" && PublicText(err) != tc.wantPublic {
				t.Errorf("public text %q, want %q", PublicText(err), tc.wantPublic)
			}
		})
	}
}
