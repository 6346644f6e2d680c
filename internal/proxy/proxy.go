package proxy

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/orderguard/orderguard/internal/redact"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/internal/outbox"
	"github.com/orderguard/orderguard/internal/pool"
	"github.com/orderguard/orderguard/internal/secret"
	"github.com/orderguard/orderguard/internal/tracing"
	"github.com/orderguard/orderguard/internal/validate"
)

// Options are the proxy's collaborators; Config is its settings.
type Options struct {
	// Operations are the spec operations to route and validate (gen.Operations).
	Operations []validate.Operation
	// Pool is the upstream client. Its lifecycle (Start, Close) is the caller's.
	Pool *pool.Pool
	// Outbox keeps open-fallback requests for resending. Nil means a
	// LogEnqueuer on Logger: nothing is kept.
	Outbox outbox.Enqueuer
	// Logger nil means slog.Default().
	Logger *slog.Logger
	// RequestLog, when set, receives the one line per forwarded request in
	// RequestLogFormat, written without slog (cheaper on the hot path); nil
	// logs those lines through Logger at info level. Set it only when the
	// logger's level lets info lines through, and to the logger's writer.
	RequestLog io.Writer
	// RequestLogFormat is the format of RequestLog's lines: json (the
	// default) or text, as --log-format.
	RequestLogFormat string
	// APIKey, when set, is injected as Basic auth; it may be reloaded while
	// serving. Nil or empty keeps the client's own Authorization.
	APIKey *secret.Key
	// Validators, when set, gives the body validators in place of
	// Operations' own (a spec reloaded while serving: internal/compiled).
	Validators Validators
	// Tracer makes the request path's spans; nil is tracing off.
	Tracer *tracing.Tracer
}

// Validators is the operations table serving now: the same operations, in
// the order of Options.Operations, whose validators may be swapped at any
// time. A request takes the table once, at its start, and keeps it.
type Validators interface{ Current() []validate.Operation }

// Proxy is the request path: route, validate, decide, forward within the
// budget, fall back. Handler is its fasthttp handler.
type Proxy struct {
	cfg    Config
	ops    []*opState
	pt     *opState // passthrough: paths outside the spec
	pool   *pool.Pool
	outbox outbox.Enqueuer
	// enqBy is outbox when its write waits on the network (JetStream): the
	// upstream call then ends reserve before the deadline, and the write
	// gets what is left. Nil (bbolt, the log): the whole budget is Forter's.
	enqBy   outbox.DeadlineEnqueuer
	reserve time.Duration
	log     *slog.Logger
	tr      *tracing.Tracer // nil: tracing off
	reqLog  *requestLog     // nil: request lines go through log
	br      *breaker
	m       *metrics
	allow   []allowRoute // --passthrough-routes: off-spec routes that get the API key
	checks  *responseChecks

	allowHeader string // Allow of a 405: the methods of operations and allowlisted routes
	reports     sync.Pool

	limits   validate.Limits // --max-depth, --max-string, --max-array: limits.go
	limitsOn bool

	apiKey     *secret.Key
	validators Validators // nil: each opState's op
	auth       atomic.Pointer[authCache]
	siteID     []byte
	apiVersion []byte
}

type authCache struct {
	gen uint64
	val []byte
}

// opState is one operation with its settings and its metric children,
// resolved once so that the request path does no label lookups.
type opState struct {
	op     validate.Operation
	index  int // in Options.Operations and Validators.Current()
	route  route
	mode   Mode
	budget time.Duration
	shape  fallbackShape
	forwarded, rejected, fallbackN, passthrough,
	unknown, tooLarge prometheus.Counter
	fbTimeout, fbUpstream, fbCircuit, fbQueued prometheus.Counter
	drift, retries                             prometheus.Counter
	validation, upstream, total                prometheus.Observer
}

// validated reports whether the operation's bodies are validated: not in
// mode off, and not without a validator.
func (st *opState) validated() bool { return st.mode != ModeOff && st.op.Request != nil }

// New builds a proxy. cfg must have passed Check.
func New(cfg Config, o Options) (*Proxy, error) {
	if o.Pool == nil {
		return nil, errors.New("proxy: no upstream pool")
	}
	if err := cfg.Check(o.Operations); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Outbox == nil {
		o.Outbox = LogEnqueuer{Logger: o.Logger}
	}
	limits := validate.Limits{MaxDepth: cfg.MaxDepth, MaxString: cfg.MaxString, MaxArray: cfg.MaxArray}
	p := &Proxy{
		cfg:        cfg,
		pool:       o.Pool,
		outbox:     o.Outbox,
		log:        o.Logger,
		tr:         o.Tracer,
		br:         newBreaker(cfg.BreakerFailures, cfg.BreakerCooldown),
		apiKey:     o.APIKey,
		validators: o.Validators,
		siteID:     []byte(cfg.SiteID),
		apiVersion: []byte(cfg.APIVersion),
		checks:     newResponseChecks(),
		limits:     limits,
		limitsOn:   limits.On(),
	}
	if de, ok := o.Outbox.(outbox.DeadlineEnqueuer); ok && cfg.Fallback == FallbackOpen {
		if err := cfg.checkEnqueueReserve(); err != nil {
			return nil, err
		}
		p.enqBy, p.reserve = de, cfg.OutboxEnqueueReserve
	}
	if o.RequestLog != nil {
		p.reqLog = newRequestLog(o.RequestLog, o.RequestLogFormat)
	}
	p.m = newMetrics(o.Pool, p.br)
	severities := cfg.Rules
	p.reports.New = func() any {
		return &validate.Report{Violations: make([]validate.Violation, 0, 16), Severities: severities}
	}
	for i, op := range o.Operations {
		r, err := compileRoute(op.Method, op.Path)
		if err != nil {
			return nil, fmt.Errorf("operation %s: %w", op.ID, err)
		}
		st := p.newOpState(op.ID, cfg.modeOf(op.ID), cfg.budgetOf(op.ID))
		st.op, st.index, st.route, st.shape = op, i, r, shapeOf(op)
		p.ops = append(p.ops, st)
	}
	p.pt = p.newOpState("passthrough", ModeOff, cfg.Budget)
	allow, err := compileAllowlist(cfg.PassthroughRoutes)
	if err != nil {
		return nil, err
	}
	p.allow = allow
	p.allowHeader = allowedMethods(p.ops, p.allow)
	return p, nil
}

func (p *Proxy) newOpState(id string, mode Mode, budget time.Duration) *opState {
	m := p.m
	ms := mode.String()
	if id == "passthrough" {
		ms = "none"
	}
	return &opState{
		mode:        mode,
		budget:      budget,
		forwarded:   m.requests.WithLabelValues(id, ms, outcomeForwarded),
		rejected:    m.requests.WithLabelValues(id, ms, outcomeRejected),
		fallbackN:   m.requests.WithLabelValues(id, ms, outcomeFallback),
		passthrough: m.requests.WithLabelValues(id, ms, outcomePassthrough),
		unknown:     m.requests.WithLabelValues(id, ms, outcomeUnknown),
		tooLarge:    m.requests.WithLabelValues(id, ms, outcomeTooLarge),
		fbTimeout:   m.fallbacks.WithLabelValues(id, reasonTimeout),
		fbUpstream:  m.fallbacks.WithLabelValues(id, reasonUpstream),
		fbCircuit:   m.fallbacks.WithLabelValues(id, reasonCircuit),
		fbQueued:    m.fallbacks.WithLabelValues(id, reasonQueued),
		drift:       m.drift.WithLabelValues(id),
		retries:     m.retries.WithLabelValues(id),
		validation:  m.validation.WithLabelValues(id),
		upstream:    m.upstream.WithLabelValues(id),
		total:       m.total.WithLabelValues(id),
	}
}

// match finds the operation of a request; nil means a path outside the spec.
func (p *Proxy) match(method, path []byte) (*opState, []byte) {
	for _, st := range p.ops {
		if id, ok := st.route.match(method, path); ok {
			return st, id
		}
	}
	return nil, nil
}

// Handler serves one request. The body was read by the server, once, under
// the --max-body cap; the same bytes are validated (decoded first when sent
// compressed: bodyToCheck) and forwarded. The JSON shape limits are checked
// in the validation pass, or, for a body no validator reads, first of all
// (limits.go).
func (p *Proxy) Handler(ctx *fasthttp.RequestCtx) {
	rt := p.resolve(ctx)
	if p.limitsOn && (rt.kind != routeOperation || !rt.st.validated()) && p.overLimits(ctx) {
		return
	}
	switch rt.kind {
	case routeForeign, routeAllowed:
		p.passthrough(ctx, rt.kind == routeAllowed)
		return
	case routeNearMiss, routeAmbiguous, routeNever:
		p.refuseRoute(ctx, rt)
		return
	}
	st, orderID := rt.st, rt.id
	start := arrival(ctx)
	deadline := start.Add(st.budget)
	tr := p.tr.Start(&ctx.Request.Header, st.op.Path, st.op.ID, st.mode.String(), start)
	body := ctx.PostBody()
	found := -1 // violations found; -1: not checked
	// Two clock reads per request (time.Now shows in profiles): fasthttp
	// stamps ctx.Time() just before calling the handler, so it is the start
	// of validation too; then between validation and the upstream call, and
	// after it.
	t0 := start
	op := p.validatorsOf(st)
	checked, decoded, next := p.bodyToCheck(ctx, st, orderID)
	if next == bodyAnswered {
		st.total.Observe(time.Since(start).Seconds())
		return
	}
	defer releaseBody(decoded)
	if next == bodyValidate && op.Request != nil {
		r := p.reports.Get().(*validate.Report)
		r.Reset()
		r.Limits = p.limits
		op.Request(checked, r)
		if r.Breach.Rule != "" {
			// Refused as the limits refuse, before validation counts: the
			// request leaves no other metric, log line or span.
			p.refuseLimits(ctx, r.Breach)
			p.reports.Put(r)
			return
		}
		found = len(r.Violations)
		tr.Validation(t0, r)
		if found > 0 {
			p.countViolations(r)
			if st.mode == ModeEnforce && r.Errors() > 0 {
				st.validation.Observe(time.Since(t0).Seconds())
				p.reject(ctx, st, orderID, r)
				p.reports.Put(r)
				st.rejected.Inc()
				st.total.Observe(time.Since(start).Seconds())
				tr.End(outcomeRejected, ctx.Response.StatusCode())
				return
			}
			p.logViolations(ctx, st, orderID, r, "forwarded with violations")
		}
		p.reports.Put(r)
	}

	clientClose := p.prepare(&ctx.Request, true)
	t1 := time.Now()
	if found >= 0 {
		st.validation.Observe(t1.Sub(t0).Seconds())
	}
	if p.mustQueueBehind(st, orderID) {
		p.fallback(ctx, st, orderID, resQueued, clientClose, body, deadline, tr)
		st.total.Observe(time.Since(start).Seconds())
		tr.End(outcomeFallback, ctx.Response.StatusCode())
		return
	}
	res := p.call(&ctx.Request, &ctx.Response, deadline.Add(-p.reserve), st, tr)
	t2 := time.Now()
	st.upstream.Observe(t2.Sub(t1).Seconds())
	if res != resOK {
		p.fallback(ctx, st, orderID, res, clientClose, body, deadline, tr)
		st.total.Observe(time.Since(start).Seconds())
		tr.End(outcomeFallback, ctx.Response.StatusCode())
		return
	}
	p.finish(&ctx.Response, clientClose)
	if found > 0 || (found == 0 && st.mode == ModeReport) {
		var buf [20]byte
		ctx.Response.Header.SetBytesV(HeaderViolations, strconv.AppendInt(buf[:0], int64(found), 10))
	}
	if p.cfg.CheckResponses && st.mode != ModeOff {
		p.queueResponseCheck(&ctx.Response, st, op, orderID)
	}
	st.forwarded.Inc()
	st.total.Observe(t2.Sub(start).Seconds())
	tr.End(outcomeForwarded, ctx.Response.StatusCode())
	// One line per forwarded request (rejections and fallbacks log their
	// own); --log-level warn silences it.
	if p.reqLog != nil {
		end := time.Now()
		p.reqLog.write(requestLine{operation: st.op.ID, orderID: shownID(orderID), status: ctx.Response.StatusCode(),
			violations: max(found, 0), validation: t1.Sub(t0), upstream: t2.Sub(t1), total: end.Sub(start), at: end})
	} else if p.log.Enabled(context.Background(), slog.LevelInfo) {
		p.log.LogAttrs(context.Background(), slog.LevelInfo, "request",
			slog.String("operation", st.op.ID), slog.String("order_id", string(shownID(orderID))),
			slog.String("outcome", outcomeForwarded), slog.Int("status", ctx.Response.StatusCode()),
			slog.Int("violations", max(found, 0)),
			slog.Float64("validation_ms", millis(t1.Sub(t0))), slog.Float64("upstream_ms", millis(t2.Sub(t1))),
			slog.Float64("total_ms", millis(time.Since(start))))
	}
}

// validatorsOf is the operation whose validators serve this request.
func (p *Proxy) validatorsOf(st *opState) validate.Operation {
	if p.validators == nil {
		return st.op
	}
	return p.validators.Current()[st.index]
}

// millis writes a duration as fractional milliseconds, the unit people read
// latency in (slog's Duration is integer nanoseconds in JSON).
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// arrival is when the request was read: the start of its budget. fasthttp
// sets it before calling the handler; a RequestCtx built by hand (Init) has
// none, and then it is now (each call: such callers get no duration metrics
// worth reading, but a correct budget).
func arrival(ctx *fasthttp.RequestCtx) time.Time {
	if t := ctx.Time(); !t.IsZero() {
		return t
	}
	return time.Now()
}

// passthrough forwards a path outside the spec untouched (hop-by-hop headers
// aside), or rejects it with --unknown-routes reject. Only an allowlisted
// route (--passthrough-routes) gets the API key; any other keeps the
// client's own Authorization, so that the proxy is no authenticated relay to
// every Forter endpoint.
func (p *Proxy) passthrough(ctx *fasthttp.RequestCtx, allowed bool) {
	st := p.pt
	tr := p.tr.Start(&ctx.Request.Header, "", st.op.ID, "none", arrival(ctx))
	if p.cfg.RejectUnknown && !allowed {
		writeJSON(ctx, fasthttp.StatusNotFound, contentJSON,
			appendFailed(nil, "Not found: orderguard forwards only the Forter operations it knows (--unknown-routes reject)"))
		st.unknown.Inc()
		tr.End(outcomeUnknown, fasthttp.StatusNotFound)
		return
	}
	clientClose := p.prepare(&ctx.Request, allowed)
	t0 := time.Now()
	res := p.call(&ctx.Request, &ctx.Response, arrival(ctx).Add(st.budget), st, tr)
	st.upstream.Observe(time.Since(t0).Seconds())
	if res != resOK {
		// Not an operation the outbox can replay: answer as --fallback closed.
		p.failClosed(ctx, st, res, clientClose)
		st.total.Observe(time.Since(arrival(ctx)).Seconds())
		tr.End(outcomeFallback, ctx.Response.StatusCode())
		return
	}
	p.finish(&ctx.Response, clientClose)
	st.passthrough.Inc()
	st.total.Observe(time.Since(arrival(ctx)).Seconds())
	tr.End(outcomePassthrough, ctx.Response.StatusCode())
}

// Hop-by-hop headers (RFC 9110 7.6.1) are not forwarded either way.
// Connection and Transfer-Encoding are handled by fasthttp's own fields.
// Expect is answered by the proxy's server (100 Continue) and the body is
// already read: forwarding it would make the upstream expect to pause.
var hopHeaders = []string{"Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Proxy-Authenticate", "TE", "Trailer", "Upgrade", "Transfer-Encoding", "Expect"}

// hopReq and hopResp report whether a header holds a hop-by-hop field: one
// pass over the fields instead of a lookup per hop-by-hop name per request.
func hopReq(h *fasthttp.RequestHeader) bool {
	for k := range h.All() {
		if isHop(k) {
			return true
		}
	}
	return false
}

func hopResp(h *fasthttp.ResponseHeader) bool {
	for k := range h.All() {
		if isHop(k) {
			return true
		}
	}
	return false
}

func isHop(k []byte) bool {
	switch len(k) {
	case 2, 6, 7, 10, 16, 17, 18, 19:
		for _, h := range hopHeaders {
			if len(h) == len(k) && equalFold(k, h) {
				return true
			}
		}
	}
	return false
}

// equalFold compares ASCII header names case-insensitively without allocating.
func equalFold(b []byte, s string) bool {
	for i := range len(b) {
		c, d := b[i], s[i]
		if c|0x20 != d|0x20 {
			return false
		}
	}
	return true
}

// prepare turns the client's request into the upstream request, in place:
// hop-by-hop headers out, upstream host in, credentials injected when
// withKey (an operation or an allowlisted route). It returns whether the
// client asked to close its connection.
func (p *Proxy) prepare(req *fasthttp.Request, withKey bool) (clientClose bool) {
	clientClose = req.Header.ConnectionClose()
	if clientClose {
		req.Header.ResetConnectionClose() // the upstream connection stays warm
	}
	if hopReq(&req.Header) {
		for _, h := range hopHeaders {
			req.Header.Del(h)
		}
	}
	p.pool.Target(req)
	if a := p.authorization(); a != nil && withKey {
		req.Header.SetBytesV(fasthttp.HeaderAuthorization, a)
	}
	if len(p.siteID) > 0 {
		req.Header.SetBytesV("x-forter-siteid", p.siteID)
	}
	if len(p.apiVersion) > 0 && len(req.Header.Peek("api-version")) == 0 {
		req.Header.SetBytesV("api-version", p.apiVersion)
	}
	return clientClose
}

// finish makes the upstream's answer the client's: hop-by-hop headers out,
// and the client connection kept or closed as the client, not Forter, asked.
func (p *Proxy) finish(resp *fasthttp.Response, clientClose bool) {
	if hopResp(&resp.Header) {
		for _, h := range hopHeaders {
			resp.Header.Del(h)
		}
	}
	if clientClose {
		resp.SetConnectionClose()
	} else {
		resp.Header.ResetConnectionClose()
	}
}

// authorization is the Basic header of the configured API key, rebuilt only
// when the key was reloaded.
func (p *Proxy) authorization() []byte {
	if !p.apiKey.IsSet() {
		return nil
	}
	gen := p.apiKey.Generation()
	if c := p.auth.Load(); c != nil && c.gen == gen {
		return c.val
	}
	key := p.apiKey.Value().Reveal()
	v := make([]byte, 0, 6+base64.StdEncoding.EncodedLen(len(key)+1))
	v = append(v, "Basic "...)
	v = base64.StdEncoding.AppendEncode(v, []byte(key+":"))
	p.auth.Store(&authCache{gen: gen, val: v})
	return v
}

// result is how an upstream call ended.
type result uint8

const (
	resOK       result = iota // an answer to pass on (2xx, 4xx incl. 429, other 5xx)
	resTimeout                // the budget ran out
	resUpstream               // connection error, 500/502/503/504, answer too large
	resCircuit                // the circuit is open: not tried
	resQueued                 // not tried: an earlier request of the same order waits in the outbox
)

// Fallback reasons, as X-Orderguard-Fallback and the reason label spell them.
const (
	reasonTimeout  = "timeout"
	reasonUpstream = "upstream-error"
	reasonCircuit  = "circuit-open"
	reasonQueued   = "queued-behind-order"
)

func (r result) reason() string {
	switch r {
	case resTimeout:
		return reasonTimeout
	case resCircuit:
		return reasonCircuit
	case resQueued:
		return reasonQueued
	}
	return reasonUpstream
}

// call sends req upstream with at most one retry, and says how it ended.
// One place decides whether to try again (tryAgain). Each attempt is a client
// span of tr, whose traceparent req carries.
func (p *Proxy) call(req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time, st *opState, tr tracing.Request) result {
	for attempt := 0; ; attempt++ {
		ok, probe := p.br.allow()
		if !ok {
			return resCircuit
		}
		span := tr.Attempt(req, attempt)
		err := p.pool.Do(req, resp, deadline)
		span.End(resp.StatusCode(), err)
		res, retryable := classify(err, resp, deadline)
		if res == resOK {
			p.br.success(probe)
			return resOK
		}
		p.br.failure(probe)
		if !p.tryAgain(attempt, retryable, deadline) {
			return res
		}
		st.retries.Inc()
	}
}

// mustQueueBehind reports whether a status update must wait in the outbox
// because its order (or an earlier update) still does: sent live, it would
// reach Forter before the order it updates. Only status updates are asked, so
// orders pay nothing for it.
func (p *Proxy) mustQueueBehind(st *opState, orderID []byte) bool {
	if st.shape != shapeStatus || p.cfg.Fallback != FallbackOpen {
		return false
	}
	line, ok := p.outbox.(outbox.OrderLine)
	return ok && line.HasPending(string(orderID))
}

// tryAgain allows one retry, only for a retryable failure, and only while
// --retry-min-remaining of the budget is left.
func (p *Proxy) tryAgain(attempt int, retryable bool, deadline time.Time) bool {
	return attempt == 0 && retryable && time.Until(deadline) >= p.cfg.RetryMinRemaining
}

// classify maps an upstream outcome to a result and whether a retry may help.
// Retryable: a connection error, a timeout before any answer (fasthttp reports
// no answer on ErrTimeout), and 500/502/503/504. Never a 4xx.
func classify(err error, resp *fasthttp.Response, deadline time.Time) (result, bool) {
	if err == nil {
		switch resp.StatusCode() {
		case fasthttp.StatusInternalServerError, fasthttp.StatusBadGateway,
			fasthttp.StatusServiceUnavailable, fasthttp.StatusGatewayTimeout:
			return resUpstream, true
		}
		return resOK, false
	}
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return resUpstream, false // the same answer would come again
	case errors.Is(err, pool.ErrClosed):
		return resUpstream, false
	case !time.Now().Before(deadline):
		return resTimeout, false
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout),
		errors.Is(err, fasthttp.ErrTLSHandshakeTimeout):
		return resTimeout, true
	}
	return resUpstream, true
}

// fallback answers for Forter: open, "not reviewed" in the operation's shape
// once the outbox holds the request; closed, or when the outbox cannot
// write, 504/502 in Forter's error shape. deadline is the end of the
// request's budget: a JetStream outbox's write waits until then, no longer.
func (p *Proxy) fallback(ctx *fasthttp.RequestCtx, st *opState, orderID []byte, res result, clientClose bool, body []byte, deadline time.Time, tr tracing.Request) {
	switch res {
	case resTimeout:
		st.fbTimeout.Inc()
	case resCircuit:
		st.fbCircuit.Inc()
	case resQueued:
		st.fbQueued.Inc()
	default:
		st.fbUpstream.Inc()
	}
	if p.cfg.Fallback == FallbackOpen {
		span, traceparent := tr.Enqueue(res.reason())
		r := outbox.Request{
			Operation: st.op.ID,
			OrderID:   outboxLine(st.shape, orderID),
			Method:    string(ctx.Method()),
			Path:      string(ctx.RequestURI()),
			Header:    keptHeaders(&ctx.Request.Header),
			Body:      append([]byte(nil), body...),
			FirstTry:  arrival(ctx),
			// The resend's span links to this one.
			Traceparent: traceparent,
		}
		var err error
		if p.enqBy != nil {
			err = p.enqBy.EnqueueBy(r, deadline)
		} else {
			err = p.outbox.Enqueue(r)
		}
		span.End(err)
		if err == nil {
			ctx.Response.Reset()
			if clientClose {
				ctx.Response.SetConnectionClose()
			}
			ctx.Response.Header.Set(HeaderFallback, res.reason())
			b, status := appendFallback(nil, st.shape, shownID(orderID))
			writeJSON(ctx, status, contentJSON, b)
			st.fallbackN.Inc()
			p.log.LogAttrs(context.Background(), slog.LevelWarn, "fallback answered, request queued for resend",
				slog.String("operation", st.op.ID), slog.String("order_id", string(shownID(orderID))),
				slog.String("reason", res.reason()), durationMS("duration_ms", time.Since(arrival(ctx))))
			return
		}
		p.m.outboxErrs.WithLabelValues(outbox.Cause(err)).Inc()
		p.log.LogAttrs(context.Background(), slog.LevelError, "outbox could not keep the request; answering as --fallback closed",
			slog.String("operation", st.op.ID), slog.String("order_id", string(shownID(orderID))), slog.String("error", err.Error()))
	}
	p.failClosed(ctx, st, res, clientClose)
	if p.cfg.Fallback == FallbackClosed {
		p.log.LogAttrs(context.Background(), slog.LevelWarn, "upstream failed, answered as --fallback closed",
			slog.String("operation", st.op.ID), slog.String("order_id", string(shownID(orderID))),
			slog.String("reason", res.reason()), durationMS("duration_ms", time.Since(arrival(ctx))))
	}
}

// failClosed answers 504 (timeout) or 502 in Forter's error shape; see
// statusError in caddy: one place maps failures to status codes.
func (p *Proxy) failClosed(ctx *fasthttp.RequestCtx, st *opState, res result, clientClose bool) {
	ctx.Response.Reset()
	if clientClose {
		ctx.Response.SetConnectionClose()
	}
	ctx.Response.Header.Set(HeaderFallback, res.reason())
	status, msg := fasthttp.StatusBadGateway, "Forter could not be reached"
	switch res {
	case resTimeout:
		status, msg = fasthttp.StatusGatewayTimeout, "Forter did not answer within the budget"
	case resCircuit:
		msg = "Forter is unavailable (orderguard's circuit breaker is open)"
	}
	writeJSON(ctx, status, contentJSON, appendFailed(nil, msg))
	st.fallbackN.Inc()
}

// keptHeaders are the request's headers the outbox keeps for the resend, by
// its policy (outbox.KeepHeader), names in lower case. Only those are copied:
// credentials never reach the outbox, not even to be dropped there.
func keptHeaders(h *fasthttp.RequestHeader) map[string]string {
	out := map[string]string{}
	h.VisitAll(func(k, v []byte) {
		if outbox.KeepHeader(string(k)) {
			out[strings.ToLower(string(k))] = string(v)
		}
	})
	return out
}

// reject answers an enforce-mode request whose body breaks the spec.
func (p *Proxy) reject(ctx *fasthttp.RequestCtx, st *opState, orderID []byte, r *validate.Report) {
	problem := wantsProblem(&ctx.Request.Header)
	body := appendMalformed(make([]byte, 0, 256+128*len(r.Violations)), r, problem, ctx.Path())
	ct := contentJSON
	if problem {
		ct = contentProblem
	}
	var buf [20]byte
	ctx.Response.Header.SetBytesV(HeaderViolations, strconv.AppendInt(buf[:0], int64(len(r.Violations)), 10))
	writeJSON(ctx, fasthttp.StatusBadRequest, ct, body)
	p.logViolations(ctx, st, orderID, r, "rejected")
}

func (p *Proxy) countViolations(r *validate.Report) {
	for i := range r.Violations {
		v := &r.Violations[i]
		p.m.violations.WithLabelValues(v.Rule, v.Kind.String()).Inc()
	}
}

// logViolations writes one line: rule ids and pointers, never values.
func (p *Proxy) logViolations(ctx *fasthttp.RequestCtx, st *opState, orderID []byte, r *validate.Report, what string) {
	var sb strings.Builder
	for i := range r.Violations {
		v := &r.Violations[i]
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(v.Rule)
		sb.WriteByte('@')
		sb.WriteString(v.Pointer)
		if v.Severity == validate.SeverityWarning {
			sb.WriteString("(warning)")
		}
	}
	level := slog.LevelInfo
	if st.mode == ModeReport {
		level = slog.LevelWarn
	}
	p.log.LogAttrs(context.Background(), level, "request "+what,
		slog.String("operation", st.op.ID), slog.String("order_id", string(shownID(orderID))),
		slog.String("mode", st.mode.String()), slog.Int("errors", r.Errors()),
		slog.Int("warnings", r.Warnings()), slog.String("violations", sb.String()))
}

// TooLarge counts a request refused by the server for its body size; the
// answer itself is written by the server's error handler.
func (p *Proxy) TooLarge(method, path []byte) {
	if st, _ := p.match(method, path); st != nil {
		st.tooLarge.Inc()
		return
	}
	p.pt.tooLarge.Inc()
}

// CircuitState is 0 closed, 1 open, 2 half-open.
func (p *Proxy) CircuitState() int32 { return p.br.state.Load() }

// shownID is an order id as logs and the proxy's own answers show it: with a
// card number in it masked (first six, last four digits), and the id itself,
// without a copy, otherwise. The request to Forter and the outbox keep the
// id as sent.
func shownID(id []byte) []byte {
	if !redact.ContainsPAN(id) {
		return id
	}
	return redact.Mask(id)
}
