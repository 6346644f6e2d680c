package inbound

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestDefaultConnLimits(t *testing.T) {
	for _, tc := range []struct {
		nofile      uint64
		upstream    int
		open, perIP int
		fitsWithin  bool
	}{
		{300, 256, 118, 59, false}, // the upstream share gives: half of the 236 left
		{1024, 256, 704, 352, true},
		{20000, 256, 19680, 9840, true},
		{20000, 512, 19424, 9712, true}, // the embedded sandbox doubles the upstream share
		{32, 256, 1, 1, false},
		{1 << 40, 256, 1<<31 - 1 - 64 - 256, (1<<31 - 1 - 64 - 256) / 2, true},
	} {
		l := DefaultConnLimits(tc.nofile, tc.upstream)
		if l.MaxOpen != tc.open || l.MaxPerIP != tc.perIP {
			t.Errorf("DefaultConnLimits(%d, %d) = %+v, want open %d, per IP %d", tc.nofile, tc.upstream, l, tc.open, tc.perIP)
		}
		if got := l.Fits(tc.nofile, tc.upstream); got != tc.fitsWithin {
			t.Errorf("Fits(%d, %d) of %+v = %v", tc.nofile, tc.upstream, l, got)
		}
	}
	// A MaxOpen given keeps its per-peer default at half of it.
	if l := (ConnLimits{MaxOpen: 10}).WithDefaults(300, 256); l.MaxOpen != 10 || l.MaxPerIP != 5 {
		t.Errorf("WithDefaults of a given MaxOpen: %+v", l)
	}
	if n, err := DescriptorLimit(); err != nil || n == 0 {
		t.Errorf("DescriptorLimit() = %d, %v", n, err)
	}
}

func TestRetryableAccept(t *testing.T) {
	wrap := func(e error) error {
		return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", e)}
	}
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if !retryableAccept(wrap(e)) {
			t.Errorf("%v is not retried", e)
		}
	}
	for _, e := range []error{wrap(syscall.EBADF), wrap(syscall.EINVAL), errors.New("other")} {
		if retryableAccept(e) {
			t.Errorf("%v is retried", e)
		}
	}
}

// fakeConn is a connection from a given peer; closing it is counted.
type fakeConn struct {
	net.Conn
	peer   net.Addr
	closed *int
}

func (c fakeConn) RemoteAddr() net.Addr { return c.peer }
func (c fakeConn) Close() error         { *c.closed++; return nil }

// errListener returns its errors, then its connections, then blocks until closed.
type errListener struct {
	errs  []error
	conns []net.Conn
	done  chan struct{}
}

func (l *errListener) Accept() (net.Conn, error) {
	if len(l.errs) > 0 {
		e := l.errs[0]
		l.errs = l.errs[1:]
		return nil, e
	}
	if len(l.conns) > 0 {
		c := l.conns[0]
		l.conns = l.conns[1:]
		return c, nil
	}
	<-l.done
	return nil, net.ErrClosed
}
func (l *errListener) Close() error   { close(l.done); return nil }
func (l *errListener) Addr() net.Addr { return &net.TCPAddr{} }

func TestConnGuardCaps(t *testing.T) {
	closed := 0
	conn := func(addr string) net.Conn {
		ap, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		return fakeConn{peer: ap, closed: &closed}
	}
	unix := fakeConn{peer: &net.UnixAddr{Name: "@", Net: "unix"}, closed: &closed}
	g := &ConnGuard{Limits: ConnLimits{MaxOpen: 5, MaxPerIP: 2}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	inner := &errListener{
		errs: []error{emfile, emfile, emfile},
		conns: []net.Conn{
			conn("10.0.0.1:1"), conn("10.0.0.1:2"), conn("10.0.0.1:3"), // the third is past the per-peer cap
			conn("[2001:db8::1]:1"), conn("[2001:db8::2]:1"), conn("[2001:db8::3]:1"), // one /64: the third is refused
			unix,               // no peer address: only the open cap applies
			conn("10.0.0.2:1"), // a new peer, past the open cap
		},
		done: make(chan struct{}),
	}
	ln := g.Listener(inner)
	start := time.Now()
	var got []net.Conn
	for range 5 {
		c, err := ln.Accept()
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		got = append(got, c)
	}
	// Three EMFILEs: 5 + 10 + 20 ms of backoff.
	if d := time.Since(start); d < 35*time.Millisecond {
		t.Errorf("three accept errors retried within %s; want the 5ms doubling backoff", d)
	}
	if g.AcceptErrors() != 3 {
		t.Errorf("accept errors = %d, want 3", g.AcceptErrors())
	}
	for i, want := range []string{"10.0.0.1:1", "10.0.0.1:2", "[2001:db8::1]:1", "[2001:db8::2]:1", "@"} {
		if got[i].RemoteAddr().String() != want {
			t.Errorf("connection %d from %s, want %s", i, got[i].RemoteAddr(), want)
		}
	}
	// The last peer is past the open cap: refused at once.
	go func() { time.Sleep(50 * time.Millisecond); ln.Close() }()
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
	if g.RefusedPerIP() != 2 || g.RefusedOpen() != 1 || closed != 3 || g.Open() != 5 {
		t.Errorf("refused per IP %d, open cap %d, closed %d, open %d; want 2, 1, 3, 5",
			g.RefusedPerIP(), g.RefusedOpen(), closed, g.Open())
	}
	// Closing gives the places back, once however often Close is called.
	for _, c := range got {
		_ = c.Close()
		_ = c.Close()
	}
	if g.Open() != 0 || len(g.perIP) != 0 {
		t.Errorf("after closing: open %d, per-peer entries %v", g.Open(), g.perIP)
	}
}

// BenchmarkConnGuardAdmit is the guard's cost per accepted connection (not
// per request): the caps checked, the peer counted, given back on Close.
func BenchmarkConnGuardAdmit(b *testing.B) {
	closed := 0
	peer, _ := net.ResolveTCPAddr("tcp", "10.0.0.1:1")
	c := fakeConn{peer: peer, closed: &closed}
	g := &ConnGuard{Limits: ConnLimits{MaxOpen: 1 << 20, MaxPerIP: 1 << 20}}
	b.ReportAllocs()
	for b.Loop() {
		_ = g.admit(c).Close()
	}
}
