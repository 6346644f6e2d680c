package inbound

import (
	"crypto/subtle"
	"sync/atomic"

	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/internal/secret"
)

// RequireSecret answers 401 unless the request carries header with the
// value of key, compared in constant time. The header is removed before next
// runs so the shared secret never travels upstream. The key is read on every
// request, so a rotation by SIGHUP applies to the next request. With no key
// set, RequireSecret returns next unchanged.
func RequireSecret(header string, key *secret.Key, next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return (&SecretCheck{Header: header, Key: key}).Wrap(next)
}

// SecretCheck is RequireSecret with a count of refused requests, for metrics.
type SecretCheck struct {
	Header   string // default DefaultSecretHeader
	Key      *secret.Key
	rejected atomic.Uint64
	cached   atomic.Pointer[secretBytes]
}

// Rejected counts requests answered 401.
func (c *SecretCheck) Rejected() uint64 { return c.rejected.Load() }

// want is the secret as bytes, rebuilt only when the key was reloaded.
func (c *SecretCheck) want() []byte {
	gen := c.Key.Generation()
	if b := c.cached.Load(); b != nil && b.gen == gen {
		return b.b
	}
	b := &secretBytes{gen: gen, b: []byte(c.Key.Value().Reveal())}
	c.cached.Store(b)
	return b.b
}

// Wrap returns next behind the check; next itself when no key is set.
func (c *SecretCheck) Wrap(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	if !c.Key.IsSet() {
		return next
	}
	header := c.Header
	if header == "" {
		header = DefaultSecretHeader
	}
	challenge := `OrderguardSecret header="` + header + `"`
	return func(ctx *fasthttp.RequestCtx) {
		got := ctx.Request.Header.Peek(header)
		ok := len(got) > 0 && subtle.ConstantTimeCompare(got, c.want()) == 1
		ctx.Request.Header.Del(header)
		if !ok {
			c.rejected.Add(1)
			refuse(ctx, fasthttp.StatusUnauthorized, bodyUnauthorized, RefusedUnauthorized)
			ctx.Response.Header.Set("WWW-Authenticate", challenge)
			return
		}
		next(ctx)
	}
}

type secretBytes struct {
	gen uint64
	b   []byte
}

// Limiter caps the requests served at once. Past the cap a request gets a
// 503 at once instead of queueing: the checkout's own timeout is shorter than
// any queue, and a fast 503 lets its fallback run.
type Limiter struct {
	max      int64
	inFlight atomic.Int64
	rejected atomic.Uint64
}

// NewLimiter returns a Limiter for max concurrent requests; max <= 0 means
// no cap.
func NewLimiter(max int) *Limiter { return &Limiter{max: int64(max)} }

// InFlight is the number of requests being served now (for a gauge).
func (l *Limiter) InFlight() int64 { return l.inFlight.Load() }

// Rejected counts requests answered 503 by the cap (for a counter).
func (l *Limiter) Rejected() uint64 { return l.rejected.Load() }

// Wrap returns next behind the cap.
func (l *Limiter) Wrap(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		n := l.inFlight.Add(1)
		defer l.inFlight.Add(-1)
		if l.max > 0 && n > l.max {
			l.rejected.Add(1)
			refuse(ctx, fasthttp.StatusServiceUnavailable, bodyOverloaded, RefusedOverloaded)
			ctx.Response.Header.Set("Retry-After", "1")
			return
		}
		next(ctx)
	}
}

// MaxHeaders answers 431 to a request with more than max header fields.
// The header's total size is bounded separately by the read buffer
// (Limits.MaxHeaderBytes); this bounds the work per request for many tiny
// fields. max <= 0 returns next unchanged.
func MaxHeaders(max int, next fasthttp.RequestHandler) fasthttp.RequestHandler {
	if max <= 0 {
		return next
	}
	return func(ctx *fasthttp.RequestCtx) {
		if ctx.Request.Header.Len() > max {
			refuse(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, bodyTooManyHeaders, RefusedTooManyHeaders)
			ctx.SetConnectionClose()
			return
		}
		next(ctx)
	}
}
