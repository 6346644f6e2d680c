package proxy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/internal/outbox"
)

// Sender returns the outbox's way to Forter: the proxy's own warm pool and
// credentials. It does not retry (the resender owns backoff) and does not
// count towards the circuit breaker (Paused reads it instead).
func (p *Proxy) Sender() outbox.Sender { return outboxSender{p} }

// Paused reports whether the circuit is open, for outbox.ResendOptions.Paused:
// while live traffic is failing fast, the resender waits.
func (p *Proxy) Paused() bool { return p.br.state.Load() == circuitOpen }

type outboxSender struct{ p *Proxy }

// defaultSendTimeout applies when the resender's context has no deadline.
const defaultSendTimeout = 10 * time.Second

func (s outboxSender) Send(ctx context.Context, r outbox.Request) (int, []byte, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(r.Method)
	req.SetRequestURI(r.Path)
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	if len(req.Header.ContentType()) == 0 {
		req.Header.SetContentType(contentJSON)
	}
	req.SetBody(r.Body)
	s.p.prepare(req, true)
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultSendTimeout)
	}
	span := s.p.tr.Resend(req, r.Operation, r.Attempt, r.Traceparent)
	err := s.p.pool.Do(req, resp, deadline)
	span.End(resp.StatusCode(), err)
	if err != nil {
		// The error is logged and kept in the outbox: name the path without
		// its query string, which is client data like the body.
		path, _, _ := strings.Cut(r.Path, "?")
		return 0, nil, fmt.Errorf("resend %s %s: %w", r.Method, path, err)
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...), nil
}
