package inbound

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/internal/secret"
)

// The per-request cost of the edge middleware in front of the proxy: the
// concurrency cap, the header count and the shared-secret check (the
// defaults of serve, plus a secret).
func BenchmarkMiddleware(b *testing.B) {
	key := secret.FromValue("inbound secret", secret.New("a-shared-secret-of-32-bytes-long"))
	check := &SecretCheck{Key: key}
	h, _ := Limits{}.Wrap(func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(200) })
	cases := []struct {
		name string
		h    fasthttp.RequestHandler
	}{
		{"limits", h},
		{"limits+secret", check.Wrap(h)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var ctx fasthttp.RequestCtx
			ctx.Request.Header.SetMethod("POST")
			ctx.Request.SetRequestURI("/v2/orders/o1")
			ctx.Request.Header.SetContentType("application/json")
			b.ReportAllocs()
			for b.Loop() {
				ctx.Request.Header.Set(DefaultSecretHeader, "a-shared-secret-of-32-bytes-long")
				c.h(&ctx)
			}
			if ctx.Response.StatusCode() != 200 {
				b.Fatalf("status %d", ctx.Response.StatusCode())
			}
		})
	}
}
