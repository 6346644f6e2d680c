package inbound

import (
	"time"

	"github.com/valyala/fasthttp"
)

// Limits bound what one client can make the proxy hold. Every field has a
// flag in `orderguard serve`; zero means the default below.
type Limits struct {
	// ReadTimeout is the time allowed to read a whole request, header and
	// body, from its first byte (--read-timeout, default 5s). A client
	// trickling bytes is cut off after it.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response (--write-timeout, default 5s).
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection with no request for this
	// long (--idle-timeout, default 120s: longer than common client pools'
	// idle timeouts, e.g. Go's 90s, so the client closes first and never
	// reuses a connection the proxy just closed).
	IdleTimeout time.Duration
	// MaxBodyBytes caps a request body (--max-body, default 1 MiB → 413).
	MaxBodyBytes int
	// MaxHeaderBytes caps the request line plus header (--max-header-bytes,
	// default 8 KiB → 431). It is fasthttp's per-connection read buffer.
	MaxHeaderBytes int
	// MaxHeaders caps the number of header fields (--max-headers, default 100 → 431).
	MaxHeaders int
	// MaxConcurrent caps requests served at once (--max-concurrent,
	// default 4096 → 503).
	MaxConcurrent int
}

// Defaults of Limits.
const (
	DefaultReadTimeout    = 5 * time.Second
	DefaultWriteTimeout   = 5 * time.Second
	DefaultIdleTimeout    = 120 * time.Second
	DefaultMaxBodyBytes   = 1 << 20
	DefaultMaxHeaderBytes = 8 << 10
	DefaultMaxHeaders     = 100
	DefaultMaxConcurrent  = 4096
)

// WithDefaults fills zero fields with the defaults.
func (l Limits) WithDefaults() Limits {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.ReadTimeout, DefaultReadTimeout)
	def(&l.WriteTimeout, DefaultWriteTimeout)
	def(&l.IdleTimeout, DefaultIdleTimeout)
	defInt(&l.MaxBodyBytes, DefaultMaxBodyBytes)
	defInt(&l.MaxHeaderBytes, DefaultMaxHeaderBytes)
	defInt(&l.MaxHeaders, DefaultMaxHeaders)
	defInt(&l.MaxConcurrent, DefaultMaxConcurrent)
	return l
}

// Apply sets the server's timeouts and size limits and its ErrorHandler
// (Forter-shaped 408/413/431/400). The header count and concurrency caps are
// handler middleware: use Wrap.
func (l Limits) Apply(s *fasthttp.Server) {
	l = l.WithDefaults()
	s.ReadTimeout = l.ReadTimeout
	s.WriteTimeout = l.WriteTimeout
	s.IdleTimeout = l.IdleTimeout
	s.MaxRequestBodySize = l.MaxBodyBytes
	s.ReadBufferSize = l.MaxHeaderBytes
	s.ErrorHandler = ErrorHandler
	// Error messages from fasthttp's own logger must not quote request bytes.
	s.SecureErrorLogMessage = true
}

// Wrap puts next behind the header-count check and the concurrency cap and
// returns the limiter, whose counters feed metrics.
func (l Limits) Wrap(next fasthttp.RequestHandler) (fasthttp.RequestHandler, *Limiter) {
	l = l.WithDefaults()
	lim := NewLimiter(l.MaxConcurrent)
	return lim.Wrap(MaxHeaders(l.MaxHeaders, next)), lim
}
