package pool

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// sessionCacheSize bounds the TLS session cache: one upstream host needs a
// few tickets (one per concurrent reconnect), not thousands.
const sessionCacheSize = 64

func buildTLS(cfg Config, host string) (*tls.Config, error) {
	var tc *tls.Config
	if cfg.TLS != nil {
		tc = cfg.TLS.Clone()
	} else {
		tc = &tls.Config{}
	}
	if tc.MinVersion < tls.VersionTLS12 {
		tc.MinVersion = tls.VersionTLS12
	}
	if tc.ServerName == "" {
		tc.ServerName = host
		if cfg.ServerName != "" {
			tc.ServerName = cfg.ServerName
		}
	}
	if tc.ClientSessionCache == nil {
		tc.ClientSessionCache = tls.NewLRUClientSessionCache(sessionCacheSize)
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read upstream CA: %w", err)
		}
		roots := tc.RootCAs
		if roots == nil {
			roots, err = x509.SystemCertPool()
			if err != nil || roots == nil {
				roots = x509.NewCertPool()
			}
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read upstream CA %q: no PEM certificate found", cfg.CAFile)
		}
		tc.RootCAs = roots
	}
	return tc, nil
}

// dial is the HostClient's DialTimeout: connect, then (for https) handshake
// here rather than in fasthttp, so that each handshake is counted and known
// to be full or resumed. fasthttp skips its own handshake for a conn that
// has a Handshake method.
func (p *Pool) dial(addr string, timeout time.Duration) (net.Conn, error) {
	if timeout <= 0 || timeout > p.cfg.DialTimeout {
		timeout = p.cfg.DialTimeout
	}
	deadline := time.Now().Add(timeout)
	var raw net.Conn
	var err error
	if p.cfg.Dial != nil {
		raw, err = p.cfg.Dial(addr, timeout)
	} else {
		raw, err = net.DialTimeout("tcp", addr, timeout)
	}
	if err != nil {
		p.stats.dialErrors.Add(1)
		return nil, fmt.Errorf("dial upstream %q: %w", addr, err)
	}
	if p.tls == nil {
		p.opened()
		return &plainConn{Conn: raw, watch: watch{p: p}}, nil
	}
	tc := tls.Client(raw, p.tls)
	if err := tc.SetDeadline(deadline); err != nil {
		raw.Close()
		p.stats.dialErrors.Add(1)
		return nil, fmt.Errorf("tls handshake with upstream %q: %w", addr, err)
	}
	if err := tc.Handshake(); err != nil {
		raw.Close()
		p.stats.dialErrors.Add(1)
		return nil, fmt.Errorf("tls handshake with upstream %q: %w", addr, err)
	}
	if err := tc.SetDeadline(time.Time{}); err != nil {
		raw.Close()
		p.stats.dialErrors.Add(1)
		return nil, fmt.Errorf("tls handshake with upstream %q: %w", addr, err)
	}
	if tc.ConnectionState().DidResume {
		p.stats.resumedHandshakes.Add(1)
	} else {
		p.stats.fullHandshakes.Add(1)
	}
	p.opened()
	return &tlsConn{Conn: tc, watch: watch{p: p}}, nil
}

func (p *Pool) opened() {
	p.stats.connsOpened.Add(1)
	p.stats.connsOpen.Add(1)
}

// watch follows one connection's exchanges to recognise a stale keep-alive
// connection: one that already carried a response and now ends before the
// first byte of the next. fasthttp turns that into io.EOF and hides which
// connection it was, so the watch leaves a token the retry hook takes.
// fasthttp uses a connection from one goroutine at a time.
type watch struct {
	p         *Pool
	served    bool // a response was read on this connection before the current request
	readSince bool // bytes were read since the last write
	closeOnce sync.Once
}

func (w *watch) wrote(err error) {
	if w.readSince {
		w.served = true
	}
	w.readSince = false
	if err != nil && w.served && isClosedErr(err) {
		w.p.staleSeen.Add(1)
	}
}

func (w *watch) read(n int, err error) {
	if n > 0 {
		w.readSince = true
		return
	}
	// EOF only: a server closing an idle connection sends FIN (and, under
	// TLS, close_notify). A reset after the request was read is a crash or
	// a fault, and is the proxy's to retry or not.
	if err != nil && w.served && !w.readSince && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
		w.p.staleSeen.Add(1)
	}
}

func (w *watch) closed() {
	w.closeOnce.Do(func() { w.p.stats.connsOpen.Add(-1) })
}

func isClosedErr(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

type plainConn struct {
	net.Conn
	watch
}

func (c *plainConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.read(n, err)
	return n, err
}

func (c *plainConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.wrote(err)
	return n, err
}

func (c *plainConn) Close() error {
	c.closed()
	return c.Conn.Close()
}

// tlsConn keeps *tls.Conn's methods (Handshake among them, which tells
// fasthttp the connection is TLS already).
type tlsConn struct {
	*tls.Conn
	watch
}

func (c *tlsConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.read(n, err)
	return n, err
}

func (c *tlsConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.wrote(err)
	return n, err
}

func (c *tlsConn) Close() error {
	c.closed()
	return c.Conn.Close()
}
