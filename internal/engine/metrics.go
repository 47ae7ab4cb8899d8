package engine

import (
	"errors"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	signons   *prometheus.CounterVec
	refreshes *prometheus.CounterVec
	reuse     prometheus.Counter
	revoked   *prometheus.CounterVec
	failures  *prometheus.CounterVec
}

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
	}
	if reg != nil {
		reg.MustRegister(m.signons, m.refreshes, m.reuse, m.revoked, m.failures)
	}
	return m
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
