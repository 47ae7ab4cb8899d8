package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tokengate/tokengate/internal/store"
	"github.com/tokengate/tokengate/internal/store/postgres/pgtest"
)

// TestUnavailable puts a live store's server out of reach for real (a
// forwarder between them, cut) and checks that reads, writes, transactions
// (the refresh's GetSessionForUpdate and UpdateSession) and the heartbeat
// fail with store.ErrUnavailable, never a sentinel about the records; that
// the session the failed transaction would have rotated is as it was; and
// that the same store works again, without reopening, once the server is
// back.
func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	f := pgtest.Forward(t, pgtest.URL(t))
	s := openTest(t, f.URL)
	seed(t, s, 1)
	rotate := func() error {
		return s.Tx(ctx, func(q store.Queries) error {
			sess, err := q.GetSessionForUpdate(ctx, "sess-0")
			if err != nil {
				return err
			}
			sess.Generation++
			return q.UpdateSession(ctx, sess)
		})
	}
	ops := map[string]func() error{
		"read":        func() error { _, err := s.GetSession(ctx, "sess-0"); return err },
		"write":       func() error { return s.SetMeta(ctx, "k", "v") },
		"transaction": rotate,
		"heartbeat":   func() error { return s.Heartbeat(ctx) },
		"ping":        func() error { return s.Ping(ctx) },
	}
	f.Cut()
	for name, op := range ops {
		err := op()
		if !errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
			t.Errorf("%s with the server out of reach: %v, want store.ErrUnavailable", name, err)
		}
	}
	f.Restore(t)
	deadline := time.Now().Add(30 * time.Second)
	for s.Heartbeat(ctx) != nil { // a pooled connection that died with the cut may fail once
		if time.Now().After(deadline) {
			t.Fatalf("heartbeat after the server came back: %v", s.Heartbeat(ctx))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if sess, err := s.GetSession(ctx, "sess-0"); err != nil || sess.Generation != 0 || !sess.RevokedAt.IsZero() {
		t.Fatalf("session after the outage: generation %d revoked %v, %v", sess.Generation, sess.RevokedAt, err)
	}
	for name, op := range ops {
		if err := op(); err != nil {
			t.Errorf("%s after recovery: %v", name, err)
		}
	}
}

// TestReadOnlyUnavailable opens a second store on the same schema whose
// server sessions are read-only (default_transaction_read_only, what a
// hot standby or a database set read-only answers): its writes fail with
// 25006, store.ErrUnavailable, while its reads work.
func TestReadOnlyUnavailable(t *testing.T) {
	ctx := context.Background()
	u := pgtest.URL(t)
	rw := openTest(t, u)
	seed(t, rw, 1)
	ro, err := Open(ctx, u+"&default_transaction_read_only=on", Options{NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ro.Close() })
	if _, err := ro.GetSession(ctx, "sess-0"); err != nil {
		t.Fatalf("read: %v", err)
	}
	for name, op := range map[string]func() error{
		"write":     func() error { return ro.SetMeta(ctx, "k", "v") },
		"heartbeat": func() error { return ro.Heartbeat(ctx) },
		"transaction": func() error {
			return ro.Tx(ctx, func(q store.Queries) error {
				sess, err := q.GetSessionForUpdate(ctx, "sess-0")
				if err != nil {
					return err
				}
				sess.Generation++
				return q.UpdateSession(ctx, sess)
			})
		},
	} {
		if err := op(); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s on a read-only server: %v, want store.ErrUnavailable", name, err)
		}
	}
}

// TestUnavailableErrors: the server's answers and the connection failures
// that say the database is unavailable, and some that don't.
func TestUnavailableErrors(t *testing.T) {
	pg := func(code string) error { return &pgconn.PgError{Code: code, Message: "m"} }
	for err, want := range map[error]bool{
		pg("08006"): true, // connection_failure
		pg("08001"): true, // sqlclient_unable_to_establish_sqlconnection
		pg("53100"): true, // disk_full
		pg("53300"): true, // too_many_connections
		pg("57P01"): true, // admin_shutdown
		pg("57P03"): true, // cannot_connect_now
		pg("25006"): true, // read_only_sql_transaction
		pg("58030"): true, // io_error
		fmt.Errorf("exec: %w", pgconn.ErrConnClosed):                      true,
		fmt.Errorf("read: %w", io.ErrUnexpectedEOF):                       true,
		fmt.Errorf("dial: %w", syscall.ECONNREFUSED):                      true,
		fmt.Errorf("read: %w", syscall.ECONNRESET):                        true,
		&net.OpError{Op: "dial", Err: errors.New("refused")}:              true,
		fmt.Errorf("%w: %w", errAcquireTimeout, context.DeadlineExceeded): true,
		pg(codeUniqueViolation):                                           false,
		pg(codeSerializationFailure):                                      false,
		pg("42601"):                                                       false, // syntax_error
		pg("57014"):                                                       false, // query_canceled
		context.Canceled:                                                  false,
		errors.New("plain"):                                               false,
	} {
		if got := errors.Is(mapErr(err), store.ErrUnavailable); got != want {
			t.Errorf("mapErr(%v) unavailable = %v, want %v", err, got, want)
		}
	}
}

// TestUnavailableAtFirstRoundTrip: a transaction whose first round trip
// (the queued BEGIN sent with its first statement) meets a connection the
// cut has closed fails with store.ErrUnavailable too, not as an unknown
// error (which the surfaces would answer with a 500). One pooled
// connection, warm and idle for less than pgxpool's ping interval, is what
// the transaction gets.
func TestUnavailableAtFirstRoundTrip(t *testing.T) {
	ctx := context.Background()
	f := pgtest.Forward(t, pgtest.URL(t))
	s := openTest(t, f.URL+"&pool_max_conns=1")
	seed(t, s, 1)
	for range 20 {
		if _, err := s.GetSession(ctx, "sess-0"); err != nil { // warm, and just released
			t.Fatal(err)
		}
		f.Cut()
		err := s.Tx(ctx, func(q store.Queries) error {
			_, err := q.GetSessionForUpdate(ctx, "sess-0")
			return err
		})
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("a transaction on a connection the cut closed: %v, want store.ErrUnavailable", err)
		}
		f.Restore(t)
		deadline := time.Now().Add(30 * time.Second)
		for s.Ping(ctx) != nil {
			if time.Now().After(deadline) {
				t.Fatal("no connection within 30 s of the restore")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
