package sandbox

import (
	"net"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// BenchmarkSandbox measures one answered request end to end over an
// in-memory listener: the sandbox as the benchmark's upstream must cost far
// less than the proxy it is used to measure. "validated" runs the generated
// validators on a recorded 2 KB order; "skip" only checks it is JSON.
func BenchmarkSandbox(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  Config
		path string
		body string
	}{
		{"orderV2/validated", Config{}, "/v2/orders/bench-1", orderBody("bench-1", "")},
		{"orderV3/validated", Config{}, "/v3/orders/bench-1", orderBody("bench-1", "approve@forter.com")},
		{"orderV2/skip", Config{SkipValidation: true}, "/v2/orders/bench-1", orderBody("bench-1", "")},
		{"statusPost/validated", Config{}, "/v2/status/bench-1", statusBody},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv, err := New(bc.cfg)
			if err != nil {
				b.Fatal(err)
			}
			ln := fasthttputil.NewInmemoryListener()
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ln) }()
			defer func() {
				srv.Close()
				<-done
			}()
			c := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://sandbox" + bc.path)
			req.Header.SetMethod("POST")
			req.Header.Set("Authorization", authValue("k3y"))
			req.Header.Set("api-version", "2.36")
			req.Header.Set("x-forter-disable-persistence", "true")
			req.SetBodyString(bc.body)
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := c.Do(req, resp); err != nil {
					b.Fatal(err)
				}
				if resp.StatusCode() != 200 {
					b.Fatalf("status %d: %s", resp.StatusCode(), resp.Body())
				}
			}
		})
	}
}

// BenchmarkHandler is the handler alone, without the network: what the
// sandbox itself allocates per request.
func BenchmarkHandler(b *testing.B) {
	srv, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	body := orderBody("bench-1", "")
	var ctx fasthttp.RequestCtx
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.SetRequestURI("/v2/orders/bench-1")
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.Header.Set("Authorization", "Basic azN5Og==")
		ctx.Request.Header.Set("api-version", "2.36")
		ctx.Request.SetBodyString(body)
		srv.handle(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}
