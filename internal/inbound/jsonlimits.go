package inbound

import (
	"sync"
	"sync/atomic"

	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/internal/contentcoding"
)

// JSONLimits bound the shape of a request body: nesting depth, the length of
// one string, the number of elements of one array. Zero turns a limit off.
//
// The body size is capped by the server (--max-body); these bound what fits
// inside it. The generated validators walk bodies in one pass without
// building values, so they are safe either way; the limits protect what
// lies behind the proxy (Forter, and the outbox that keeps bodies) from
// documents no checkout builds, and are checked on every route and in every
// mode, before validation, as the size cap is.
type JSONLimits struct {
	MaxDepth  int // --max-depth: objects and arrays nested deeper are refused
	MaxString int // --max-string: a string longer than this many bytes as sent (escapes counted as written) is refused
	MaxArray  int // --max-array: an array with more elements is refused
	// MaxBody caps a compressed body (Content-Encoding gzip or deflate)
	// decoded for the check (--max-body): the limits bound the JSON, not
	// its compressed bytes.
	MaxBody int

	rejected atomic.Uint64
}

// On reports whether any limit is set.
func (l *JSONLimits) On() bool { return l.MaxDepth > 0 || l.MaxString > 0 || l.MaxArray > 0 }

// Rejected counts requests refused by the limits.
func (l *JSONLimits) Rejected() uint64 { return l.rejected.Load() }

// trackDepth is how many levels of arrays Check follows for MaxArray when
// MaxDepth does not bound the nesting: the validators refuse deeper
// documents anyway (validate.DefaultMaxDepth is 64).
const trackDepth = 128

// Check scans b once and returns the rule it breaks ("max-depth",
// "max-string", "max-array") and where (byte offset), or "" when it breaks
// none. It does not check that b is JSON: bytes that are not JSON are left
// to the validators (or forwarded untouched on passthrough routes), so a
// non-JSON body is only refused if it would be refused as JSON.
func (l *JSONLimits) Check(b []byte) (rule string, offset int) {
	var stack [trackDepth]struct {
		array bool
		n     int
	}
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			start := i
			i++
			for i < len(b) && b[i] != '"' {
				if b[i] == '\\' {
					i++
				}
				i++
			}
			if l.MaxString > 0 && i-start-1 > l.MaxString {
				return "max-string", start
			}
		case '[', '{':
			depth++
			if l.MaxDepth > 0 && depth > l.MaxDepth {
				return "max-depth", i
			}
			if depth <= trackDepth {
				stack[depth-1].array, stack[depth-1].n = b[i] == '[', 0
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth > 0 && depth <= trackDepth && stack[depth-1].array {
				stack[depth-1].n++
				if l.MaxArray > 0 && stack[depth-1].n+1 > l.MaxArray {
					return "max-array", i
				}
			}
		}
	}
	return "", 0
}

// Wrap returns next behind the limits: a body that breaks one is answered
// 400 in Forter's error shape (the list holds one error naming the rule and
// the byte offset, never the content). With no limit set it returns next.
func (l *JSONLimits) Wrap(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	if !l.On() {
		return next
	}
	return func(ctx *fasthttp.RequestCtx) {
		body := ctx.PostBody()
		if len(body) == 0 {
			next(ctx)
			return
		}
		if len(ctx.Request.Header.ContentEncoding()) > 0 {
			decoded, buf, ok := l.decode(ctx, body)
			if !ok {
				next(ctx) // a coding the proxy cannot read, or a bad body: the proxy answers it
				return
			}
			defer decodedBodies.Put(buf)
			body = decoded
		}
		rule, at := l.Check(body)
		if rule == "" {
			next(ctx)
			return
		}
		l.rejected.Add(1)
		refuse(ctx, fasthttp.StatusBadRequest, l.appendRefusal(nil, rule, at), RefusedJSONLimit)
	}
}

// decodedBodies recycles the buffers compressed bodies are decoded into.
var decodedBodies = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// decode returns a compressed body decoded (in a pooled buffer), or ok
// false when it is in no single coding it can read or does not decode.
func (l *JSONLimits) decode(ctx *fasthttp.RequestCtx, body []byte) (decoded []byte, buf *[]byte, ok bool) {
	values := ctx.Request.Header.PeekAll(fasthttp.HeaderContentEncoding)
	if len(values) != 1 {
		return nil, nil, false
	}
	c, err := contentcoding.Parse(values[0])
	if err != nil {
		return nil, nil, false
	}
	buf = decodedBodies.Get().(*[]byte)
	*buf, err = contentcoding.Decode((*buf)[:0], c, body, l.MaxBody)
	if err != nil {
		decodedBodies.Put(buf)
		return nil, nil, false
	}
	return *buf, buf, true
}

func (l *JSONLimits) appendRefusal(b []byte, rule string, at int) []byte {
	limit := l.MaxArray
	switch rule {
	case "max-depth":
		limit = l.MaxDepth
	case "max-string":
		limit = l.MaxString
	}
	return appendJSONLimit(b, rule, limit, at)
}
