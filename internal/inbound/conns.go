package inbound

import (
	"errors"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ConnLimits bound the client connections the proxy holds open at once. A
// connection past either cap is closed as soon as it is accepted, before a
// byte is read, and counted: silent sockets cannot pile up until the process
// runs out of file descriptors.
type ConnLimits struct {
	// MaxOpen caps open client connections, busy or idle (--max-open-conns).
	MaxOpen int
	// MaxPerIP caps the open connections of one peer address (an IPv6 peer
	// counts per /64, what one host is usually given) (--max-conns-per-ip).
	// Unix socket peers have no address and only MaxOpen applies to them.
	MaxPerIP int
}

// DescriptorReserve is how many file descriptors the defaults keep for
// everything that is not a client or upstream connection: standard streams,
// listeners, the outbox file, the poller, admin connections, certificate and
// secret files being read.
const DescriptorReserve = 64

// DescriptorLimit is the process's RLIMIT_NOFILE soft limit (Go raises it to
// the hard limit at start, so this is the ceiling the process works under).
func DescriptorLimit() (uint64, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	return r.Cur, nil
}

// DefaultConnLimits derives the caps from the descriptor limit nofile and the
// most upstream connections the process may open (the pool's --max-conns;
// twice that with the embedded sandbox, whose server side lives in the same
// process). Client connections get what is left after DescriptorReserve and
// the upstream's share, but never less than half of what is left after the
// reserve (with a tight limit the upstream share is the one that gives: a
// dial failing for descriptors is an upstream error and a fallback answer,
// not a dead listener). One peer may hold half of the client connections.
func DefaultConnLimits(nofile uint64, upstreamConns int) ConnLimits {
	return ConnLimits{}.WithDefaults(nofile, upstreamConns)
}

// WithDefaults fills zero fields as DefaultConnLimits says; a MaxPerIP left
// zero is half of MaxOpen, whether MaxOpen was given or derived.
func (l ConnLimits) WithDefaults(nofile uint64, upstreamConns int) ConnLimits {
	if nofile > math.MaxInt32 {
		nofile = math.MaxInt32
	}
	if l.MaxOpen <= 0 {
		avail := int(nofile) - DescriptorReserve
		l.MaxOpen = max(avail-upstreamConns, avail/2, 1)
	}
	if l.MaxPerIP <= 0 {
		l.MaxPerIP = max(l.MaxOpen/2, 1)
	}
	return l
}

// Fits reports whether the caps, the upstream's share and the reserve fit
// under the descriptor limit (when they do not, accept may fail with "too
// many open files": it is retried, but the operator should know).
func (l ConnLimits) Fits(nofile uint64, upstreamConns int) bool {
	return uint64(l.MaxOpen)+uint64(max(upstreamConns, 0))+DescriptorReserve <= nofile
}

// ConnGuard applies ConnLimits to a listener and keeps it accepting through
// errors that a full descriptor table, a short kernel buffer or an aborted
// handshake cause. Counters feed metrics; lines go to Logger, at most one a
// second per kind.
type ConnGuard struct {
	Limits ConnLimits
	Logger *slog.Logger

	open         atomic.Int64
	refusedOpen  atomic.Uint64
	refusedPerIP atomic.Uint64
	acceptErrors atomic.Uint64

	mu    sync.Mutex
	perIP map[netip.Prefix]int

	acceptLog, refuseLog everySecond
}

// Backoff of Accept after an error, as net/http's Server: 5 ms doubling to 1 s.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// Open is the number of client connections open now.
func (g *ConnGuard) Open() int64 { return g.open.Load() }

// RefusedOpen and RefusedPerIP count connections closed at accept for
// MaxOpen and MaxPerIP; AcceptErrors counts failed accepts (each retried).
func (g *ConnGuard) RefusedOpen() uint64  { return g.refusedOpen.Load() }
func (g *ConnGuard) RefusedPerIP() uint64 { return g.refusedPerIP.Load() }
func (g *ConnGuard) AcceptErrors() uint64 { return g.acceptErrors.Load() }

// Listener wraps ln. Wrap the plain TCP or Unix listener, under any TLS
// layer, so that a refused connection costs no handshake.
func (g *ConnGuard) Listener(ln net.Listener) net.Listener {
	return &guardedListener{Listener: ln, g: g, done: make(chan struct{})}
}

type guardedListener struct {
	net.Listener
	g         *ConnGuard
	done      chan struct{}
	closeOnce sync.Once
}

// Accept returns the next connection within the caps. A retryable accept
// error is counted, logged and retried after a backoff; only a closed
// listener or an error no retry can mend ends it.
func (l *guardedListener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || !retryableAccept(err) {
				return nil, err
			}
			delay = min(max(2*delay, acceptBackoffMin), acceptBackoffMax)
			l.g.acceptErrors.Add(1)
			l.g.acceptLog.do(func(omitted int) {
				l.g.logger().Warn("accept failed, retrying", slog.String("error", err.Error()),
					slog.String("retry_in", delay.String()), slog.Int("errors_not_logged", omitted))
			})
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-l.done:
				t.Stop()
				return nil, net.ErrClosed
			}
			continue
		}
		delay = 0
		if gc := l.g.admit(c); gc != nil {
			return gc, nil
		}
	}
}

func (l *guardedListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// retryableAccept reports whether an accept error is about the moment (the
// descriptor table, kernel memory, one aborted connection), not the
// listener.
func retryableAccept(err error) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EPROTO, syscall.EPERM, syscall.ETIMEDOUT, syscall.EINTR, syscall.EAGAIN} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne interface{ Temporary() bool }
	return errors.As(err, &ne) && ne.Temporary()
}

// admit counts c in, or closes it when a cap is reached (nil).
func (g *ConnGuard) admit(c net.Conn) net.Conn {
	if n := g.open.Add(1); g.Limits.MaxOpen > 0 && n > int64(g.Limits.MaxOpen) {
		g.open.Add(-1)
		g.refusedOpen.Add(1)
		g.refuse(c, "max-open-conns")
		return nil
	}
	key, ok := peerKey(c.RemoteAddr())
	if ok && g.Limits.MaxPerIP > 0 {
		g.mu.Lock()
		if g.perIP == nil {
			g.perIP = map[netip.Prefix]int{}
		}
		if g.perIP[key] >= g.Limits.MaxPerIP {
			g.mu.Unlock()
			g.open.Add(-1)
			g.refusedPerIP.Add(1)
			g.refuse(c, "max-conns-per-ip")
			return nil
		}
		g.perIP[key]++
		g.mu.Unlock()
	} else {
		ok = false
	}
	return &guardedConn{Conn: c, g: g, key: key, counted: ok}
}

func (g *ConnGuard) refuse(c net.Conn, reason string) {
	peer := c.RemoteAddr().String()
	_ = c.Close()
	g.refuseLog.do(func(omitted int) {
		g.logger().Warn("connection refused", slog.String("reason", reason), slog.String("remote", peer),
			slog.Int("max_open_conns", g.Limits.MaxOpen), slog.Int("max_conns_per_ip", g.Limits.MaxPerIP),
			slog.Int("refusals_not_logged", omitted))
	})
}

func (g *ConnGuard) release(key netip.Prefix, counted bool) {
	g.open.Add(-1)
	if !counted {
		return
	}
	g.mu.Lock()
	if g.perIP[key]--; g.perIP[key] <= 0 {
		delete(g.perIP, key)
	}
	g.mu.Unlock()
}

func (g *ConnGuard) logger() *slog.Logger {
	if g.Logger == nil {
		return slog.Default()
	}
	return g.Logger
}

// peerKey is the address a per-peer cap counts under: the IPv4 address, or
// the IPv6 /64. A Unix socket peer has none.
func peerKey(a net.Addr) (netip.Prefix, bool) {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Prefix{}, false
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, err := ip.Prefix(bits)
	return p, err == nil
}

// guardedConn gives its place back once, on the first Close.
type guardedConn struct {
	net.Conn
	g       *ConnGuard
	key     netip.Prefix
	counted bool
	closed  atomic.Bool
}

func (c *guardedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.g.release(c.key, c.counted)
	}
	return c.Conn.Close()
}

// everySecond lets a line through at most once a second and tells the next
// one how many were held back.
type everySecond struct {
	mu sync.Mutex
	st refusalState
}

func (e *everySecond) do(log func(omitted int)) {
	e.mu.Lock()
	omitted, ok := e.st.pass(time.Now(), time.Second)
	e.mu.Unlock()
	if ok {
		log(omitted)
	}
}
