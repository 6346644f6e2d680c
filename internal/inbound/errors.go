package inbound

import (
	"errors"
	"net"
	"strconv"

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

// RefuseJSONLimit answers a body that broke a JSON shape limit (--max-depth,
// --max-string or --max-array: rule) at byte offset at: 400 in Forter's
// error shape, whose one error names the rule, the limit and the offset,
// never the content; RefusalLog writes its line (reason json_limit). The
// proxy finds the breach as it reads the body (validate.Report.Breach).
func RefuseJSONLimit(ctx *fasthttp.RequestCtx, rule string, limit, at int) {
	refuse(ctx, fasthttp.StatusBadRequest, appendJSONLimit(nil, rule, limit, at), RefusedJSONLimit)
}

func appendJSONLimit(b []byte, rule string, limit, at int) []byte {
	var what string
	switch rule {
	case "max-depth":
		what = "objects and arrays nest deeper than "
	case "max-string":
		what = "a string is longer (bytes) than "
	default:
		what = "an array has more elements than "
	}
	b = append(b, `{"status":"failed","message":"Malformed request","errorsCount":1,"errors":[{"message":"`...)
	b = append(b, what...)
	b = strconv.AppendInt(b, int64(limit), 10)
	b = append(b, ` (--`...)
	b = append(b, rule...)
	b = append(b, `)","path":"#","rule":"`...)
	b = append(b, rule...)
	b = append(b, `","kind":"limit","offset":`...)
	b = strconv.AppendInt(b, int64(at), 10)
	return append(b, "}]}"...)
}
