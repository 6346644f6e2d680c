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

// Start opens the server span of a request to route (its template, as
// "/v2/orders/{orderId}"; "" for a path outside the spec), continuing the
// traceparent and tracestate of h.
func (t *Tracer) Start(h *fasthttp.RequestHeader, route, operation, mode string, start time.Time) Request {
	if t == nil {
		return Request{}
	}
	method := string(h.Method())
	name, attrs := method, []attribute.KeyValue{
		attribute.String("http.request.method", method),
		attribute.String("orderguard.operation", operation),
		attribute.String("orderguard.mode", mode),
	}
	if route != "" {
		name += " " + route
		attrs = append(attrs, attribute.String("http.route", route))
	}
	parent := t.prop.Extract(context.Background(), requestCarrier{h})
	ctx, span := t.t.Start(parent, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	return Request{t: t, ctx: ctx, span: span}
}

// End closes the server span with how the request ended: outcome is one of
// the orderguard_requests_total outcomes, status what the client got.
func (r Request) End(outcome string, status int) {
	if r.span == nil {
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
func (r Request) Validation(start time.Time, rep *validate.Report) {
	if r.span == nil {
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
	return r.t.attempt(r.ctx, req, n, "", trace.WithAttributes(attribute.Int("orderguard.attempt", n+1)))
}

func (t *Tracer) attempt(ctx context.Context, req *fasthttp.Request, n int, name string, opts ...trace.SpanStartOption) Attempt {
	method := string(req.Header.Method())
	if name == "" {
		name = method
	}
	opts = append(opts, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attribute.String("http.request.method", method)))
	ctx, span := t.t.Start(ctx, name, opts...)
	t.prop.Inject(ctx, requestCarrier{&req.Header})
	return Attempt{span}
}

// End closes the attempt with Forter's status (0 when none came) and the
// transport error, if any (its class only: fasthttp's errors name no data).
func (a Attempt) End(status int, err error) {
	if a.span == nil {
		return
	}
	if status > 0 {
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
	opts := []trace.SpanStartOption{trace.WithNewRoot(), trace.WithAttributes(
		attribute.String("orderguard.operation", operation), attribute.Int("orderguard.outbox.attempt", attempt))}
	if traceparent != "" {
		linked := trace.SpanContextFromContext(t.prop.Extract(context.Background(), propagation.MapCarrier{"traceparent": traceparent}))
		if linked.IsValid() {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: linked}))
		}
	}
	return t.attempt(context.Background(), req, attempt, "outbox resend "+operation, opts...)
}

// requestCarrier reads and writes W3C trace headers on a fasthttp request.
// Get copies (string conversion): nothing keeps the header's bytes.
type requestCarrier struct{ h *fasthttp.RequestHeader }

func (c requestCarrier) Get(key string) string { return string(c.h.Peek(key)) }
func (c requestCarrier) Set(key, value string) { c.h.Set(key, value) }
func (c requestCarrier) Keys() []string        { return []string{"traceparent", "tracestate"} }
