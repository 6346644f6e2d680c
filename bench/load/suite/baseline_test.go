package suite

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// serveBaseline starts an upstream with handler and a bare proxy (parsing
// bodies first when parse is set) in front of it; it returns the proxy's address.
func serveBaseline(t *testing.T, handler fasthttp.RequestHandler, parse bool) string {
	t.Helper()
	upLn := listen(t)
	up := &fasthttp.Server{Handler: handler}
	go up.Serve(upLn)
	t.Cleanup(func() { _ = up.Shutdown() })
	b, err := NewBaseline("http://" + upLn.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b.Parse = parse
	ln := listen(t)
	go b.Serve(ln)
	t.Cleanup(func() { _ = b.Shutdown() })
	return ln.Addr().String()
}

func TestBaselineForwards(t *testing.T) {
	addr := serveBaseline(t, func(ctx *fasthttp.RequestCtx) {
		h := &ctx.Request.Header
		if string(ctx.Method()) != "POST" || string(ctx.Path()) != "/v2/orders/x1" || string(ctx.PostBody()) != `{"orderId":"x1"}` ||
			string(h.Peek("api-version")) != "2.3" || len(h.Peek("Proxy-Authorization")) != 0 {
			ctx.SetStatusCode(fasthttp.StatusTeapot)
			return
		}
		ctx.Response.Header.Set("X-Up", "yes")
		ctx.Response.Header.Set("Keep-Alive", "timeout=5")
		ctx.SetStatusCode(fasthttp.StatusCreated)
		ctx.SetBodyString(`{"status":"success"}`)
	}, false)

	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + addr + "/v2/orders/x1")
	req.Header.SetMethod("POST")
	req.Header.Set("api-version", "2.3")
	req.Header.Set("Proxy-Authorization", "Basic c2VjcmV0")
	req.SetBodyString(`{"orderId":"x1"}`)
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != fasthttp.StatusCreated || string(resp.Body()) != `{"status":"success"}` || string(resp.Header.Peek("X-Up")) != "yes" {
		t.Errorf("got %d %q X-Up=%q; want the upstream's 201 answer", resp.StatusCode(), resp.Body(), resp.Header.Peek("X-Up"))
	}
	if k := resp.Header.Peek("Keep-Alive"); len(k) != 0 {
		t.Errorf("hop-by-hop Keep-Alive forwarded: %q", k)
	}
}

func TestBaselineUpstreamDown(t *testing.T) {
	dead := listen(t)
	addr := dead.Addr().String()
	dead.Close()
	b, err := NewBaseline("http://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t)
	go b.Serve(ln)
	defer b.Shutdown()
	code, _, err := fasthttp.Get(nil, "http://"+ln.Addr().String()+"/x")
	if err != nil || code != fasthttp.StatusBadGateway {
		t.Errorf("got %d, %v; want 502", code, err)
	}
}

func TestNewBaselineBadUpstream(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:80", "ftp://x", "http://"} {
		if _, err := NewBaseline(u); err == nil {
			t.Errorf("NewBaseline(%q): want an error", u)
		}
	}
}

// TestParseFloor: the parse floor forwards JSON and answers 400 to anything
// else without calling upstream, so its figures include a real parse.
func TestParseFloor(t *testing.T) {
	var calls atomic.Int32
	addr := serveBaseline(t, func(ctx *fasthttp.RequestCtx) {
		calls.Add(1)
		ctx.SetBodyString(`{"status":"success"}`)
	}, true)
	for _, tt := range []struct {
		body  string
		code  int
		calls int32
	}{{`{"orderId":"x1","items":[1,2.5,null]}`, 200, 1}, {`{"orderId":`, 400, 1}, {`not json`, 400, 1}} {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI("http://" + addr + "/v2/orders/x1")
		req.Header.SetMethod("POST")
		req.SetBodyString(tt.body)
		err := fasthttp.DoTimeout(req, resp, 5*time.Second)
		if err != nil || resp.StatusCode() != tt.code || calls.Load() != tt.calls {
			t.Errorf("%q: got %d (%v), upstream calls %d; want %d and %d calls", tt.body, resp.StatusCode(), err, calls.Load(), tt.code, tt.calls)
		}
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
	}
}
