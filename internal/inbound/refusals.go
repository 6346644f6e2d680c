package inbound

import (
	"context"
	"github.com/orderguard/orderguard/internal/redact"
	"log/slog"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Reasons a request is refused at the edge, before the proxy sees it: the
// reason field of the "request refused" log line.
const (
	RefusedUnauthorized   = "unauthorized"      // 401: missing or wrong inbound secret
	RefusedOverloaded     = "overloaded"        // 503: --max-concurrent requests in flight
	RefusedTooManyHeaders = "too_many_headers"  // 431: --max-headers
	RefusedHeaderTooLarge = "header_too_large"  // 431: --max-header-bytes
	RefusedBodyTooLarge   = "body_too_large"    // 413: --max-body
	RefusedReadTimeout    = "read_timeout"      // 408: --read-timeout
	RefusedMalformed      = "malformed_request" // 400: not HTTP fasthttp could read
	RefusedJSONLimit      = "json_limit"        // 400: --max-depth, --max-string, --max-array
)

// refusedKey marks a refusal on the request, for RefusalLog.Wrap to find.
const refusedKey = "orderguard.inbound.refused"

// refuse answers in Forter's error shape and marks the request refused.
func refuse(ctx *fasthttp.RequestCtx, status int, body []byte, reason string) {
	answer(ctx, status, body)
	ctx.SetUserValue(refusedKey, reason)
}

// RefusalLog writes a line for requests refused at the edge, which the
// metrics count but a client's owner cannot otherwise find: the reason,
// status, peer, method and path, never a header value or the body. A client
// or an attacker repeating a refused request must not flood the log, so
// each reason writes at most one line per Every (default 1s); the next line
// says how many were left out.
type RefusalLog struct {
	Logger *slog.Logger
	Every  time.Duration
	now    func() time.Time // tests set it

	mu      sync.Mutex
	reasons map[string]*refusalState
}

type refusalState struct {
	last    time.Time
	omitted int
}

// pass reports whether a line may be written at t, at most one per every,
// and how many were held back since the last one. The caller holds the lock.
func (s *refusalState) pass(t time.Time, every time.Duration) (omitted int, ok bool) {
	if !s.last.IsZero() && t.Sub(s.last) < every {
		s.omitted++
		return 0, false
	}
	omitted = s.omitted
	s.last, s.omitted = t, 0
	return omitted, true
}

// maxLoggedPath bounds the path in a line: it comes from the client.
const maxLoggedPath = 256

// Wrap logs the requests next refused (through refuse).
func (l *RefusalLog) Wrap(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		next(ctx)
		l.NoteRefused(ctx)
	}
}

// NoteRefused logs ctx if it was refused (for the server's ErrorHandler,
// which answers outside any handler).
func (l *RefusalLog) NoteRefused(ctx *fasthttp.RequestCtx) {
	if reason, ok := ctx.UserValue(refusedKey).(string); ok {
		l.note(ctx, reason)
	}
}

func (l *RefusalLog) note(ctx *fasthttp.RequestCtx, reason string) {
	if l == nil || l.Logger == nil {
		return
	}
	now := time.Now
	if l.now != nil {
		now = l.now
	}
	every := l.Every
	if every <= 0 {
		every = time.Second
	}
	t := now()
	l.mu.Lock()
	if l.reasons == nil {
		l.reasons = map[string]*refusalState{}
	}
	st := l.reasons[reason]
	if st == nil {
		st = &refusalState{}
		l.reasons[reason] = st
	}
	omitted, ok := st.pass(t, every)
	l.mu.Unlock()
	if !ok {
		return
	}

	path := ctx.Path()
	if len(path) > maxLoggedPath {
		path = path[:maxLoggedPath]
	}
	l.Logger.LogAttrs(context.Background(), slog.LevelWarn, "request refused",
		slog.String("reason", reason), slog.Int("status", ctx.Response.StatusCode()),
		slog.String("remote", ctx.RemoteAddr().String()), slog.String("method", string(ctx.Method())),
		slog.String("path", redact.MaskString(string(path))), slog.Int("omitted_since_last", omitted))
}
