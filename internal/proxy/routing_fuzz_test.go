package proxy

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/pool"
)

// FuzzResolve: whatever the method and request target, the route decided is
// one that the path as sent (what the upstream gets) and the path as decoded
// both support: an operation or an allowlisted route (the two that carry the
// API key) matches both forms; a foreign path matches neither form of any
// operation or allowlisted route, nor is it a near miss of one.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"/v2/orders/x", "/v2/orders/a%2Fb", "//v2/orders/x", "/v2/./orders/x", "/V2/Orders/x/",
		"/v2/orders/..%2Fstatus%2Fx", "/v2/allowed/x", "/v2/allowed/%2e%2e", "*", "/v2/orders/x?a=1", "http://h/v2/orders/x",
		"/v2/status/%41", "/v2/orders/%2e", "/%2F/v2/orders/x"} {
		f.Add("POST", s)
		f.Add("GET", s)
	}
	up, err := pool.New(pool.Config{Upstream: "http://127.0.0.1:1"})
	if err != nil {
		f.Fatal(err)
	}
	cfg := Defaults()
	cfg.PassthroughRoutes = []string{"GET /v2/allowed/{id}"}
	p, err := New(cfg, Options{Operations: gen.Operations, Pool: up})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, target string) {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI(target)
		raw, decoded := ctx.URI().PathOriginal(), ctx.Path()
		r := p.resolve(&ctx)
		onBoth := func(m func(path []byte) bool) bool { return m(raw) && m(decoded) }
		switch r.kind {
		case routeOperation:
			if !onBoth(func(path []byte) bool { _, ok := r.st.route.match(ctx.Method(), path); return ok }) {
				t.Fatalf("%s %q (decoded %q) routed to %s, which one form does not match", method, raw, decoded, r.st.op.ID)
			}
		case routeAllowed:
			if !onBoth(func(path []byte) bool { return p.classify(ctx.Method(), path).kind == routeAllowed }) {
				t.Fatalf("%s %q (decoded %q) allowlisted on one form only", method, raw, decoded)
			}
		case routeForeign:
			for _, path := range [][]byte{raw, decoded} {
				if k := p.classify(ctx.Method(), path).kind; k != routeForeign {
					t.Fatalf("%s %q (decoded %q) forwarded as foreign, but %q is of kind %d", method, raw, decoded, path, k)
				}
			}
		}
	})
}
