package proxy

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"
)

// What a request's method and path are to the proxy. Only an operation of
// the spec and a route of --passthrough-routes carry the merchant's API key
// upstream; everything else keeps the client's own Authorization or none.
type routeKind uint8

const (
	routeForeign   routeKind = iota // outside the spec and the allowlist: --unknown-routes decides, no credentials
	routeOperation                  // a spec operation: validated, credentials added
	routeAllowed                    // a --passthrough-routes route: forwarded unchecked, credentials added
	routeNearMiss                   // an operation's path but for case, a trailing or a repeated slash: 404
	routeAmbiguous                  // the path as sent and as decoded route differently: 400
	routeNever                      // TRACE, CONNECT, OPTIONS *: never forwarded, 405
)

// routing is the outcome of resolve: the kind, and for an operation or a
// near miss the operation (with the order id of an operation, aliasing the
// request's path).
type routing struct {
	kind routeKind
	st   *opState
	id   []byte
}

// allowRoute is one --passthrough-routes entry.
type allowRoute struct {
	spec  string // "GET /v2/x/{id}", as configured
	route route
}

// compileAllowlist parses --passthrough-routes entries, "METHOD /path" with
// {name} for a whole segment that may be anything but empty.
func compileAllowlist(entries []string) ([]allowRoute, error) {
	var out []allowRoute
	for _, e := range entries {
		method, path, ok := strings.Cut(strings.TrimSpace(e), " ")
		path = strings.TrimSpace(path)
		if !ok || method == "" || path == "" || strings.ContainsAny(path, " ?#%") {
			return nil, fmt.Errorf("--passthrough-routes %q: want METHOD /path, e.g. 'GET /v2/orders/{id}/history'", e)
		}
		if method != strings.ToUpper(method) || neverForwarded(method, path) {
			return nil, fmt.Errorf("--passthrough-routes %q: want an upper-case method other than TRACE and CONNECT", e)
		}
		r, err := compileRoute(method, path)
		if err != nil {
			return nil, fmt.Errorf("--passthrough-routes %q: %w", e, err)
		}
		out = append(out, allowRoute{spec: method + " " + path, route: r})
	}
	return out, nil
}

// neverForwarded reports the requests no configuration forwards: TRACE
// (reflects the request, credentials included), CONNECT (a tunnel) and
// OPTIONS * (asks about the server, not a resource).
func neverForwarded(method, target string) bool {
	return method == fasthttp.MethodTrace || method == fasthttp.MethodConnect ||
		(method == fasthttp.MethodOptions && target == "*")
}

// resolve routes a request on its path as sent (the bytes the upstream gets)
// and, when fasthttp's decoded and normalised form differs, on that too: the
// two must agree, so that what is validated is what Forter routes.
func (p *Proxy) resolve(ctx *fasthttp.RequestCtx) routing {
	method := ctx.Method()
	raw := ctx.URI().PathOriginal()
	decoded := ctx.Path()
	same := bytes.Equal(raw, decoded)
	if same {
		// The common case, without allocating: a plain operation path.
		if st, id := p.match(method, raw); st != nil {
			return routing{kind: routeOperation, st: st, id: id}
		}
	}
	if neverForwarded(string(method), string(ctx.Request.Header.RequestURI())) {
		return routing{kind: routeNever}
	}
	r := p.classify(method, raw)
	if same {
		return r
	}
	d := p.classify(method, decoded)
	switch {
	case r.kind == d.kind && r.st == d.st:
		return r
	case r.kind == routeNearMiss:
		return r // e.g. //v2/orders/X: the 404 names the operation
	}
	return routing{kind: routeAmbiguous}
}

// classify routes one form of the path.
func (p *Proxy) classify(method, path []byte) routing {
	if st, id := p.match(method, path); st != nil {
		return routing{kind: routeOperation, st: st, id: id}
	}
	for i := range p.allow {
		if _, ok := p.allow[i].route.match(method, path); ok {
			return routing{kind: routeAllowed}
		}
	}
	for _, st := range p.ops {
		if st.route.matchLoose(method, path) {
			return routing{kind: routeNearMiss, st: st}
		}
	}
	return routing{kind: routeForeign}
}

// refuseRoute answers a near miss, an ambiguous path or a method never
// forwarded, in Forter's error shape. The message names the operation a near
// miss resembles, never the path (it may hold an order id).
func (p *Proxy) refuseRoute(ctx *fasthttp.RequestCtx, r routing) {
	switch r.kind {
	case routeNever:
		ctx.Response.Header.Set(fasthttp.HeaderAllow, p.allowHeader)
		writeJSON(ctx, fasthttp.StatusMethodNotAllowed, contentJSON,
			appendFailed(nil, "Method not allowed: orderguard never forwards TRACE, CONNECT or OPTIONS *"))
	case routeNearMiss:
		writeJSON(ctx, fasthttp.StatusNotFound, contentJSON,
			appendFailed(nil, "Not found: the path resembles "+r.st.op.ID+" ("+r.st.op.Method+" "+r.st.op.Path+
				") but differs in letter case or slashes; Forter routes paths exactly, so orderguard neither checks nor forwards it"))
	default:
		writeJSON(ctx, fasthttp.StatusBadRequest, contentJSON,
			appendFailed(nil, "Bad request: the path routes differently as sent and once percent-decoded and normalised; send the operation's path without escapes, dot segments or repeated slashes"))
	}
	p.pt.unknown.Inc()
}

// matchLoose reports whether path is the route's but for the letter case of
// its literal segments, repeated slashes and trailing slashes: what a
// checkout library that appends a slash or capitalises a segment sends.
func (r *route) matchLoose(method, path []byte) bool {
	if string(method) != r.method {
		return false
	}
	rest := path
	for _, s := range r.segs {
		for len(rest) > 0 && rest[0] == '/' {
			rest = rest[1:]
		}
		end := bytes.IndexByte(rest, '/')
		if end < 0 {
			end = len(rest)
		}
		seg := rest[:end]
		if len(seg) == 0 || (!s.param && !bytes.EqualFold(seg, []byte(s.lit))) {
			return false
		}
		rest = rest[end:]
	}
	return len(bytes.Trim(rest, "/")) == 0
}

// allowedMethods is the Allow header of a 405: the methods some operation or
// allowlisted route takes.
func allowedMethods(ops []*opState, allow []allowRoute) string {
	var ms []string
	for _, st := range ops {
		ms = append(ms, st.op.Method)
	}
	for _, a := range allow {
		ms = append(ms, a.route.method)
	}
	slices.Sort(ms)
	return strings.Join(slices.Compact(ms), ", ")
}

// CredentialScope says, for the startup line, which requests get the API
// key: the spec's operations and the allowlist, or none without a key.
func (p *Proxy) CredentialScope() string {
	if !p.apiKey.IsSet() {
		return "none configured: every request keeps the client's own Authorization"
	}
	ids := make([]string, 0, len(p.ops))
	for _, st := range p.ops {
		ids = append(ids, st.op.ID)
	}
	s := "spec operations (" + strings.Join(ids, ", ") + ")"
	if len(p.allow) > 0 {
		specs := make([]string, 0, len(p.allow))
		for _, a := range p.allow {
			specs = append(specs, a.spec)
		}
		s += " and --passthrough-routes " + strings.Join(specs, ", ")
	}
	return s + "; other paths keep the client's own Authorization"
}
