package proxy

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/orderguard/orderguard/internal/outbox"
	"github.com/orderguard/orderguard/internal/pool"
)

// Outcomes of a request, the outcome label of orderguard_requests_total.
const (
	outcomeForwarded   = "forwarded"   // checked (or mode off) and answered by Forter
	outcomeRejected    = "rejected"    // enforce mode: 400 without calling Forter
	outcomeFallback    = "fallback"    // answered by the proxy: not reviewed (open) or 502/504 (closed)
	outcomePassthrough = "passthrough" // a path outside the spec, forwarded untouched
	outcomeUnknown     = "unknown"     // a path outside the spec, rejected (--unknown-routes reject)
	outcomeTooLarge    = "too_large"   // body over --max-body: 413
)

// Histogram buckets: the proxy's own work is microseconds, upstream calls
// milliseconds to the 2 s budget.
var (
	fastBuckets = []float64{5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2}
	slowBuckets = []float64{5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2, 5}
)

// metrics lives on a registry the proxy owns (served on the admin
// listener's /metrics), never the global one: tests build many proxies.
type metrics struct {
	reg *prometheus.Registry

	requests      *prometheus.CounterVec // operation, mode, outcome
	violations    *prometheus.CounterVec // rule, kind
	fallbacks     *prometheus.CounterVec // operation, reason
	drift         *prometheus.CounterVec // operation
	checksDropped prometheus.Counter
	retries       *prometheus.CounterVec   // operation
	validation    *prometheus.HistogramVec // operation
	upstream      *prometheus.HistogramVec // operation
	total         *prometheus.HistogramVec // operation
	outboxErrs    *prometheus.CounterVec   // cause (outbox.Cause)

	adminRefused prometheus.Counter

	jsonLimitRejections atomic.Uint64 // bodies past --max-depth, --max-string or --max-array
}

func newMetrics(p *pool.Pool, b *breaker) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderguard_requests_total",
			Help: "Requests by operation (operationId, or passthrough), mode and outcome (forwarded, rejected, fallback, passthrough, unknown, too_large).",
		}, []string{"operation", "mode", "outcome"}),
		violations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderguard_violations_total",
			Help: "Violations found in request bodies, by rule id (or schema keyword) and kind (syntax, schema, rule).",
		}, []string{"rule", "kind"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderguard_fallbacks_total",
			Help: "Requests answered by the proxy because Forter did not answer in budget, by reason (timeout, upstream-error, circuit-open).",
		}, []string{"operation", "reason"}),
		drift: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderguard_response_drift_total",
			Help: "Forter answers that did not match the spec (checked in report-only mode, passed through unchanged).",
		}, []string{"operation"}),
		checksDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orderguard_response_checks_dropped_total",
			Help: "Forter answers passed on without their report-only check because the check queue was full.",
		}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderguard_upstream_retries_total",
			Help: "Second attempts after a connection error, a timeout or a 5xx, within the budget.",
		}, []string{"operation"}),
		validation: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "orderguard_validation_duration_seconds",
			Help:    "Time to validate a request body.",
			Buckets: fastBuckets,
		}, []string{"operation"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "orderguard_upstream_duration_seconds",
			Help:    "Time spent calling Forter for one request, retry included.",
			Buckets: slowBuckets,
		}, []string{"operation"}),
		total: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "orderguard_request_duration_seconds",
			Help:    "Time from a request's arrival to its answer.",
			Buckets: slowBuckets,
		}, []string{"operation"}),
		outboxErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderguard_outbox_enqueue_errors_total",
			Help: "Fallback requests the outbox could not keep (answered as --fallback closed), by cause (no_space, read_only, io, closed, invalid).",
		}, []string{"cause"}),
		adminRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orderguard_admin_refused_total",
			Help: "Requests for the outbox API or profiles refused on the admin listener: not from loopback and no valid admin token.",
		}),
	}
	for _, c := range outbox.Causes {
		m.outboxErrs.WithLabelValues(c) // every cause present, at 0, for alerts
	}
	m.reg.MustRegister(m.requests, m.violations, m.fallbacks, m.drift, m.checksDropped, m.retries,
		m.validation, m.upstream, m.total, m.outboxErrs, m.adminRefused,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	stat := func(f func(pool.Stats) int64) func() float64 {
		return func() float64 { return float64(f(p.Stats())) }
	}
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "orderguard_upstream_connections_opened_total",
			Help: "Upstream connections established.",
		}, stat(func(s pool.Stats) int64 { return s.ConnsOpened })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "orderguard_upstream_connections_open",
			Help: "Upstream connections open now.",
		}, stat(func(s pool.Stats) int64 { return s.ConnsOpen })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "orderguard_upstream_tls_handshakes_total",
			Help:        "TLS handshakes with the upstream, by whether they resumed a cached session.",
			ConstLabels: prometheus.Labels{"resumed": "false"},
		}, stat(func(s pool.Stats) int64 { return s.FullHandshakes })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "orderguard_upstream_tls_handshakes_total",
			Help:        "TLS handshakes with the upstream, by whether they resumed a cached session.",
			ConstLabels: prometheus.Labels{"resumed": "true"},
		}, stat(func(s pool.Stats) int64 { return s.ResumedHandshakes })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "orderguard_upstream_dial_errors_total",
			Help: "Failed upstream connects and TLS handshakes.",
		}, stat(func(s pool.Stats) int64 { return s.DialErrors })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "orderguard_upstream_stale_replays_total",
			Help: "Requests replayed once because a kept-alive connection was found closed by the server.",
		}, stat(func(s pool.Stats) int64 { return s.StaleReplays })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "orderguard_circuit_state",
			Help: "Circuit breaker state: 0 closed, 1 open, 2 half-open.",
		}, func() float64 { return float64(b.state.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "orderguard_circuit_opens_total",
			Help: "Times the circuit breaker opened.",
		}, func() float64 { return float64(b.opens.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "orderguard_inbound_json_limit_rejections_total",
			Help: "Requests answered 400 because the body broke --max-depth, --max-string or --max-array.",
		}, func() float64 { return float64(m.jsonLimitRejections.Load()) }),
	)
	return m
}

// Registry is the proxy's metrics registry; callers may register their own
// collectors (the outbox's depth and age) on it.
func (p *Proxy) Registry() *prometheus.Registry { return p.m.reg }
