package sandbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/validate"
)

// route is a request matched to an endpoint.
type route struct {
	endpoint string // Endpoint* constant
	shape    string // the operation's kind (validate.Operation.Shape): which answer; "" for credentials
	key      string // validator key: "POST /v2/orders/{}"; empty when no spec covers it
	id       string // order id or account id from the path
}

// apiRoute is one operation of the API the sandbox emulates.
type apiRoute struct {
	method string
	segs   []string // the path template's segments; "" for a parameter
	route  route    // what a request that fits it is (id filled in by match)
}

// apiRoutes are Forter's endpoints, one per operation of the generated
// table, whatever validators Config.Operations supplies: the sandbox answers
// every operation the proxy may send.
var apiRoutes = newAPIRoutes(gen.Operations)

func newAPIRoutes(ops []validate.Operation) []apiRoute {
	out := make([]apiRoute, 0, len(ops))
	for _, op := range ops {
		r := apiRoute{method: op.Method, route: route{endpoint: endpointOf(op), shape: op.Shape(), key: op.Method + " " + templateKey(op.Path)}}
		for _, s := range strings.Split(strings.TrimPrefix(op.Path, "/"), "/") {
			if strings.HasPrefix(s, "{") {
				s = ""
			}
			r.segs = append(r.segs, s)
		}
		out = append(out, r)
	}
	return out
}

// endpointOf is an operation's name in the received log: its id, except
// that the Accounts events count together, and so do claims.
func endpointOf(op validate.Operation) string {
	switch op.Shape() {
	case validate.FallbackAccount:
		return EndpointAccounts
	case validate.FallbackClaim:
		return EndpointClaims
	}
	return op.ID
}

// match routes by method and path: an operation's path template, each
// parameter a non-empty segment. Anything else, wrong methods included, is
// EndpointNotFound: Forter's test site answers 404 for it.
func match(method, path []byte) route {
	seg := strings.Split(strings.TrimPrefix(string(path), "/"), "/")
	m := string(method)
next:
	for i := range apiRoutes {
		a := &apiRoutes[i]
		if a.method != m || len(seg) != len(a.segs) {
			continue
		}
		r := a.route
		for j, lit := range a.segs {
			switch {
			case lit == "" && seg[j] == "":
				continue next
			case lit == "":
				if r.id == "" {
					r.id = seg[j]
				}
			case lit != seg[j]:
				continue next
			}
		}
		return r
	}
	if len(seg) == 2 && seg[0] == "credentials" && seg[1] == "test" && m == "GET" {
		return route{endpoint: EndpointCredentials}
	}
	return route{endpoint: EndpointNotFound}
}

// templateKey turns "/v2/orders/{orderId}" into "/v2/orders/{}" so that spec
// paths match routes whatever the parameter is named.
func templateKey(path string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(path, '{')
		if i < 0 {
			b.WriteString(path)
			return b.String()
		}
		j := strings.IndexByte(path[i:], '}')
		if j < 0 {
			b.WriteString(path)
			return b.String()
		}
		b.WriteString(path[:i])
		b.WriteString("{}")
		path = path[i+j+1:]
	}
}

const controlPrefix = "/_sandbox/"

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	if bytes.HasPrefix(ctx.Path(), []byte(controlPrefix)) {
		s.control(ctx)
		return
	}
	r := match(ctx.Method(), ctx.Path())
	s.rec.arrive(r.endpoint, r.id)
	if r.endpoint == EndpointNotFound {
		writeFailed(ctx, fasthttp.StatusNotFound, "Not found")
		s.rec.answer(r.endpoint, "", fasthttp.StatusNotFound, "")
		return
	}
	label := s.serveAPI(ctx, r)
	s.rec.answer(r.endpoint, r.id, ctx.Response.StatusCode(), label)
}

// serveAPI answers one request to a known endpoint. It returns StatusHang or
// StatusReset when the request got no HTTP answer, else "".
func (s *Server) serveAPI(ctx *fasthttp.RequestCtx, r route) string {
	g := s.gen.Load()

	f, delay := s.drawFault()
	if v := ctx.Request.Header.Peek(FaultHeader); len(bytes.TrimSpace(v)) > 0 {
		forced, err := parseFault(v)
		if err != nil {
			writeFailed(ctx, fasthttp.StatusBadRequest, err.Error())
			return ""
		}
		// A forced fault replaces the random draw; only slow keeps going
		// to a normal answer, after its own delay instead of the latency.
		f, delay = forced, 0
		if forced.kind == faultSlow {
			delay = forced.delay
		}
	}
	switch f.kind {
	case faultHang:
		s.hang(ctx, g)
		return StatusHang
	case faultReset:
		s.reset(ctx)
		return StatusReset
	}
	// A delay cut short by Shutdown answers at once; under Close the
	// connection is gone and the answer goes nowhere.
	wait(delay, g.done)
	switch f.kind {
	case fault500:
		writeFailed(ctx, fasthttp.StatusInternalServerError, "Internal server error")
		return ""
	case fault503:
		writeFailed(ctx, fasthttp.StatusServiceUnavailable, "Service unavailable")
		return ""
	}

	h := &ctx.Request.Header
	user, ok := basicUser(h.Peek(fasthttp.HeaderAuthorization))
	if !ok {
		writeFailed(ctx, fasthttp.StatusUnauthorized, "unauthorized")
		return ""
	}
	site := h.Peek("x-forter-siteid")
	if s.cfg.RequireSiteID && len(bytes.TrimSpace(site)) == 0 {
		writeFailed(ctx, fasthttp.StatusUnauthorized, "unauthorized, invalid site")
		return ""
	}
	if len(bytes.TrimSpace(h.Peek("api-version"))) == 0 {
		writeFailed(ctx, fasthttp.StatusBadRequest, "missing api-version header")
		return ""
	}
	if !persistenceDisabled(h) {
		key := user
		if len(site) > 0 {
			key = string(site)
		}
		if !s.lim.allow(key) {
			// The window is one second: say so, for clients that honour it.
			ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, "1")
			writeFailed(ctx, fasthttp.StatusTooManyRequests, "Too many requests")
			return ""
		}
	}

	if r.endpoint == EndpointCredentials {
		writeJSON(ctx, fasthttp.StatusOK, []byte(`{"status":"success"}`))
		return ""
	}
	body := ctx.Request.Body()
	if !s.checkBody(ctx, r, body) {
		return ""
	}

	out := make([]byte, 0, 256)
	switch r.shape {
	case validate.FallbackOrderV2, validate.FallbackOrderV3:
		email := s.lookupString(body, "accountOwner", "email")
		o := OrderOutcome(r.id, email, s.cfg.Seed)
		if r.shape == validate.FallbackOrderV2 {
			out = appendV2(out, r.id, o)
		} else {
			out = appendV3(out, r.id, o)
		}
	case validate.FallbackStatus:
		out = appendStatus(out, r.id)
	case validate.FallbackAccount:
		ip := s.lookupString(body, "connectionInformation", "customerIP")
		out = appendAccount(out, AccountOutcome(r.id, ip, s.cfg.Seed))
	case validate.FallbackClaim:
		out = appendClaim(out)
	}
	writeJSON(ctx, fasthttp.StatusOK, out)
	return ""
}

// checkBody answers 400 in Forter's error shape when the body breaks the
// spec (schema or syntax), or is not JSON where no validator covers the
// route. It reports whether the request may go on.
func (s *Server) checkBody(ctx *fasthttp.RequestCtx, r route, body []byte) bool {
	if fn, ok := s.validators[r.key]; ok && r.key != "" {
		rep := s.reports.Get().(*validate.Report)
		rep.Reset()
		fn(body, rep)
		var errs []validate.Violation
		for _, v := range rep.Violations {
			if (v.Kind == validate.KindSchema || v.Kind == validate.KindSyntax) && v.Severity == validate.SeverityError {
				errs = append(errs, v)
			}
		}
		s.reports.Put(rep)
		if len(errs) > 0 {
			writeJSON(ctx, fasthttp.StatusBadRequest, appendMalformed(nil, errs))
			return false
		}
		return true
	}
	// No spec for this route (or validation skipped): Forter still refuses
	// bytes that are not JSON. The parser's message is not used: it quotes
	// the body.
	if err := fastjson.ValidateBytes(body); err != nil {
		writeJSON(ctx, fasthttp.StatusBadRequest, appendMalformed(nil, []validate.Violation{{
			Kind: validate.KindSyntax, Message: "body is not one valid JSON document",
		}}))
		return false
	}
	return true
}

// appendMalformed writes Forter's validation error body:
// {"status":"failed","message":"Malformed request","errorsCount":N,"errors":[{"message":…,"path":"#/…"}]}.
func appendMalformed(b []byte, vs []validate.Violation) []byte {
	b = append(b, `{"status":"failed","message":"Malformed request","errorsCount":`...)
	b = appendUint(b, uint64(len(vs)))
	b = append(b, `,"errors":[`...)
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"message":`...)
		b = appendJSONString(b, v.Message)
		b = append(b, `,"path":`...)
		b = appendJSONString(b, "#"+v.Pointer)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

func appendUint(b []byte, n uint64) []byte {
	return fasthttp.AppendUint(b, int(n))
}

// lookupString reads one string member of the body, "" when absent or not
// a string. Only the members the decision needs are read; nothing is kept.
func (s *Server) lookupString(body []byte, keys ...string) string {
	p := s.parsers.Get()
	defer s.parsers.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil {
		return ""
	}
	sv := v.Get(keys...)
	if sv == nil || sv.Type() != fastjson.TypeString {
		return ""
	}
	b, _ := sv.StringBytes()
	return string(b)
}

// basicUser returns the user name (the API key) of a Basic Authorization
// value, which must be non-empty. The password is ignored, as Forter does.
func basicUser(v []byte) (string, bool) {
	const prefix = "basic "
	if len(v) <= len(prefix) || !strings.EqualFold(string(v[:len(prefix)]), prefix) {
		return "", false
	}
	dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(v[len(prefix):])))
	if err != nil {
		return "", false
	}
	user, _, ok := strings.Cut(string(dec), ":")
	if !ok || user == "" {
		return "", false
	}
	return user, true
}

// persistenceDisabled reports the load-test header, in both of the
// spellings Forter's page uses.
func persistenceDisabled(h *fasthttp.RequestHeader) bool {
	for _, name := range [...]string{"x-forter-disable-persistence", "x-forter-disable-persistance"} {
		if bytes.EqualFold(bytes.TrimSpace(h.Peek(name)), []byte("true")) {
			return true
		}
	}
	return false
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.SetBody(body)
}

func writeFailed(ctx *fasthttp.RequestCtx, status int, msg string) {
	writeJSON(ctx, status, appendFailed(make([]byte, 0, 64), msg))
}

// control serves the sandbox's own endpoints, which are never rate-limited,
// faulted or recorded:
//
//	GET    /_sandbox/received  the received log (counts per endpoint, recent order ids, recent arrivals with their times)
//	DELETE /_sandbox/received  empty it
//	GET    /_sandbox/health    200 while serving
func (s *Server) control(ctx *fasthttp.RequestCtx) {
	switch path, m := string(ctx.Path()), string(ctx.Method()); {
	case path == controlPrefix+"received" && m == "GET":
		b, err := json.Marshal(s.rec.snapshot())
		if err != nil {
			writeFailed(ctx, fasthttp.StatusInternalServerError, "encode received log")
			return
		}
		writeJSON(ctx, fasthttp.StatusOK, b)
	case path == controlPrefix+"received" && m == "DELETE":
		s.rec.reset()
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	case path == controlPrefix+"health" && m == "GET":
		writeJSON(ctx, fasthttp.StatusOK, []byte(`{"status":"ok"}`))
	default:
		writeFailed(ctx, fasthttp.StatusNotFound, "Not found")
	}
}
