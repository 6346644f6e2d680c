package inbound

import (
	"errors"
	"net"

	"github.com/valyala/fasthttp"
)

// Answers in Forter's error shape, which legacy checkout code already parses.
// They are fixed strings: nothing from the request is echoed.
var (
	bodyUnauthorized   = []byte(`{"status":"failed","message":"Unauthorized: missing or wrong inbound secret"}`)
	bodyOverloaded     = []byte(`{"status":"failed","message":"Service unavailable: too many concurrent requests"}`)
	bodyTooManyHeaders = []byte(`{"status":"failed","message":"Request header fields too large: too many header fields"}`)
	bodyHeaderTooLarge = []byte(`{"status":"failed","message":"Request header fields too large"}`)
	bodyTooLarge       = []byte(`{"status":"failed","message":"Request body too large"}`)
	bodyTimeout        = []byte(`{"status":"failed","message":"Request timeout"}`)
	bodyBadRequest     = []byte(`{"status":"failed","message":"Malformed HTTP request"}`)
)

func answer(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.Response.Reset()
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// ErrorHandler answers requests fasthttp could not read (header larger than
// the read buffer, body over the cap, read timeout, malformed HTTP) in
// Forter's error shape instead of fasthttp's plain-text defaults. fasthttp
// closes the connection after it.
func ErrorHandler(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.As(err, &small):
		refuse(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, bodyHeaderTooLarge, RefusedHeaderTooLarge)
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		refuse(ctx, fasthttp.StatusRequestEntityTooLarge, bodyTooLarge, RefusedBodyTooLarge)
	case errors.As(err, &netErr) && netErr.Timeout():
		refuse(ctx, fasthttp.StatusRequestTimeout, bodyTimeout, RefusedReadTimeout)
	default:
		refuse(ctx, fasthttp.StatusBadRequest, bodyBadRequest, RefusedMalformed)
	}
}
