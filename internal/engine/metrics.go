package engine

import (
	"errors"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokengate/tokengate/internal/obs"
	"github.com/tokengate/tokengate/internal/token"
)

type metrics struct {
	signons   *prometheus.CounterVec
	refreshes *prometheus.CounterVec
	reuse     prometheus.Counter
	revoked   *prometheus.CounterVec
	failures  *prometheus.CounterVec
	// ops is the latency of each engine operation, from the call to the
	// answer (a password sign-on includes its wait for a hashing worker).
	ops *prometheus.HistogramVec
}

// Operations of tokengate_operation_duration_seconds.
const (
	opSignOnPassword    = "signon_password"
	opSignOnExternal    = "signon_external"
	opRefresh           = "refresh"
	opIntrospect        = "introspect"
	opRevoke            = "revoke"
	opClientCredentials = "client_credentials"
	opSignOnCode        = "signon_code"
)

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		signons: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokengate_signons_total", Help: "Sign-ons by service and result.",
		}, []string{"service", "result"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokengate_refreshes_total", Help: "Refreshes by service and result.",
		}, []string{"service", "result"}),
		reuse: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tokengate_refresh_reuse_total", Help: "Superseded refresh tokens presented (each revoked its session).",
		}),
		revoked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokengate_sessions_revoked_total", Help: "Sessions revoked, by reason.",
		}, []string{"reason"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokengate_signon_failures_total",
			Help: "Failed sign-ons by dialect and reason (wrong_password, unknown_user, invalid_name, unknown_tenant, throttled, external_not_allowed).",
		}, []string{"dialect", "reason"}),
		ops: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tokengate_operation_duration_seconds",
			Help: "Latency of engine operations (signon_password, signon_external, signon_code, refresh, introspect, revoke, client_credentials) by sign-on service and outcome (ok, refused, error).",
			// From a cached refresh (about 100 µs) to a password sign-on
			// queued behind argon2id (hundreds of ms).
			Buckets: obs.LatencyBuckets,
		}, []string{"operation", "service", "outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.signons, m.refreshes, m.reuse, m.revoked, m.failures, m.ops)
	}
	return m
}

// observe records one operation that started at start and ended with err.
func (m *metrics) observe(op, service string, start time.Time, err error) {
	m.ops.WithLabelValues(op, serviceLabel(service), outcome(err)).Observe(time.Since(start).Seconds())
}

// outcome labels an operation's end: ok, refused (one of the engine's
// sentinels: the request was answered, negatively) or error (anything
// else: the store failed, the caller went away).
func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case refusal(err):
		return "refused"
	}
	return "error"
}

// refusal reports whether err is one of the engine's sentinels, which
// answer a request (negatively), as opposed to a failure to answer it:
// ErrBusy (and ErrExternalUnavailable, which is one) are failures, the pool
// was full or the issuer unreachable.
func refusal(err error) bool {
	if errors.Is(err, ErrBusy) {
		return false
	}
	for _, r := range sentinels {
		if errors.Is(err, r) {
			return true
		}
	}
	return false
}

// failedSignOn counts a failed sign-on of a service ("ags:password" counts
// for the ags dialect). No user name is ever a label: the reasons and
// dialects are a short fixed set.
func (m *metrics) failedSignOn(service, reason string) {
	dialect, _, _ := strings.Cut(service, ":")
	m.failures.WithLabelValues(serviceLabel(dialect), reason).Inc()
}

// result names an outcome for a metric label from an error.
func result(err error) string {
	if err == nil {
		return "ok"
	}
	for _, c := range []struct {
		err   error
		label string
	}{
		{ErrThrottled, "throttled"},
		{ErrUnavailable, "unavailable"},
		{ErrInvalidCredentials, "invalid_credentials"},
		{ErrTokenExpired, "expired"},
		{ErrTokenRevoked, "revoked"},
		{ErrTokenReused, "reused"},
		{ErrInvalidToken, "invalid_token"},
		{ErrSessionLimit, "session_limit"},
		{ErrUserDisabled, "disabled"},
		{ErrRefreshNotEnabled, "refresh_not_enabled"},
		{ErrPolicyMismatch, "policy_mismatch"},
	} {
		if errors.Is(err, c.err) {
			return c.label
		}
	}
	return "error"
}

// registerGauges registers the gauges read at each scrape from memory
// (never from the store): the password-hashing pool and the signing key.
func registerGauges(reg prometheus.Registerer, h *hasher, ring *token.Ring, now func() time.Time) {
	if reg == nil {
		return
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tokengate_password_hash_workers", Help: "Size of the password-hashing pool (password.workers).",
		}, func() float64 { return float64(cap(h.slots)) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tokengate_password_hash_busy", Help: "Password-hashing workers computing a hash now.",
		}, func() float64 { return float64(len(h.slots)) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tokengate_password_hash_queue", Help: "Sign-ons waiting for a password-hashing worker.",
		}, func() float64 { return float64(h.waiting.Load()) }),
		keyAge{ring, now},
	)
}

// keyAge is tokengate_signing_key_age_seconds{kid}: how long the key that
// signs access tokens now has been signing. It has no series while no key
// signs (before the first key, or with only a next key).
type keyAge struct {
	ring *token.Ring
	now  func() time.Time
}

var keyAgeDesc = prometheus.NewDesc("tokengate_signing_key_age_seconds",
	"Seconds since the current signing key began signing (its kid as label).", []string{"kid"}, nil)

func (k keyAge) Describe(ch chan<- *prometheus.Desc) { ch <- keyAgeDesc }

func (k keyAge) Collect(ch chan<- prometheus.Metric) {
	now := k.now()
	for _, ki := range k.ring.Keys() {
		if ki.State == token.StateCurrent {
			ch <- prometheus.MustNewConstMetric(keyAgeDesc, prometheus.GaugeValue, now.Sub(ki.ActiveFrom).Seconds(), ki.ID)
		}
	}
}
