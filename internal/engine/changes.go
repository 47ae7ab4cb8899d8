package engine

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokengate/tokengate/internal/store"
)

// Changes made on other nodes reach this one in two ways, so that every
// cache of the engine and of the surfaces above it honours a revocation, a
// disabled user or client, a removed membership or a revoked key within a
// stated bound:
//
//   - a store shared by several nodes (PostgreSQL, a store.Notifier) tells
//     each node of every change committed, by any node or admin command, a
//     round trip after the commit: Run listens, updates the engine's own
//     caches (the key ring reloads, the client record is forgotten) and
//     passes each change on to the subscribers (the proxy's session and
//     membership caches);
//   - every cache also re-checks what it holds periodically (the proxy and
//     the client records at the revocation bound, the key ring at
//     min(keys.reload_interval, proxy.revocation_bound)), so a notification
//     lost with a connection delays a change by at most that, and a store
//     that notifies nothing (SQLite, one node) needs no notifications.
//
// When the listening connection fails, Run reports ChangeMissed to every
// cache once it listens again: changes committed meanwhile were not heard.

// changes fans the store's notifications out to the subscribers.
type changes struct {
	mu   sync.Mutex
	next int
	subs map[int]func(store.Change)

	heard     *prometheus.CounterVec
	listening prometheus.Gauge
}

func newChanges(reg prometheus.Registerer) *changes {
	c := &changes{
		subs: map[int]func(store.Change){},
		heard: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokengate_store_changes_total",
			Help: "Changes committed by any node that this node was notified of, by kind (missed: it listened again after its connection failed).",
		}, []string{"kind"}),
		listening: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tokengate_store_listening",
			Help: "1 while this node listens to the store's change notifications (PostgreSQL), 0 while it does not (its caches then rely on their periodic re-check).",
		}),
	}
	if reg != nil {
		reg.MustRegister(c.heard, c.listening)
	}
	return c
}

// Subscribe calls fn with each change the store notifies this node of, on
// the listening goroutine (fn must not block), after the engine updated its
// own caches. cancel ends the subscription. A store that notifies nothing
// never calls fn: a subscriber's cache must also re-check what it holds
// within its bound.
func (e *Engine) Subscribe(fn func(store.Change)) (cancel func()) {
	c := e.changes
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.next
	c.next++
	c.subs[id] = fn
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.subs, id)
	}
}

// changed applies one change to the engine's caches, then passes it on.
func (e *Engine) changed(ctx context.Context, ch store.Change) {
	e.changes.heard.WithLabelValues(string(ch.Kind)).Inc()
	switch ch.Kind {
	case store.ChangeKeys, store.ChangeMissed:
		if err := e.ring.Load(ctx); err != nil && ctx.Err() == nil {
			e.log.ErrorContext(ctx, "reload signing keys", "err", err)
		}
	}
	switch ch.Kind {
	case store.ChangeClient:
		e.clients.forget(ch.ID)
		e.origins.forget()
	case store.ChangeTenant, store.ChangeMissed:
		e.clients.c.Clear()
		e.origins.forget()
	}
	e.changes.mu.Lock()
	subs := make([]func(store.Change), 0, len(e.changes.subs))
	for _, fn := range e.changes.subs {
		subs = append(subs, fn)
	}
	e.changes.mu.Unlock()
	for _, fn := range subs {
		fn(ch)
	}
}

// listen runs the store's listener until ctx ends, listening again after
// each failure with a pause that grows to listenRetryMax.
func (e *Engine) listen(ctx context.Context, n store.Notifier) {
	pause := listenRetryMin
	for {
		start := time.Now()
		err := n.Listen(ctx, func(ch store.Change) {
			e.changes.listening.Set(1)
			e.changed(ctx, ch)
		})
		e.changes.listening.Set(0)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			pause = listenRetryMin
		}
		e.log.WarnContext(ctx, "store change notifications interrupted; caches re-check at their bound until they resume", "err", err, "retry_in", pause)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, listenRetryMax)
	}
}

// The pauses between attempts to listen again.
const (
	listenRetryMin = 100 * time.Millisecond
	listenRetryMax = 5 * time.Second
)
