package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokengate/tokengate/internal/store"
)

var (
	_ store.Notifier = (*Store)(nil)
	_ store.Locker   = (*Store)(nil)
)

// notifyChannel is the channel migration 0006's triggers notify.
const notifyChannel = "tokengate"

// listenPing is how long Listen waits for a notification before it checks
// that its connection still answers: a connection that died without a word
// (a host gone, a network cut) is noticed within it, rather than after the
// TCP keepalive's minutes. A variable for the tests.
var listenPing = 5 * time.Second

// Listen reports the changes migration 0006's triggers notify, on a
// connection of its own outside the pool (a LISTEN lasts the connection's
// life; the pool's are shared), whose application_name is the pool's and
// " listen". Notifications of other schemas of the
// database (other installations, other tests) are not reported.
func (s *Store) Listen(ctx context.Context, fn func(store.Change)) error {
	cfg := s.pool.Config().ConnConfig
	// Named apart from the pool's in pg_stat_activity.
	cfg.RuntimeParams["application_name"] += " listen"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("postgres: listen: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var schema string
	if err := conn.QueryRow(ctx, `SELECT coalesce(current_schema(), '')`).Scan(&schema); err != nil {
		return listenErr(ctx, err)
	}
	if _, err := conn.Exec(ctx, `LISTEN `+notifyChannel); err != nil {
		return listenErr(ctx, err)
	}
	fn(store.Change{Kind: store.ChangeMissed})
	for {
		wait, cancel := context.WithTimeout(ctx, listenPing)
		n, err := conn.WaitForNotification(wait)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			if err := conn.Ping(ctx); err != nil {
				return listenErr(ctx, err)
			}
			s.listenPings.Add(1)
			continue
		case err != nil:
			return listenErr(ctx, err)
		}
		var p struct{ Schema, Kind, ID string }
		if json.Unmarshal([]byte(n.Payload), &p) != nil || p.Schema != schema {
			continue
		}
		fn(store.Change{Kind: store.ChangeKind(p.Kind), ID: p.ID})
	}
}

func listenErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("postgres: listen: %w", err)
}

// TryLock takes a session advisory lock named by the schema and name on a
// connection it holds out of the pool until release, so that a node that
// dies, or loses that connection, frees the lock with it.
func (s *Store) TryLock(ctx context.Context, name string) (func(), bool, error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: lock %s: %w", name, err)
	}
	const key = `hashtextextended('tokengate lock ' || coalesce(current_schema(), '') || ' ' || $1, 0)`
	var ok bool
	if err := c.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+key+`)`, name).Scan(&ok); err != nil {
		c.Release()
		return nil, false, fmt.Errorf("postgres: lock %s: %w", name, err)
	}
	if !ok {
		c.Release()
		return nil, false, nil
	}
	release := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var freed bool
		if err := c.QueryRow(ctx, `SELECT pg_advisory_unlock(`+key+`)`, name).Scan(&freed); err != nil || !freed {
			// Ending the session is what frees the lock then.
			_ = c.Hijack().Close(ctx)
			return
		}
		c.Release()
	}
	return release, true, nil
}
