package inbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// Edge is everything a client's request meets before the proxy's handler,
// and the metrics of each part. Its order is written once, in Server;
// Collectors are its metrics. cmd/proxy's serve fills it from the settings
// (the connection guard, the secret check, the limits, the proxy's
// --max-body and too-large count) and hands it to proxy.Serve. The JSON shape
// limits (--max-depth, --max-string, --max-array) are not here: the proxy
// checks them in its one pass over the body (internal/validate's scanner).
type Edge struct {
	// Limits are fasthttp's limits (Apply) and, as middleware, the
	// concurrency cap and the header count (Wrap). MaxBodyBytes is the
	// proxy's --max-body.
	Limits Limits
	// Secret is the shared-secret check; nil or without a key: none.
	Secret *SecretCheck
	// Guard caps client connections; Listen applies it to the listener
	// (Config.Guard), the Edge exports its counters. Nil: no caps.
	Guard *ConnGuard
	// Logger gets the refusal log's lines and fasthttp's own messages (at
	// debug level). Nil: slog.Default().
	Logger *slog.Logger
	// TooLarge, when set, is told of each request whose body fasthttp
	// refused for MaxBodyBytes (413), which no handler sees.
	TooLarge func(method, path []byte)

	lim *Limiter
}

// Server is the fasthttp server of the edge, serving next. A request meets,
// outermost first:
//
//  1. the connection guard (--max-open-conns, --max-conns-per-ip), as the
//     connection is accepted (the listener's, see Guard);
//  2. fasthttp's own limits: the read timeout, header size and body size
//     (408, 431, 413, answered by ErrorHandler);
//  3. the refusal log, which logs what the steps below and ErrorHandler
//     refused;
//  4. the shared-secret check (401), which removes the header;
//  5. the concurrency cap (503) and
//  6. the header count (431);
//  7. next, the proxy, which refuses a body past the JSON shape limits (400)
//     in its validation pass.
func (e *Edge) Server(next fasthttp.RequestHandler) *fasthttp.Server {
	log := e.logger()
	l := e.Limits.WithDefaults()
	h := e.limiter().Wrap(MaxHeaders(l.MaxHeaders, next))
	if e.Secret != nil {
		h = e.Secret.Wrap(h)
	}
	refusals := &RefusalLog{Logger: log}
	h = refusals.Wrap(h)
	srv := &fasthttp.Server{
		Handler:                      h,
		Name:                         "orderguard",
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true, // answers in flight at shutdown carry Connection: close
		Logger:                       quietLogger{log},
	}
	l.Apply(srv)
	srv.ErrorHandler = func(c *fasthttp.RequestCtx, err error) {
		if e.TooLarge != nil && errors.Is(err, fasthttp.ErrBodyTooLarge) {
			e.TooLarge(c.Method(), c.Path())
		}
		ErrorHandler(c, err)
		refusals.NoteRefused(c)
	}
	return srv
}

func (e *Edge) limiter() *Limiter {
	if e.lim == nil {
		e.lim = NewLimiter(e.Limits.WithDefaults().MaxConcurrent)
	}
	return e.lim
}

func (e *Edge) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.Default()
	}
	return e.Logger
}

// Collectors are the edge's metrics: the requests in flight and refused for
// --max-concurrent, and, for the parts that are set, the secret check's
// refusals and the connection guard's counters (the JSON limits' counter is
// the proxy's).
func (e *Edge) Collectors() []prometheus.Collector {
	lim := e.limiter()
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "orderguard_inbound_in_flight_requests",
			Help: "Requests being served now (the --max-concurrent cap applies to this).",
		}, func() float64 { return float64(lim.InFlight()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "orderguard_inbound_overload_rejections_total",
			Help: "Requests answered 503 because --max-concurrent requests were in flight.",
		}, func() float64 { return float64(lim.Rejected()) }),
	}
	if c := e.Secret; c != nil && c.Key.IsSet() {
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "orderguard_inbound_auth_failures_total",
			Help: "Requests answered 401 for a missing or wrong inbound shared secret.",
		}, func() float64 { return float64(c.Rejected()) }))
	}
	if g := e.Guard; g != nil {
		refused := func(reason string, f func() uint64) prometheus.Collector {
			return prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name:        "orderguard_inbound_connections_refused_total",
				Help:        "Client connections closed as soon as accepted: --max-open-conns or --max-conns-per-ip were reached.",
				ConstLabels: prometheus.Labels{"reason": reason},
			}, func() float64 { return float64(f()) })
		}
		cs = append(cs,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "orderguard_inbound_connections_open",
				Help: "Client connections open now (the --max-open-conns cap applies to this).",
			}, func() float64 { return float64(g.Open()) }),
			refused("max-open-conns", g.RefusedOpen),
			refused("max-conns-per-ip", g.RefusedPerIP),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "orderguard_inbound_accept_errors_total",
				Help: "Failed accepts on --listen (too many open files, no buffer space, ...), each retried after a backoff of 5ms doubling to 1s.",
			}, func() float64 { return float64(g.AcceptErrors()) }))
	}
	return cs
}

// quietLogger sends fasthttp's connection-level messages to slog at debug
// level: with SecureErrorLogMessage they carry no request bytes, and a
// client hanging up is not worth a line at info.
type quietLogger struct{ l *slog.Logger }

func (q quietLogger) Printf(format string, args ...any) {
	if q.l.Enabled(context.Background(), slog.LevelDebug) {
		q.l.Debug(fmt.Sprintf(format, args...))
	}
}
