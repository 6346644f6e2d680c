package suite

import (
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
)

// hopByHop are the headers a proxy must not forward (RFC 9110 §7.6.1).
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// Baseline is the bare fasthttp reverse proxy the benchmark compares orderguard
// with: the same server and client library, the same limits, no validation.
type Baseline struct {
	client *fasthttp.HostClient
	server *fasthttp.Server

	// Parse makes it the parse floor: it parses each request body with
	// fastjson, the fastest JSON parser in Go that we know of, and answers 400
	// to what is not JSON, before forwarding. No validating proxy can do less
	// work per request, so its figures bound from below what validation can
	// cost. Set it before Serve.
	Parse   bool
	parsers fastjson.ParserPool
}

// NewBaseline returns a baseline proxy that forwards everything to upstream
// (http://host:port or https://host:port).
func NewBaseline(upstream string) (*Baseline, error) {
	u, err := url.Parse(upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("baseline upstream %q: want http://host:port", upstream)
	}
	isTLS := u.Scheme == "https"
	b := &Baseline{client: &fasthttp.HostClient{
		Addr:                fasthttp.AddMissingPort(u.Host, isTLS),
		IsTLS:               isTLS,
		MaxConns:            512,
		MaxConnWaitTimeout:  time.Second,
		MaxIdleConnDuration: time.Minute,
		ReadTimeout:         5 * time.Second,
		WriteTimeout:        5 * time.Second,
		MaxResponseBodySize: 1 << 20,
		// Forward header names as the client spelled them, as orderguard does.
		DisableHeaderNamesNormalizing: true,
		NoDefaultUserAgentHeader:      true,
	}}
	b.server = &fasthttp.Server{
		Handler:                       b.handle,
		Name:                          "baseline",
		ReadTimeout:                   10 * time.Second,
		WriteTimeout:                  10 * time.Second,
		MaxRequestBodySize:            1 << 20,
		DisableHeaderNamesNormalizing: true,
		NoDefaultServerHeader:         true,
	}
	return b, nil
}

func (b *Baseline) handle(ctx *fasthttp.RequestCtx) {
	req, resp := &ctx.Request, &ctx.Response
	if b.Parse {
		p := b.parsers.Get()
		_, err := p.ParseBytes(req.Body())
		b.parsers.Put(p)
		if err != nil {
			ctx.Error("baseline: the body is not JSON", fasthttp.StatusBadRequest)
			return
		}
	}
	for _, h := range hopByHop {
		req.Header.Del(h)
	}
	if err := b.client.Do(req, resp); err != nil {
		resp.Reset()
		ctx.Error("baseline: upstream error", fasthttp.StatusBadGateway)
		return
	}
	for _, h := range hopByHop {
		resp.Header.Del(h)
	}
}

// Serve serves on ln until Shutdown.
func (b *Baseline) Serve(ln net.Listener) error { return b.server.Serve(ln) }

// Shutdown stops accepting and waits for requests in flight.
func (b *Baseline) Shutdown() error { return b.server.Shutdown() }
