package tracing

import (
	"context"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderguard/orderguard/internal/validate"
)

// maxRules caps the rule ids one validation span lists.
const maxRules = 32

// Request is one request's server span. The zero Request (tracing off) does
// nothing. It lives no longer than the fasthttp handler: it holds no
// reference to the request, whose memory fasthttp reuses.
type Request struct {
	t    *Tracer
	ctx  context.Context
	span trace.Span
}

// Span options that do not change from request to request, built once.
var (
	serverKind = trace.WithSpanKind(trace.SpanKindServer)
	clientKind = trace.WithSpanKind(trace.SpanKindClient)
	newRoot    = trace.WithNewRoot()
)

// Start opens the server span of a request to route (its template, as
// "/v2/orders/{orderId}"; "" for a path outside the spec), continuing the
// traceparent and tracestate of h. Attributes are set only on a span that
// records (sampled): a request sampled out costs the span context alone.
func (t *Tracer) Start(h *fasthttp.RequestHeader, route, operation, mode string, start time.Time) Request {
	if t == nil {
		return Request{}
	}
	method := methodName(h.Method())
	name := method
	if route != "" {
		name = method + " " + route
	}
	parent := t.prop.Extract(context.Background(), requestCarrier{h})
	ctx, span := t.t.Start(parent, name, serverKind, trace.WithTimestamp(start))
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("http.request.method", method),
			attribute.String("orderguard.operation", operation),
			attribute.String("orderguard.mode", mode))
		if route != "" {
			span.SetAttributes(attribute.String("http.route", route))
		}
	}
	return Request{t: t, ctx: ctx, span: span}
}

// methodName is the request method as a string, without allocating for the
// methods the proxy sees.
func methodName(m []byte) string {
	switch string(m) {
	case fasthttp.MethodPost:
		return fasthttp.MethodPost
	case fasthttp.MethodPut:
		return fasthttp.MethodPut
	case fasthttp.MethodGet:
		return fasthttp.MethodGet
	}
	return string(m)
}

// End closes the server span with how the request ended: outcome is one of
// the orderguard_requests_total outcomes, status what the client got.
func (r Request) End(outcome string, status int) {
	if r.span == nil {
		return
	}
	if !r.span.IsRecording() {
		r.span.End()
		return
	}
	r.span.SetAttributes(attribute.String("orderguard.outcome", outcome), attribute.Int("http.response.status_code", status))
	if status >= 500 {
		r.span.SetStatus(codes.Error, outcome)
	}
	r.span.End()
}

// Validation records the validation of the body, from start to now, as a
// child span: error and warning counts and the ids of the rules broken.
// Under a span sampled out it makes none (nothing would see it).
func (r Request) Validation(start time.Time, rep *validate.Report) {
	if r.span == nil || !r.span.IsRecording() {
		return
	}
	_, span := r.t.t.Start(r.ctx, "validate", trace.WithTimestamp(start))
	if span.IsRecording() {
		var rules []string
		for i := range rep.Violations {
			id := rep.Violations[i].Rule
			if len(rules) < maxRules && !contains(rules, id) {
				rules = append(rules, id)
			}
		}
		span.SetAttributes(attribute.Int("orderguard.validation.errors", rep.Errors()),
			attribute.Int("orderguard.validation.warnings", rep.Warnings()),
			attribute.StringSlice("orderguard.validation.rules", rules))
	}
	span.End()
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Attempt is one upstream call's client span.
type Attempt struct{ span trace.Span }

// Attempt opens the client span of upstream attempt n (0 first, 1 the retry)
// and makes req carry its traceparent (and the caller's tracestate) to Forter.
func (r Request) Attempt(req *fasthttp.Request, n int) Attempt {
	if r.span == nil {
		return Attempt{}
	}
	a := r.t.attempt(r.ctx, req, "")
	if a.span.IsRecording() {
		a.span.SetAttributes(attribute.Int("orderguard.attempt", n+1))
	}
	return a
}

// attempt opens a client span named name (the method when "") and makes req
// carry its context; a span sampled out still has one, flagged not sampled,
// so Forter's side of the trace samples alike.
func (t *Tracer) attempt(ctx context.Context, req *fasthttp.Request, name string, opts ...trace.SpanStartOption) Attempt {
	method := methodName(req.Header.Method())
	if name == "" {
		name = method
	}
	opts = append(opts, clientKind)
	ctx, span := t.t.Start(ctx, name, opts...)
	if span.IsRecording() {
		span.SetAttributes(attribute.String("http.request.method", method))
	}
	t.prop.Inject(ctx, requestCarrier{&req.Header})
	return Attempt{span}
}

// End closes the attempt with Forter's status and the transport error, if
// any (its class only: fasthttp's errors name no data); with an error the
// status is ignored.
func (a Attempt) End(status int, err error) {
	if a.span == nil {
		return
	}
	if !a.span.IsRecording() {
		a.span.End()
		return
	}
	if status > 0 && err == nil { // with an error, resp holds no answer
		a.span.SetAttributes(attribute.Int("http.response.status_code", status))
	}
	switch {
	case err != nil:
		a.span.SetAttributes(attribute.String("error.type", errorType(err)))
		a.span.SetStatus(codes.Error, errorType(err))
	case status >= 500:
		a.span.SetAttributes(attribute.String("error.type", strconv.Itoa(status)))
		a.span.SetStatus(codes.Error, "")
	}
	a.span.End()
}

// errorType names a transport error without its text (which may hold an
// address or a path).
func errorType(err error) string {
	switch err {
	case fasthttp.ErrTimeout:
		return "timeout"
	case fasthttp.ErrDialTimeout:
		return "dial_timeout"
	case fasthttp.ErrTLSHandshakeTimeout:
		return "tls_handshake_timeout"
	case fasthttp.ErrBodyTooLarge:
		return "body_too_large"
	case fasthttp.ErrConnectionClosed:
		return "connection_closed"
	case fasthttp.ErrNoFreeConns:
		return "no_free_conns"
	}
	return "transport"
}

// Enqueue is the span of the fallback: the outbox keeping the request.
type Enqueue struct{ span trace.Span }

// Enqueue opens the fallback span (reason as X-Orderguard-Fallback says it)
// and returns its traceparent, for the outbox record, so that the resend can
// link back to this trace. "" when tracing is off.
func (r Request) Enqueue(reason string) (Enqueue, string) {
	if r.span == nil {
		return Enqueue{}, ""
	}
	ctx, span := r.t.t.Start(r.ctx, "outbox enqueue", trace.WithAttributes(attribute.String("orderguard.fallback.reason", reason)))
	c := propagation.MapCarrier{}
	r.t.prop.Inject(ctx, c)
	return Enqueue{span}, c["traceparent"]
}

// End closes the enqueue span; err is the outbox's refusal, if any.
func (e Enqueue) End(err error) {
	if e.span == nil {
		return
	}
	if err != nil {
		e.span.SetStatus(codes.Error, "outbox did not keep the request")
	}
	e.span.End()
}

// Resend opens the client span of a resend from the outbox: a new trace,
// linked to the span whose traceparent the record kept (none for records
// written without tracing, or before it existed), and req carries it.
func (t *Tracer) Resend(req *fasthttp.Request, operation string, attempt int, traceparent string) Attempt {
	if t == nil {
		return Attempt{}
	}
	opts := []trace.SpanStartOption{newRoot, trace.WithAttributes(
		attribute.String("orderguard.operation", operation), attribute.Int("orderguard.outbox.attempt", attempt))}
	if traceparent != "" {
		linked := trace.SpanContextFromContext(t.prop.Extract(context.Background(), propagation.MapCarrier{"traceparent": traceparent}))
		if linked.IsValid() {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: linked}))
		}
	}
	return t.attempt(context.Background(), req, "outbox resend "+operation, opts...)
}

// requestCarrier reads and writes W3C trace headers on a fasthttp request.
// Get copies (string conversion): nothing keeps the header's bytes.
type requestCarrier struct{ h *fasthttp.RequestHeader }

func (c requestCarrier) Get(key string) string { return string(c.h.Peek(key)) }
func (c requestCarrier) Set(key, value string) { c.h.Set(key, value) }
func (c requestCarrier) Keys() []string        { return []string{"traceparent", "tracestate"} }
