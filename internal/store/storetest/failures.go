package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/store"
)

var errRollback = errors.New("storetest: roll back")

func testFailures(t *testing.T, s store.Store) {
	ctx := context.Background()
	acct, addr := "account:tenant-a:alice", "address:192.0.2.1"
	got, err := s.GetFailures(ctx, acct, addr)
	ok(t, err, "get none")
	equal(t, len(got), 0, "records before any failure")

	restart := at(-time.Hour) // runs older than this begin again
	f, err := s.RecordFailure(ctx, acct, at(0), restart)
	ok(t, err, "first failure")
	equal(t, f, store.FailureRecord{Key: acct, Count: 1, First: at(0), Last: at(0)}, "first failure")
	f, err = s.RecordFailure(ctx, acct, at(time.Minute), restart)
	ok(t, err, "second failure")
	equal(t, f, store.FailureRecord{Key: acct, Count: 2, First: at(0), Last: at(time.Minute)}, "second failure")
	// A failure recorded late (another node's clock behind) counts, but
	// does not move Last back.
	f, err = s.RecordFailure(ctx, acct, at(30*time.Second), restart)
	ok(t, err, "late failure")
	equal(t, f, store.FailureRecord{Key: acct, Count: 3, First: at(0), Last: at(time.Minute)}, "late failure")
	_, err = s.RecordFailure(ctx, addr, at(time.Minute), restart)
	ok(t, err, "address failure")

	got, err = s.GetFailures(ctx, acct, addr, "address:198.51.100.7")
	ok(t, err, "get")
	equal(t, sortedBy(got, func(f store.FailureRecord) string { return f.Key }), []store.FailureRecord{
		{Key: acct, Count: 3, First: at(0), Last: at(time.Minute)},
		{Key: addr, Count: 1, First: at(time.Minute), Last: at(time.Minute)},
	}, "records of three keys, one without")
	got, err = s.GetFailures(ctx, addr)
	ok(t, err, "get one")
	equal(t, len(got), 1, "records of one key")

	// A run whose last failure is before the restart time begins again.
	f, err = s.RecordFailure(ctx, acct, at(3*time.Hour), at(2*time.Hour))
	ok(t, err, "failure after the run's end")
	equal(t, f, store.FailureRecord{Key: acct, Count: 1, First: at(3 * time.Hour), Last: at(3 * time.Hour)}, "restarted run")

	ok(t, s.ClearFailures(ctx, acct), "clear")
	ok(t, s.ClearFailures(ctx, acct), "clear again")
	got, err = s.GetFailures(ctx, acct, addr)
	ok(t, err, "get after clear")
	equal(t, len(got), 1, "records after clearing one")

	// Inside a transaction too, and rolled back with it.
	err = s.Tx(ctx, func(q store.Queries) error {
		if _, err := q.RecordFailure(ctx, acct, at(4*time.Hour), restart); err != nil {
			return err
		}
		return errRollback
	})
	wantErr(t, err, errRollback, "rolled back tx")
	got, err = s.GetFailures(ctx, acct)
	ok(t, err, "get after rollback")
	equal(t, len(got), 0, "failure of a rolled-back transaction")
	ok(t, s.Tx(ctx, func(q store.Queries) error {
		_, err := q.RecordFailure(ctx, acct, at(4*time.Hour), restart)
		return err
	}), "tx")
	got, err = s.GetFailures(ctx, acct)
	ok(t, err, "get after tx")
	equal(t, got, []store.FailureRecord{{Key: acct, Count: 1, First: at(4 * time.Hour), Last: at(4 * time.Hour)}}, "failure of a transaction")
}

// testFailuresConcurrent: every concurrent failure counts, and each caller
// sees a count of its own.
func testFailuresConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 32
	var wg sync.WaitGroup
	counts := make([]int, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var f store.FailureRecord
			if i%2 == 0 {
				f, errs[i] = s.RecordFailure(ctx, "account:x", at(time.Duration(i)*time.Millisecond), at(-time.Hour))
			} else {
				errs[i] = s.Tx(ctx, func(q store.Queries) error {
					var err error
					f, err = q.RecordFailure(ctx, "account:x", at(time.Duration(i)*time.Millisecond), at(-time.Hour))
					return err
				})
			}
			counts[i] = f.Count
		}()
	}
	wg.Wait()
	seen := map[int]bool{}
	for i := range n {
		ok(t, errs[i], fmt.Sprint("failure ", i))
		if seen[counts[i]] || counts[i] < 1 || counts[i] > n {
			t.Fatalf("counts %v: each failure must see a count of its own, 1..%d", counts, n)
		}
		seen[counts[i]] = true
	}
	got, err := s.GetFailures(ctx, "account:x")
	ok(t, err, "get")
	equal(t, got[0].Count, n, "count after concurrent failures")
}

func testPurgeFailures(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := range 5 {
		_, err := s.RecordFailure(ctx, fmt.Sprint("address:old-", i), at(time.Duration(i)*time.Second), time.Time{})
		ok(t, err, "old failure")
	}
	_, err := s.RecordFailure(ctx, "address:new", at(time.Hour), time.Time{})
	ok(t, err, "new failure")
	n, err := s.PurgeFailures(ctx, at(time.Minute), 3)
	ok(t, err, "purge batch")
	equal(t, n, 3, "first batch")
	n, err = s.PurgeFailures(ctx, at(time.Minute), 3)
	ok(t, err, "purge rest")
	equal(t, n, 2, "second batch")
	n, err = s.PurgeFailures(ctx, at(time.Minute), 3)
	ok(t, err, "purge none")
	equal(t, n, 0, "nothing left to purge")
	got, err := s.GetFailures(ctx, "address:new", "address:old-4")
	ok(t, err, "get")
	equal(t, got, []store.FailureRecord{{Key: "address:new", Count: 1, First: at(time.Hour), Last: at(time.Hour)}}, "kept")
}

func testPurgeAudit(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := range 5 {
		ok(t, s.AppendAudit(ctx, store.AuditEvent{Time: at(time.Duration(i) * time.Second), Type: fmt.Sprint("old-", i)}), "append old")
	}
	ok(t, s.AppendAudit(ctx, store.AuditEvent{Time: at(time.Hour), Type: "new"}), "append new")
	n, err := s.PurgeAudit(ctx, at(time.Minute), 2)
	ok(t, err, "purge batch")
	equal(t, n, 2, "first batch")
	left, err := s.ListAudit(ctx, store.AuditFilter{})
	ok(t, err, "list")
	types := []string{}
	for _, e := range left {
		types = append(types, e.Type)
	}
	equal(t, types, []string{"new", "old-4", "old-3", "old-2"}, "the oldest go first")
	for {
		n, err := s.PurgeAudit(ctx, at(time.Minute), 2)
		ok(t, err, "purge")
		if n == 0 {
			break
		}
	}
	left, err = s.ListAudit(ctx, store.AuditFilter{})
	ok(t, err, "list")
	equal(t, len(left), 1, "events left")
	equal(t, left[0].Type, "new", "the event kept")
	n, err = s.PurgeAudit(ctx, at(2*time.Hour), 0)
	ok(t, err, "purge with no limit")
	equal(t, n, 0, "a batch of 0 deletes nothing")
}
