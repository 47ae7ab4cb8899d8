package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokengate/tokengate/internal/store"
)

// liveSessions maintains the gauge tokengate_sessions_live{tenant}, the
// sessions live per tenant, without counting them at each scrape (a COUNT
// over the sessions table per scrape would cost every node a query per
// scrape and grow with the table):
//
//   - RecountLiveSessions sets it from the store: once when the node
//     starts (serve calls it before it listens), then once a minute in
//     Run's background loop;
//   - in between, this node moves it as its transactions commit: +1 for a
//     session started, -1 for each live session revoked (by a client, an
//     administrator, the session limit, refresh-token reuse, a password
//     change, a disabled user, a removed membership).
//
// So it is exact for this node's own changes, and as of the last recount
// for the rest: a session that expires stays counted until the next
// recount (at most a minute), and sessions started or revoked by another
// node or by a CLI command on the same store show there too. A sign-on
// that commits while a recount's query runs may be counted twice or not
// at all until the next one.
type liveSessions struct {
	gauge *prometheus.GaugeVec
	mu    sync.Mutex
	names map[string]string // tenant id → name, the label
}

func newLiveSessions(reg prometheus.Registerer) *liveSessions {
	l := &liveSessions{
		gauge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tokengate_sessions_live",
			Help: "Live sessions per tenant: recounted from the store every minute, moved by this node's sign-ons and revocations in between.",
		}, []string{"tenant"}),
		names: map[string]string{},
	}
	if reg != nil {
		reg.MustRegister(l.gauge)
	}
	return l
}

// liveChange collects, by tenant id, what a transaction does to the
// number of live sessions; it is applied once the transaction committed.
type liveChange map[string]int

// started records a session started in tenant t.
func (c liveChange) started(t store.Tenant) { c[t.ID]++ }

// ended records n live sessions of a tenant revoked.
func (c liveChange) ended(tenantID string, n int) { c[tenantID] -= n }

// name remembers a tenant's name for the label.
func (l *liveSessions) name(t store.Tenant) {
	l.mu.Lock()
	l.names[t.ID] = t.Name
	l.mu.Unlock()
}

// apply moves the gauge by c. A tenant whose name this node does not know
// yet (its sessions were all started elsewhere) waits for the recount.
func (l *liveSessions) apply(c liveChange) {
	if len(c) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, d := range c {
		if name, ok := l.names[id]; ok && d != 0 {
			l.gauge.WithLabelValues(name).Add(float64(d))
		}
	}
}

// txLive runs fn in one transaction and, once it committed, applies to the
// gauge the changes fn recorded. fn may run more than once (a backend may
// retry a transaction); each run starts from an empty change.
func (e *Engine) txLive(ctx context.Context, fn func(q store.Queries, lc liveChange) error) error {
	var lc liveChange
	err := e.st.Tx(ctx, func(q store.Queries) error {
		lc = liveChange{}
		return fn(q, lc)
	})
	if err == nil {
		e.live.apply(lc)
	}
	return err
}

// RecountLiveSessions sets the live-sessions gauge from the store: every
// tenant's count, 0 for a tenant without live sessions, and no series for
// a tenant that no longer exists. serve calls it before it listens, Run
// once a minute.
func (e *Engine) RecountLiveSessions(ctx context.Context) error {
	tenants, err := e.st.ListTenants(ctx)
	if err != nil {
		return fmt.Errorf("recount live sessions: %w", err)
	}
	counts, err := e.st.CountLiveSessionsByTenant(ctx, e.now())
	if err != nil {
		return fmt.Errorf("recount live sessions: %w", err)
	}
	l := e.live
	l.mu.Lock()
	defer l.mu.Unlock()
	names := make(map[string]string, len(tenants))
	for _, t := range tenants {
		names[t.ID] = t.Name
		l.gauge.WithLabelValues(t.Name).Set(float64(counts[t.ID]))
	}
	for id, name := range l.names {
		if _, ok := names[id]; !ok {
			l.gauge.DeleteLabelValues(name)
		}
	}
	l.names = names
	return nil
}
