package pool

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// ErrClosed is returned by Do after Close.
var ErrClosed = errors.New("pool: closed")

// Pool is the client of one upstream. It is safe for concurrent use.
type Pool struct {
	cfg    Config
	hc     *fasthttp.HostClient
	tls    *tls.Config // nil for plain HTTP
	scheme []byte
	host   []byte // the Host header sent upstream
	addr   string // host:port dialled

	stats     counters
	ready     atomic.Bool
	staleSeen atomic.Int64 // stale connections seen and not yet replayed

	stopOnce sync.Once
	stop     chan struct{}
	done     sync.WaitGroup
	closed   atomic.Bool
}

type counters struct {
	connsOpened       atomic.Int64
	connsOpen         atomic.Int64
	fullHandshakes    atomic.Int64
	resumedHandshakes atomic.Int64
	dialErrors        atomic.Int64
	staleReplays      atomic.Int64
}

// Stats is a snapshot of what the pool did on the wire since it was made.
type Stats struct {
	ConnsOpened       int64 // connections established (TCP, and TLS when https)
	ConnsOpen         int64 // connections currently open
	FullHandshakes    int64 // TLS handshakes that did not resume a session
	ResumedHandshakes int64 // TLS handshakes that resumed a cached session
	DialErrors        int64 // failed connects and handshakes
	StaleReplays      int64 // requests replayed once because a kept-alive connection was found closed
}

// New checks cfg and builds the client. It opens no connection: call Start.
func New(cfg Config) (*Pool, error) {
	cfg.fillDefaults()
	u, err := url.Parse(cfg.Upstream)
	if err != nil {
		return nil, fmt.Errorf("upstream %q: %w", cfg.Upstream, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("upstream %q: scheme must be http or https", cfg.Upstream)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("upstream %q: no host", cfg.Upstream)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("upstream %q: give scheme and host only (no path, query or user info)", cfg.Upstream)
	}
	isTLS := u.Scheme == "https"
	addr := u.Host
	if u.Port() == "" {
		if isTLS {
			addr = net.JoinHostPort(u.Hostname(), "443")
		} else {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	p := &Pool{
		cfg:    cfg,
		scheme: []byte(u.Scheme),
		host:   []byte(u.Host),
		addr:   addr,
		stop:   make(chan struct{}),
	}
	if isTLS {
		tc, err := buildTLS(cfg, u.Hostname())
		if err != nil {
			return nil, err
		}
		p.tls = tc
	}
	p.hc = &fasthttp.HostClient{
		Addr:                addr,
		IsTLS:               isTLS,
		DialTimeout:         p.dial, // does the TLS handshake itself, to count it
		MaxConns:            cfg.MaxConns,
		MaxConnWaitTimeout:  cfg.MaxConnWaitTimeout,
		MaxIdleConnDuration: cfg.MaxIdleConnDuration,
		ReadTimeout:         cfg.ReadTimeout,
		WriteTimeout:        cfg.WriteTimeout,
		MaxResponseBodySize: cfg.MaxResponseBodySize,
		// An order of up to about 32 KB leaves in one write system call rather
		// than two (fasthttp's default buffer is 4 KB, and orders run 1-20 KB).
		// Writers are pooled per request, so this costs memory only for the
		// requests being written at that moment.
		WriteBufferSize:          32 << 10,
		NoDefaultUserAgentHeader: true,
		DisablePathNormalizing:   true, // forward the path as the client sent it
		SecureErrorLogMessage:    true,
		ConnPoolStrategy:         fasthttp.FIFO, // rotate over idle connections so all stay warm
		// One transparent replay, only when a kept-alive connection turned out
		// to be closed by the server before it answered a byte: the request
		// never reached a live connection. Every other retry is the proxy's.
		MaxIdemponentCallAttempts: 2,
		RetryIfErr:                p.retryStale,
	}
	return p, nil
}

// Start warms the pool (errors are not fatal: the upstream may come up
// later; Ready says whether it is warm) and keeps it warm until Close.
func (p *Pool) Start(ctx context.Context) error {
	err := p.Warm(ctx)
	if p.cfg.WarmConns > 0 {
		p.done.Add(1)
		go p.keepWarm()
	}
	return err
}

// Close stops the keep-warm loop and closes idle connections. Requests in
// flight finish; later calls to Do fail with ErrClosed.
func (p *Pool) Close() {
	p.stopOnce.Do(func() {
		p.closed.Store(true)
		close(p.stop)
	})
	p.done.Wait()
	p.hc.CloseIdleConnections()
}

// Target points req at the upstream: scheme and Host header. The path and
// query are the client's.
func (p *Pool) Target(req *fasthttp.Request) {
	req.URI().SetSchemeBytes(p.scheme)
	req.URI().SetHostBytes(p.host)
	req.Header.SetHostBytes(p.host)
}

// Do sends req (already Target-ed) and reads the answer into resp, giving up
// at deadline.
func (p *Pool) Do(req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time) error {
	if p.closed.Load() {
		return ErrClosed
	}
	err := p.hc.DoDeadline(req, resp, deadline)
	if err == nil && !p.ready.Load() {
		p.ready.Store(true)
	}
	return err
}

// Ready reports whether the upstream answered the last warm-up (or a request
// since): connections can be opened and the server speaks HTTP.
func (p *Pool) Ready() bool { return p.ready.Load() }

// Addr is the host:port dialled.
func (p *Pool) Addr() string { return p.addr }

// Stats returns the wire counters.
func (p *Pool) Stats() Stats {
	return Stats{
		ConnsOpened:       p.stats.connsOpened.Load(),
		ConnsOpen:         p.stats.connsOpen.Load(),
		FullHandshakes:    p.stats.fullHandshakes.Load(),
		ResumedHandshakes: p.stats.resumedHandshakes.Load(),
		DialErrors:        p.stats.dialErrors.Load(),
		StaleReplays:      p.stats.staleReplays.Load(),
	}
}

// Warm makes sure WarmConns connections are open, then sends WarmConns
// sequential GET requests to WarmPath: the pool hands out its oldest idle
// connection first, so each one carries a request, which proves it alive and
// resets the server's idle timer. Any HTTP answer counts as warm. It returns
// an error only when no connection could be opened or no request was answered.
func (p *Pool) Warm(ctx context.Context) error {
	n := p.cfg.WarmConns
	if n == 0 {
		return nil
	}
	deadline := time.Now().Add(p.cfg.DialTimeout + p.cfg.ReadTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	// Hold n connections at once, so the pool must have n: idle ones are
	// taken, missing ones dialled (concurrently, to keep start-up short).
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	conns := make(chan func(), n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cc, err := p.hc.AcquireConn(time.Until(deadline), false)
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				return
			}
			conns <- func() { p.hc.ReleaseConn(cc) }
		}()
	}
	wg.Wait()
	close(conns)
	held := 0
	for release := range conns {
		release()
		held++
	}
	if held == 0 {
		p.ready.Store(false)
		return fmt.Errorf("warm upstream %q: %w", p.addr, first)
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	ok := 0
	for range held {
		req.Reset()
		req.Header.SetMethod(fasthttp.MethodGet)
		req.SetRequestURI(p.cfg.WarmPath)
		p.Target(req)
		if err := p.hc.DoDeadline(req, resp, deadline); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		ok++
	}
	p.ready.Store(ok > 0)
	if ok == 0 {
		return fmt.Errorf("warm upstream %q: %w", p.addr, first)
	}
	return nil
}

func (p *Pool) keepWarm() {
	defer p.done.Done()
	t := time.NewTicker(p.cfg.KeepWarmInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			_ = p.Warm(context.Background()) // Ready reflects the outcome
		}
	}
}

// retryStale allows fasthttp's one replay only when the request met a
// kept-alive connection that had already carried a response and was found
// closed before the first byte of the answer: the server shut it while idle.
// fasthttp does not say which connection failed, so the connection's watch
// leaves a token here. The other idle connections are most likely closed too
// (server restart, idle timeout), so they are dropped and the replay dials a
// fresh connection, which resumes the TLS session.
func (p *Pool) retryStale(_ *fasthttp.Request, attempts int, err error) (resetTimeout, retry bool) {
	if attempts != 1 || errors.Is(err, fasthttp.ErrTimeout) {
		return false, false
	}
	for {
		n := p.staleSeen.Load()
		if n <= 0 {
			return false, false
		}
		if p.staleSeen.CompareAndSwap(n, n-1) {
			p.stats.staleReplays.Add(1)
			p.hc.CloseIdleConnections()
			return false, true
		}
	}
}
