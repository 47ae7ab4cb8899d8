package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

// testOIDCClients: a client's redirect URIs, post-logout redirect URIs,
// scopes and first-party flag survive create, update and list, nil and
// empty lists apart.
func testOIDCClients(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	web := store.Client{
		ID: "rp-web", TenantID: w.t1.ID, Name: "web app", SecretHash: []byte{9, 9},
		GrantTypes:             []string{"authorization_code", "refresh_token"},
		RedirectURIs:           []string{"https://app.example/cb", "http://127.0.0.1:8080/cb?x=1"},
		PostLogoutRedirectURIs: []string{"https://app.example/bye"},
		Scopes:                 []string{"openid", "profile", "offline_access"},
		FirstParty:             true, CreatedAt: at(0),
	}
	spa := store.Client{ID: "rp-spa", TenantID: w.t1.ID, Name: "spa", GrantTypes: []string{"authorization_code"},
		RedirectURIs: []string{"https://spa.example/"}, PostLogoutRedirectURIs: []string{}, CreatedAt: at(time.Second)}
	for _, c := range []store.Client{web, spa} {
		ok(t, s.CreateClient(ctx, c), "create "+c.ID)
		got, err := s.GetClient(ctx, c.ID)
		ok(t, err, "get "+c.ID)
		equal(t, got, c, "round trip of "+c.ID)
	}
	spa.RedirectURIs = append(spa.RedirectURIs, "https://spa.example/silent")
	spa.Scopes, spa.FirstParty, spa.PostLogoutRedirectURIs = []string{"openid"}, true, nil
	ok(t, s.UpdateClient(ctx, spa), "update spa")
	list, err := s.ListClients(ctx, w.t1.ID)
	ok(t, err, "list")
	equal(t, sortedBy(list, func(c store.Client) string { return c.ID }), []store.Client{spa, web}, "list after update")
}

func code(name string, u store.User, client string, created time.Time) store.AuthCode {
	h := sha256.Sum256([]byte("code " + name))
	return store.AuthCode{
		Hash: h[:], TenantID: u.TenantID, ClientID: client, UserID: u.ID, BrowserSessionID: "b-" + name,
		RedirectURI: "https://app.example/cb", Scope: "openid offline_access", Nonce: "n-" + name,
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", AuthTime: created.Add(-time.Minute),
		CreatedAt: created, ExpiresAt: created.Add(time.Minute),
	}
}

func testAuthCodes(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	ok(t, s.CreateClient(ctx, store.Client{ID: "rp", TenantID: w.t1.ID, CreatedAt: at(0)}), "create client")
	c1 := code("one", w.u1, "rp", at(0))
	c1.CodeChallenge = "" // a confidential client may send none
	c2 := code("two", w.u2, "rp", at(time.Minute))
	ok(t, s.CreateAuthCode(ctx, c1), "create one")
	ok(t, s.CreateAuthCode(ctx, c2), "create two")
	wantErr(t, s.CreateAuthCode(ctx, c1), store.ErrConflict, "same hash again")
	wantErr(t, s.CreateAuthCode(ctx, code("x", w.u1, "no-such-client", at(0))), store.ErrNotFound, "unknown client")
	wantErr(t, s.CreateAuthCode(ctx, code("y", store.User{ID: "nobody", TenantID: w.t1.ID}, "rp", at(0))), store.ErrNotFound, "unknown user")

	got, err := s.GetAuthCodeForUpdate(ctx, c1.Hash)
	ok(t, err, "get one")
	equal(t, got, c1, "round trip (no challenge, not used)")
	missing := sha256.Sum256([]byte("no such code"))
	_, err = s.GetAuthCodeForUpdate(ctx, missing[:])
	wantErr(t, err, store.ErrNotFound, "get missing")

	c2.UsedAt, c2.SessionID = at(70*time.Second), "s-issued"
	ok(t, s.UpdateAuthCode(ctx, c2), "mark two used")
	got, err = s.GetAuthCodeForUpdate(ctx, c2.Hash)
	ok(t, err, "get two")
	equal(t, got, c2, "used code round trip")
	gone := code("gone", w.u1, "rp", at(0))
	wantErr(t, s.UpdateAuthCode(ctx, gone), store.ErrNotFound, "update missing")

	// c1 expires at 1 min, c2 at 2 min.
	n, err := s.PurgeAuthCodes(ctx, at(90*time.Second), 10)
	ok(t, err, "purge")
	equal(t, n, 1, "purged the expired code")
	_, err = s.GetAuthCodeForUpdate(ctx, c1.Hash)
	wantErr(t, err, store.ErrNotFound, "purged code")
	_, err = s.GetAuthCodeForUpdate(ctx, c2.Hash)
	ok(t, err, "unexpired code kept")

	ok(t, s.DeleteUser(ctx, w.u2.ID), "delete user")
	_, err = s.GetAuthCodeForUpdate(ctx, c2.Hash)
	wantErr(t, err, store.ErrNotFound, "a deleted user's codes go with it")
}

// testAuthCodeOnce: concurrent redemptions of one code, each a transaction
// that reads the code for update and marks it used when it is not, let
// exactly one through.
func testAuthCodeOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	ok(t, s.CreateClient(ctx, store.Client{ID: "rp", TenantID: w.t1.ID, CreatedAt: at(0)}), "create client")
	c := code("once", w.u1, "rp", at(0))
	ok(t, s.CreateAuthCode(ctx, c), "create")
	errUsed := errors.New("used already")
	const n = 8
	var wg sync.WaitGroup
	results := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- s.Tx(ctx, func(q store.Queries) error {
				got, err := q.GetAuthCodeForUpdate(ctx, c.Hash)
				if err != nil {
					return err
				}
				if !got.UsedAt.IsZero() {
					return errUsed
				}
				got.UsedAt, got.SessionID = at(time.Second), "s-"+string(rune('a'+i))
				return q.UpdateAuthCode(ctx, got)
			})
		}()
	}
	wg.Wait()
	close(results)
	won := 0
	for err := range results {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, errUsed):
			t.Errorf("redemption failed otherwise: %v", err)
		}
	}
	equal(t, won, 1, "redemptions that won")
}

func testConsents(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	for _, id := range []string{"rp-a", "rp-b"} {
		ok(t, s.CreateClient(ctx, store.Client{ID: id, TenantID: w.t1.ID, CreatedAt: at(0)}), "create "+id)
	}
	a := store.Consent{TenantID: w.t1.ID, UserID: w.u1.ID, ClientID: "rp-b", Scopes: []string{"openid", "email"}, CreatedAt: at(0), UpdatedAt: at(0)}
	b := store.Consent{TenantID: w.t1.ID, UserID: w.u1.ID, ClientID: "rp-a", Scopes: []string{}, CreatedAt: at(time.Minute), UpdatedAt: at(time.Minute)}
	ok(t, s.PutConsent(ctx, a), "put a")
	ok(t, s.PutConsent(ctx, b), "put b")
	got, err := s.GetConsent(ctx, w.u1.ID, "rp-b")
	ok(t, err, "get")
	equal(t, got, a, "round trip")
	_, err = s.GetConsent(ctx, w.u2.ID, "rp-b")
	wantErr(t, err, store.ErrNotFound, "another user's")
	wantErr(t, s.PutConsent(ctx, store.Consent{TenantID: w.t1.ID, UserID: w.u1.ID, ClientID: "missing"}), store.ErrNotFound, "unknown client")

	a.Scopes, a.UpdatedAt = []string{"openid", "email", "offline_access"}, at(time.Hour)
	ok(t, s.PutConsent(ctx, a), "replace a")
	list, err := s.ListConsents(ctx, w.u1.ID)
	ok(t, err, "list")
	equal(t, list, []store.Consent{b, a}, "list by client id")

	ok(t, s.DeleteConsent(ctx, w.u1.ID, "rp-a"), "delete")
	wantErr(t, s.DeleteConsent(ctx, w.u1.ID, "rp-a"), store.ErrNotFound, "delete again")
	ok(t, s.DeleteClient(ctx, "rp-b"), "delete client")
	list, err = s.ListConsents(ctx, w.u1.ID)
	ok(t, err, "list after")
	equal(t, len(list), 0, "a deleted client's consents go with it")
}

// testBrowserSessionSessions: the sessions an authorization code of one
// browser sign-in started are revoked together, and no other.
func testBrowserSessionSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := newWorld(t, s)
	s1, s2, s3, s4 := session("s-1", w.u1, at(0)), session("s-2", w.u1, at(0)), session("s-3", w.u1, at(0)), session("s-4", w.u1, at(0))
	s1.BrowserSessionID, s2.BrowserSessionID, s3.BrowserSessionID = "b-1", "b-1", "b-2"
	s2.RevokedAt, s2.RevokeReason = at(time.Minute), "earlier"
	for _, x := range []store.Session{s1, s2, s3, s4} {
		ok(t, s.CreateSession(ctx, x), "create "+x.ID)
	}
	got, err := s.GetSession(ctx, "s-1")
	ok(t, err, "get")
	equal(t, got, s1, "round trip with browser session")
	n, err := s.RevokeBrowserSessionSessions(ctx, "b-1", at(2*time.Minute), "logout")
	ok(t, err, "revoke")
	equal(t, n, 1, "live sessions of b-1 revoked")
	n, err = s.RevokeBrowserSessionSessions(ctx, "", at(2*time.Minute), "logout")
	ok(t, err, "revoke none")
	equal(t, n, 0, "an empty browser session id matches nothing")
	for id, want := range map[string]string{"s-1": "logout", "s-2": "earlier", "s-3": "", "s-4": ""} {
		got, err := s.GetSession(ctx, id)
		ok(t, err, "get "+id)
		equal(t, got.RevokeReason, want, "revoke reason of "+id)
	}
}
