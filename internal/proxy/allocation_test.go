//go:build !race

package proxy_test

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/pool"
	"github.com/orderguard/orderguard/internal/proxy"
)

// TestHandlerAllocations guards the hot path: a valid order in enforce and
// report mode, forwarded and its answer checked, allocates nothing once the
// pools are warm; with the JSON shape limits on too, and in mode off, where
// they are a walk of their own.
func TestHandlerAllocations(t *testing.T) {
	body := []byte(validOrder(t))
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBodyString(decisionV2)
	}}
	go srv.Serve(ln) //nolint:errcheck // ends with Shutdown
	t.Cleanup(func() { _ = srv.Shutdown() })
	for _, c := range []struct {
		mode   proxy.Mode
		limits bool
	}{{proxy.ModeEnforce, false}, {proxy.ModeReport, false}, {proxy.ModeEnforce, true}, {proxy.ModeOff, true}} {
		mode := c.mode
		name := mode.String()
		if c.limits {
			name += " limits"
		}
		t.Run(name, func(t *testing.T) {
			up, err := pool.New(pool.Config{Upstream: "http://upstream", WarmConns: 1,
				Dial: func(string, time.Duration) (net.Conn, error) { return ln.Dial() }})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(up.Close)
			cfg := proxy.Defaults()
			cfg.Mode = mode
			cfg.APIVersion = "2.3"
			cfg.SiteID = "site"
			if c.limits {
				cfg.MaxDepth, cfg.MaxString, cfg.MaxArray = 32, 16<<10, 1000
			}
			// At warn level: the proxy's own path allocates nothing; the
			// per-request info line (slog) is the operator's choice and is
			// measured by BenchmarkProxy's log sub-benchmark.
			p, err := proxy.New(cfg, proxy.Options{Operations: gen.Operations, Pool: up,
				Logger: slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))})
			if err != nil {
				t.Fatal(err)
			}
			var ctx fasthttp.RequestCtx
			one := func() {
				ctx.Request.Reset()
				ctx.Response.Reset()
				ctx.Request.Header.SetMethod(fasthttp.MethodPost)
				ctx.Request.SetRequestURI("/v2/orders/fortertest1234")
				ctx.Request.Header.SetContentType("application/json")
				ctx.Request.SetBody(body)
				p.Handler(&ctx)
				if ctx.Response.StatusCode() != 200 {
					t.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
				}
			}
			// Warm fasthttp's and the proxy's pools, the response checks'
			// included: their worker drains the queue every few
			// milliseconds, so the jobs of a burst come back only then.
			for range 300 {
				one()
			}
			time.Sleep(50 * time.Millisecond)
			if n := testing.AllocsPerRun(200, one); n != 0 {
				t.Fatalf("%v allocations per valid order, want 0", n)
			}
		})
	}
}
