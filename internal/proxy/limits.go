package proxy

import (
	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/internal/inbound"
	"github.com/orderguard/orderguard/internal/validate"
)

// The JSON shape limits (--max-depth, --max-string, --max-array) protect
// what lies behind the proxy (Forter, and the outbox that keeps bodies) from
// documents no checkout builds. They hold on every route and in every mode,
// and are checked by the scanner that validates, in the same pass: inside
// the validation of an operation's body, and by a walk for them alone
// (validate.WalkLimits) of any other body (a route outside the spec, mode
// off). A compressed body is checked decoded; one that does not decode is
// left to the rest of the path. A body past a limit is answered 400 by
// inbound.RefuseJSONLimit before anything else reads it, and counted in
// orderguard_inbound_json_limit_rejections_total only: no request or
// violation metric, no request line. Bytes that are not JSON are refused
// only for a breach before their first syntax fault; otherwise they go on
// as with no limits (forwarded untouched outside the spec).

// overLimits walks the body of a request no validator reads for the limits,
// and answers it when it breaks one.
func (p *Proxy) overLimits(ctx *fasthttp.RequestCtx) bool {
	if len(ctx.PostBody()) == 0 {
		return false
	}
	body, buf, err := p.decode(&ctx.Request)
	if err != nil {
		return false // the rest of the path answers it, or forwards it unread
	}
	defer releaseBody(buf)
	r := p.reports.Get().(*validate.Report)
	r.Reset()
	r.Limits = p.limits
	validate.WalkLimits(body, r)
	breach := r.Breach
	p.reports.Put(r)
	if breach.Rule == "" {
		return false
	}
	p.refuseLimits(ctx, breach)
	return true
}

// refuseLimits answers a body that broke a limit, as the edge refuses.
func (p *Proxy) refuseLimits(ctx *fasthttp.RequestCtx, b validate.Breach) {
	p.m.jsonLimitRejections.Add(1)
	inbound.RefuseJSONLimit(ctx, b.Rule, b.Limit, b.Offset)
}
