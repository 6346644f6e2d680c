package sandbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"

	"github.com/orderguard/orderguard/internal/validate"
)

// closeWait bounds how long Close waits for connection goroutines to finish
// after their connections were closed under them.
const closeWait = 5 * time.Second

// Server is one sandbox: its handler, its received log and rate limit, and
// the fasthttp servers currently serving it. The same Server may Serve again
// after Close (a restart keeps the received log).
type Server struct {
	cfg        Config
	validators map[string]validate.Func // "POST /v2/orders/{}" → request validator
	rec        *recorder
	lim        *limiter
	parsers    fastjson.ParserPool
	reports    sync.Pool

	rndMu sync.Mutex
	rnd   *rand.Rand

	gen atomic.Pointer[generation]

	mu      sync.Mutex
	servers map[*fasthttp.Server]struct{}
	lns     map[net.Listener]struct{}
	conns   map[net.Conn]struct{}
}

// New checks cfg and builds a sandbox. It serves nothing until Serve or
// ListenAndServe; Handler can also be mounted on a caller's fasthttp server.
func New(cfg Config) (*Server, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("sandbox config: %w", err)
	}
	if cfg.MaxBodySize == 0 {
		cfg.MaxBodySize = DefaultMaxBodySize
	}
	s := &Server{
		cfg:     cfg,
		rec:     newRecorder(cfg.ReceivedMax),
		lim:     newLimiter(cfg.RateLimit, cfg.Now),
		rnd:     rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		servers: map[*fasthttp.Server]struct{}{},
		lns:     map[net.Listener]struct{}{},
		conns:   map[net.Conn]struct{}{},
	}
	s.reports.New = func() any { return new(validate.Report) }
	if !cfg.SkipValidation {
		ops := cfg.Operations
		if ops == nil {
			ops = defaultOperations()
		}
		s.validators = make(map[string]validate.Func, len(ops))
		for _, op := range ops {
			if op.Request != nil {
				s.validators[op.Method+" "+templateKey(op.Path)] = op.Request
			}
		}
	}
	s.gen.Store(newGeneration())
	return s, nil
}

// Config returns the configuration the server runs with.
func (s *Server) Config() Config { return s.cfg }

// Handler is the sandbox as a fasthttp handler. Hung requests taken over by
// it are released by Close and Shutdown even when a caller's server serves it.
func (s *Server) Handler() fasthttp.RequestHandler { return s.handle }

// Received returns a snapshot of the received log.
func (s *Server) Received() Received { return s.rec.snapshot() }

// ResetReceived empties the received log.
func (s *Server) ResetReceived() { s.rec.reset() }

// ListenAndServe listens on the TCP address addr and serves until Close or
// Shutdown; then it returns nil.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sandbox listen %q: %w", addr, err)
	}
	return s.Serve(ln)
}

// Serve serves on ln (with TLS when Config.TLS is set) until Close or
// Shutdown; then it returns nil. It takes ownership of ln.
func (s *Server) Serve(ln net.Listener) error {
	return s.serveRegistered(s.register(ln))
}

// register makes ln known to Close before anything is served on it, so that
// a Close racing a Serve started in a goroutine cannot miss it.
func (s *Server) register(ln net.Listener) (*fasthttp.Server, net.Listener) {
	hs := &fasthttp.Server{
		Handler:                      s.handle,
		Name:                         "orderguard-sandbox",
		ConnState:                    s.connState,
		MaxRequestBodySize:           s.cfg.MaxBodySize,
		ReadTimeout:                  time.Minute,
		IdleTimeout:                  time.Minute,
		DisablePreParseMultipartForm: true,
		NoDefaultContentType:         true,
		// fasthttp logs connection errors, which resets and hangs cause on
		// purpose; a test double should not fill a test's output.
		Logger:       quietLogger{},
		ErrorHandler: parseError,
	}
	if s.cfg.TLS != nil {
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	s.mu.Lock()
	if g := s.gen.Load(); g.isClosed() {
		s.gen.Store(newGeneration())
	}
	s.servers[hs] = struct{}{}
	s.lns[ln] = struct{}{}
	s.mu.Unlock()
	return hs, ln
}

func (s *Server) serveRegistered(hs *fasthttp.Server, ln net.Listener) error {
	err := hs.Serve(ln)

	s.mu.Lock()
	delete(s.servers, hs)
	delete(s.lns, ln)
	s.mu.Unlock()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("sandbox serve: %w", err)
	}
	return nil
}

// Close stops serving at once: listeners closed, every connection closed
// (hung and slow requests included), like a crashed or unplugged Forter. It
// waits up to a few seconds for connection goroutines to finish.
func (s *Server) Close() error {
	s.mu.Lock()
	s.gen.Load().close()
	var err error
	for ln := range s.lns {
		if cerr := ln.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) && err == nil {
			err = cerr
		}
	}
	for c := range s.conns {
		_ = c.Close()
	}
	servers := s.serverList()
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	for _, hs := range servers {
		// The listeners are closed already; fasthttp closing them again
		// is not an error here.
		if serr := hs.ShutdownWithContext(ctx); serr != nil && !errors.Is(serr, net.ErrClosed) && err == nil {
			err = fmt.Errorf("sandbox close: %w", serr)
		}
	}
	return err
}

// Shutdown stops accepting, drops hung requests (they were never going to
// be answered), answers delayed ones at once, lets requests in flight finish
// and closes idle connections. When ctx ends first, it closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.gen.Load().close()
	servers := s.serverList()
	s.mu.Unlock()
	for _, hs := range servers {
		if err := hs.ShutdownWithContext(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
			_ = s.Close()
			return fmt.Errorf("sandbox shutdown: %w", err)
		}
	}
	return nil
}

func (s *Server) serverList() []*fasthttp.Server {
	out := make([]*fasthttp.Server, 0, len(s.servers))
	for hs := range s.servers {
		out = append(out, hs)
	}
	return out
}

// connState tracks open connections so that Close can close them; a hung
// (hijacked) connection is tracked by its generation instead.
func (s *Server) connState(c net.Conn, st fasthttp.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch st {
	case fasthttp.StateNew:
		s.conns[c] = struct{}{}
	case fasthttp.StateClosed, fasthttp.StateHijacked:
		delete(s.conns, c)
	}
}

// generation is one serving period, from Serve to Close. Its done channel
// releases delays; its hung set is what Close must drop.
type generation struct {
	done   chan struct{}
	mu     sync.Mutex
	closed bool
	hung   map[net.Conn]struct{}
}

func newGeneration() *generation {
	return &generation{done: make(chan struct{}), hung: map[net.Conn]struct{}{}}
}

func (g *generation) isClosed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

func (g *generation) track(c net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.hung[c] = struct{}{}
	return true
}

func (g *generation) untrack(c net.Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.hung, c)
}

func (g *generation) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	g.closed = true
	close(g.done)
	for c := range g.hung {
		_ = c.Close()
	}
}

// parseError answers requests fasthttp could not read in Forter's short
// error shape rather than fasthttp's plain text.
func parseError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		writeFailed(ctx, fasthttp.StatusRequestEntityTooLarge, "request body too large")
	case errors.As(err, &small):
		writeFailed(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, "request headers too large")
	case errors.As(err, &netErr) && netErr.Timeout():
		writeFailed(ctx, fasthttp.StatusRequestTimeout, "request timeout")
	default:
		writeFailed(ctx, fasthttp.StatusBadRequest, "malformed HTTP request")
	}
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}
