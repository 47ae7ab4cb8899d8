// Package storetest is the conformance suite every store backend runs: a
// backend's test calls Run with a function that opens a fresh, empty store.
//
// The suite knows nothing of the backend. It uses only times on whole
// milliseconds (the contract's guaranteed precision), ids and names whose
// order is the same under any collation, and checks orders only where the
// contract states one.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

// Run runs the conformance suite. open must return a new, empty store for
// each call and arrange for it to be closed when the test ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Tenants", testTenants},
		{"Users", testUsers},
		{"LockUser", testLockUser},
		{"Clients", testClients},
		{"ClientSecretOverlap", testClientSecretOverlap},
		{"RevokeClientSessions", testRevokeClientSessions},
		{"DeleteUser", testDeleteUser},
		{"DeleteTenant", testDeleteTenant},
		{"SessionRoundTrip", testSessionRoundTrip},
		{"SessionErrors", testSessionErrors},
		{"ListSessions", testListSessions},
		{"CountLiveSessions", testCountLiveSessions},
		{"CountLiveSessionsByTenant", testCountLiveSessionsByTenant},
		{"RevokeUserSessions", testRevokeUserSessions},
		{"PurgeSessions", testPurgeSessions},
		{"Keys", testKeys},
		{"Organisations", testOrganisations},
		{"DeleteOrganisation", testDeleteOrganisation},
		{"Memberships", testMemberships},
		{"ExternalIdentities", testExternalIdentities},
		{"Audit", testAudit},
		{"AuditWindows", testAuditWindows},
		{"BrowserSessions", testBrowserSessions},
		{"AccessRequests", testAccessRequests},
		{"OIDCClients", testOIDCClients},
		{"AuthCodes", testAuthCodes},
		{"AuthCodeOnce", testAuthCodeOnce},
		{"Consents", testConsents},
		{"BrowserSessionSessions", testBrowserSessionSessions},
		{"PurgeAudit", testPurgeAudit},
		{"Failures", testFailures},
		{"FailuresConcurrent", testFailuresConcurrent},
		{"PurgeFailures", testPurgeFailures},
		{"Meta", testMeta},
		{"Heartbeat", testHeartbeat},
		{"TxCommit", testTxCommit},
		{"TxRollback", testTxRollback},
		{"TxConcurrentRefresh", testTxConcurrentRefresh},
		{"TxIndependentFailures", testTxIndependentFailures},
		{"TxRefreshShape", testTxRefreshShape},
		{"TxSessionLimit", testTxSessionLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// base is the suite's reference time: a whole millisecond, in UTC.
var base = time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

// at returns base shifted by d.
func at(d time.Duration) time.Time { return base.Add(d) }

func ok(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func equal[T any](t *testing.T, got, want T, what string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %s\nwant %s", what, show(got), show(want))
	}
}

func show(v any) string { return fmt.Sprintf("%#v", v) }

// sortedBy returns a copy of xs sorted by key, for comparing lists whose
// order the contract leaves open.
func sortedBy[T any](xs []T, key func(T) string) []T {
	out := append([]T(nil), xs...)
	sort.Slice(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

// keys returns key of each of xs, in order: an empty list, not nil, for
// none.
func keys[T any](xs []T, key func(T) string) []string {
	out := []string{}
	for _, x := range xs {
		out = append(out, key(x))
	}
	return out
}

// listCase is one query of a list method and the keys (ids, types) of the
// records it must return, in order.
type listCase[F any] struct {
	name string
	f    F
	want []string
}

// checkList runs each case's query through list and compares the keys of
// what it returns with the case's.
func checkList[F, R any](t *testing.T, list func(context.Context, F) ([]R, error), key func(R) string, cases []listCase[F]) {
	t.Helper()
	for _, tc := range cases {
		got, err := list(context.Background(), tc.f)
		ok(t, err, tc.name)
		equal(t, keys(got, key), tc.want, "list "+tc.name)
	}
}

// world is the fixture most tests start from: two tenants, two users in the
// first and one in the second.
type world struct {
	t1, t2     store.Tenant
	u1, u2, u3 store.User
}

func newWorld(t *testing.T, s store.Store) world {
	t.Helper()
	ctx := context.Background()
	w := world{
		t1: store.Tenant{ID: "tenant-a", Name: "acme", SessionLimitPolicy: store.LimitReject, CreatedAt: at(0)},
		t2: store.Tenant{ID: "tenant-b", Name: "bravo", SessionLimitPolicy: store.LimitEndOldest, CreatedAt: at(0)},
	}
	w.u1 = store.User{ID: "user-a", TenantID: w.t1.ID, Name: "alice", CreatedAt: at(0), UpdatedAt: at(0)}
	w.u2 = store.User{ID: "user-b", TenantID: w.t1.ID, Name: "bob", CreatedAt: at(0), UpdatedAt: at(0)}
	w.u3 = store.User{ID: "user-c", TenantID: w.t2.ID, Name: "carol", CreatedAt: at(0), UpdatedAt: at(0)}
	for _, tn := range []store.Tenant{w.t1, w.t2} {
		ok(t, s.CreateTenant(ctx, tn), "create tenant "+tn.ID)
	}
	for _, u := range []store.User{w.u1, w.u2, w.u3} {
		ok(t, s.CreateUser(ctx, u), "create user "+u.ID)
	}
	return w
}

// session returns a live session of u created at created, with idle and
// absolute expiries an hour and a day later.
func session(id string, u store.User, created time.Time) store.Session {
	return store.Session{
		ID:                id,
		TenantID:          u.TenantID,
		UserID:            u.ID,
		Service:           "oauth2",
		Policy:            store.PolicyRotating,
		CreatedAt:         created,
		LastUsedAt:        created,
		IdleExpiresAt:     created.Add(time.Hour),
		AbsoluteExpiresAt: created.Add(24 * time.Hour),
	}
}
