package engine_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/obs"
	"github.com/tokengate/tokengate/internal/store"
)

// TestConcurrentGuessesMeetOneCheck: a burst of guesses sent at once can't
// all pass the throttle check made before the first of them failed. The
// deciding check runs under a hash worker slot, so at most one guess per
// worker passes a check before the failure it may be is counted.
func TestConcurrentGuessesMeetOneCheck(t *testing.T) {
	e := newEnv(t)
	e.user("bob", true)
	ctx := obs.WithRequest(e.ctx, obs.RequestInfo{RemoteAddr: "192.0.2.1"})
	const burst = 40
	var wg sync.WaitGroup
	errs := make([]error, burst)
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.eng.SignOnPassword(ctx, engine.SignOnRequest{Service: "oauth2", Username: "bob", Password: fmt.Sprint("guess-", i)})
		}()
	}
	wg.Wait()
	wrong, throttled := 0, 0
	for _, err := range errs {
		switch {
		case errors.Is(err, engine.ErrThrottled):
			throttled++
		case errors.Is(err, engine.ErrInvalidCredentials):
			wrong++
		default:
			t.Fatalf("guess: %v", err)
		}
	}
	free := engine.DefaultThrottle.Account.Free
	if wrong < free || wrong > free+runtime.NumCPU()-1 || wrong+throttled != burst {
		t.Fatalf("%d guesses checked, %d throttled: want %d, plus at most one per further hash worker", wrong, throttled, free)
	}
}

// TestThrottleSeparatesAccounts: an account's failures never slow another
// account, nor its own owner's next sign-on once the delay is over, and
// the owner's sign-on ends the account's run.
func TestThrottleSeparatesAccounts(t *testing.T) {
	e := newEnv(t)
	e.user("bob", true)
	e.user("carol", true)
	ctx := obs.WithRequest(e.ctx, obs.RequestInfo{RemoteAddr: "192.0.2.1"})
	signOn := func(user, pw string) error {
		_, err := e.eng.SignOnPassword(ctx, engine.SignOnRequest{Service: "oauth2", Username: user, Password: pw})
		return err
	}
	for i := range engine.DefaultThrottle.Account.Free {
		wantErr(t, signOn("bob", fmt.Sprint("guess-", i)), engine.ErrInvalidCredentials)
	}
	err := signOn("bob", password)
	wantErr(t, err, engine.ErrThrottled)
	if engine.RetryAfter(err) != 1 {
		t.Fatalf("Retry-After %d, want 1", engine.RetryAfter(err))
	}
	if err := signOn("carol", password); err != nil {
		t.Fatalf("another account: %v", err)
	}
	e.clock.Advance(time.Second)
	if err := signOn("bob", password); err != nil {
		t.Fatalf("after the delay: %v", err)
	}
	// The run ended with the owner's sign-on: the next guess is free.
	wantErr(t, signOn("bob", "guess-again"), engine.ErrInvalidCredentials)
	wantErr(t, signOn("bob", "and again"), engine.ErrInvalidCredentials)
}

// TestInvalidNamesLeaveNoTrace: a sign-on with a name no user can have is
// refused like a wrong password and writes nothing of the name: no audit
// event, no failure record of an account.
func TestInvalidNamesLeaveNoTrace(t *testing.T) {
	e := newEnv(t)
	ctx := obs.WithRequest(e.ctx, obs.RequestInfo{RemoteAddr: "192.0.2.9"})
	tn, err := e.eng.Tenant(e.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{strings.Repeat("a", 129), "bad name", "../etc", "\x00admin", strings.Repeat("é", 64)} {
		_, err := e.eng.SignOnPassword(ctx, engine.SignOnRequest{Service: "oauth2", Username: name, Password: "wrong-password"})
		wantErr(t, err, engine.ErrInvalidCredentials)
		if recs, err := e.st.GetFailures(e.ctx, "account:"+tn.ID+":"+name); err != nil || len(recs) != 0 {
			t.Fatalf("failure record of an invalid name: %v %v", recs, err)
		}
	}
	evs, err := e.st.ListAudit(e.ctx, store.AuditFilter{Type: "signon.failed"})
	if err != nil || len(evs) != 0 {
		t.Fatalf("audit events of invalid names: %v %v", evs, err)
	}
	// The address still counts them.
	recs, err := e.st.GetFailures(e.ctx, "address:192.0.2.9")
	if err != nil || len(recs) != 1 || recs[0].Count != 5 {
		t.Fatalf("address record %v %v", recs, err)
	}
	// A valid name's failure is audited, with the name.
	_, err = e.eng.SignOnPassword(ctx, engine.SignOnRequest{Service: "oauth2", Username: "nobody", Password: "wrong-password"})
	wantErr(t, err, engine.ErrInvalidCredentials)
	evs, err = e.st.ListAudit(e.ctx, store.AuditFilter{Type: "signon.failed"})
	if err != nil || len(evs) != 1 || evs[0].Detail["username"] != "nobody" || evs[0].Detail["reason"] != "unknown_user" {
		t.Fatalf("audit events %+v %v", evs, err)
	}
}

// TestPurges: audit events past their retention and ended runs of
// failures are deleted by the background purge, in bounded batches.
func TestPurges(t *testing.T) {
	e := newEnv(t)
	ctx := obs.WithRequest(e.ctx, obs.RequestInfo{RemoteAddr: "192.0.2.1"})
	e.user("bob", true)
	for i := range 3 {
		_, err := e.eng.SignOnPassword(ctx, engine.SignOnRequest{Service: "oauth2", Username: "bob", Password: fmt.Sprint("guess-", i)})
		wantErr(t, err, engine.ErrInvalidCredentials)
	}
	before, err := e.st.ListAudit(e.ctx, store.AuditFilter{})
	if err != nil || len(before) == 0 {
		t.Fatalf("audit %v %v", before, err)
	}
	e.clock.Advance(engine.DefaultAuditRetention - time.Hour)
	e.signOn("bob", "oauth2") // a recent event, kept
	if n, err := e.eng.PurgeAudit(e.ctx, 2, 100); err != nil || n != 0 {
		t.Fatalf("purge before the retention: %d %v", n, err)
	}
	if n, err := e.eng.PurgeFailures(e.ctx, 1, 100); err != nil || n != 1 {
		// bob's account run ended at his sign-on; the address's is older
		// than a day.
		t.Fatalf("purge failures: %d %v", n, err)
	}
	e.clock.Advance(2 * time.Hour)
	n, err := e.eng.PurgeAudit(e.ctx, 2, 100)
	if err != nil || n != len(before) {
		t.Fatalf("purged %d events, %v; want the %d older than the retention", n, err, len(before))
	}
	after, err := e.st.ListAudit(e.ctx, store.AuditFilter{})
	if err != nil || len(after) == 0 || after[len(after)-1].Time.Before(e.clock.Now().Add(-engine.DefaultAuditRetention)) {
		t.Fatalf("left %d events, %v", len(after), err)
	}
	if n, err := e.eng.PurgeAudit(e.ctx, 1, 1); err != nil || n != 0 {
		t.Fatalf("second purge: %d %v", n, err)
	}
}
