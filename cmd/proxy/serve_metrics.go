package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderguard/orderguard/internal/buildinfo"
	"github.com/orderguard/orderguard/internal/inbound"
	"github.com/orderguard/orderguard/internal/outbox"
)

// outboxCollector puts the outbox's state on the proxy's /metrics, read once
// per scrape (Store.Stats holds the store's lock briefly; no disk access).
type outboxCollector struct {
	store outbox.Backend

	depth, dead, oldest, paused, enqueued, delivered, deadLettered, attempts, failures *prometheus.Desc
}

// backend ("bbolt" or "jetstream") is a constant label, so that one
// dashboard shows either kind of fleet under the same metric names.
func newOutboxCollector(s outbox.Backend, backend string) *outboxCollector {
	labels := prometheus.Labels{"backend": backend}
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, labels) }
	return &outboxCollector{
		store:        s,
		depth:        d("orderguard_outbox_depth", "Requests waiting in the outbox to be resent."),
		dead:         d("orderguard_outbox_dead", "Requests in the outbox's dead-letter bucket."),
		oldest:       d("orderguard_outbox_oldest_age_seconds", "Age of the oldest waiting request since its first try (0 when empty)."),
		paused:       d("orderguard_outbox_paused", "1 while the resender waits for the upstream circuit to close."),
		enqueued:     d("orderguard_outbox_enqueued_total", "Requests kept by the outbox (lifetime of the file)."),
		delivered:    d("orderguard_outbox_delivered_total", "Requests delivered by the resender (lifetime of the file)."),
		deadLettered: d("orderguard_outbox_dead_lettered_total", "Requests moved to dead-letter (lifetime of the file)."),
		attempts:     d("orderguard_outbox_resend_attempts_total", "Resend attempts by this process."),
		failures:     d("orderguard_outbox_resend_failures_total", "Resend attempts answered 429 or 5xx or failed in transport, this process."),
	}
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.depth, c.dead, c.oldest, c.paused, c.enqueued, c.delivered, c.deadLettered, c.attempts, c.failures} {
		ch <- d
	}
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	st, err := c.store.Stats()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.depth, err)
		return
	}
	paused := 0.0
	if st.Paused {
		paused = 1
	}
	g := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	k := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	g(c.depth, float64(st.Pending))
	g(c.dead, float64(st.Dead))
	g(c.oldest, st.OldestAgeSec)
	g(c.paused, paused)
	k(c.enqueued, st.Enqueued)
	k(c.delivered, st.Delivered)
	k(c.deadLettered, st.DeadLettered)
	k(c.attempts, st.Attempts)
	k(c.failures, st.Failures)
}

// inboundAuthRejected counts requests refused by the shared-secret check.
func inboundAuthRejected(c *inbound.SecretCheck) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "orderguard_inbound_auth_failures_total",
		Help: "Requests answered 401 for a missing or wrong inbound shared secret.",
	}, func() float64 { return float64(c.Rejected()) })
}

// connGuardMetrics exports the client connection caps' counters.
func connGuardMetrics(g *inbound.ConnGuard) []prometheus.Collector {
	refused := func(reason string, f func() uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "orderguard_inbound_connections_refused_total",
			Help:        "Client connections closed as soon as accepted: --max-open-conns or --max-conns-per-ip were reached.",
			ConstLabels: prometheus.Labels{"reason": reason},
		}, func() float64 { return float64(f()) })
	}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "orderguard_inbound_connections_open",
			Help: "Client connections open now (the --max-open-conns cap applies to this).",
		}, func() float64 { return float64(g.Open()) }),
		refused("max-open-conns", g.RefusedOpen),
		refused("max-conns-per-ip", g.RefusedPerIP),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "orderguard_inbound_accept_errors_total",
			Help: "Failed accepts on --listen (too many open files, no buffer space, ...), each retried after a backoff of 5ms doubling to 1s.",
		}, func() float64 { return float64(g.AcceptErrors()) }),
	}
}

// buildInfoMetric is orderguard_build_info{version,revision,...} 1, the usual
// way to join a build's identity onto other series (group_left).
func buildInfoMetric(in buildinfo.Info) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "orderguard_build_info",
		Help: "Always 1; the labels say which build is running (module version, commit, commit time, dirty checkout, toolchain).",
		ConstLabels: prometheus.Labels{"version": in.Version, "revision": in.Revision, "build_time": in.Time,
			"modified": in.ModifiedLabel(), "goversion": in.GoVersion},
	})
	g.Set(1)
	return g
}
