package sandbox

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
)

// ErrNotRunning is returned by Stop when the sandbox is already down.
var ErrNotRunning = errors.New("sandbox: not running")

// Options say how Start runs a sandbox.
type Options struct {
	Config Config
	// Addr is the address to listen on; empty means 127.0.0.1 with a random port.
	Addr string
	// TLS serves HTTPS with a certificate generated at start for 127.0.0.1,
	// ::1 and localhost, written to CertFile in a temporary directory that
	// Close removes. Ignored when Config.TLS is set (the caller's own).
	TLS bool
}

// Running is a sandbox started by Start: for other packages' tests (the
// proxy, the outbox, the benchmark), which need a real upstream on loopback,
// and may take it down and bring it back on the same address.
type Running struct {
	Server *Server
	// Addr is the listening address, host:port; it stays the same across
	// Stop and Restart.
	Addr string
	// URL is http://Addr or https://Addr.
	URL string
	// CertPEM, CertFile and CertPool are the generated certificate a client
	// must trust (Options.TLS only).
	CertPEM  []byte
	CertFile string
	CertPool *x509.CertPool

	tempDir string
	mu      sync.Mutex
	done    chan error // Serve's result while up; nil while down
}

// Start runs a sandbox in the background until Close.
func Start(opts Options) (*Running, error) {
	cfg := opts.Config
	r := &Running{}
	if opts.TLS && cfg.TLS == nil {
		cert, certPEM, err := SelfSigned()
		if err != nil {
			return nil, fmt.Errorf("sandbox start: %w", err)
		}
		dir, err := os.MkdirTemp("", "orderguard-sandbox-")
		if err != nil {
			return nil, fmt.Errorf("sandbox start: %w", err)
		}
		r.tempDir = dir
		r.CertFile = filepath.Join(dir, "cert.pem")
		if err := WriteCert(r.CertFile, certPEM); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("sandbox start: %w", err)
		}
		r.CertPEM = certPEM
		r.CertPool = x509.NewCertPool()
		r.CertPool.AppendCertsFromPEM(certPEM)
		cfg.TLS = ServerTLS(cert)
	}
	srv, err := New(cfg)
	if err != nil {
		r.removeTemp()
		return nil, err
	}
	r.Server = srv
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		r.removeTemp()
		return nil, fmt.Errorf("sandbox start: listen %q: %w", addr, err)
	}
	r.Addr = ln.Addr().String()
	r.URL = "http://" + r.Addr
	if cfg.TLS != nil {
		r.URL = "https://" + r.Addr
	}
	r.serve(ln)
	return r, nil
}

func (r *Running) serve(ln net.Listener) {
	done := make(chan error, 1)
	r.done = done
	hs, ln := r.Server.register(ln)
	go func() { done <- r.Server.serveRegistered(hs, ln) }()
}

// ClientTLS is a client TLS configuration trusting the generated
// certificate, or nil when the sandbox serves plain HTTP or the caller's
// own certificate.
func (r *Running) ClientTLS() *tls.Config {
	if r.CertPool == nil {
		return nil
	}
	return &tls.Config{RootCAs: r.CertPool, MinVersion: tls.VersionTLS12}
}

// Received returns a snapshot of what the sandbox received (kept across
// Stop and Restart).
func (r *Running) Received() Received { return r.Server.Received() }

// Up reports whether the sandbox is serving.
func (r *Running) Up() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done != nil
}

// Stop takes the sandbox down like a crash: the listener and every
// connection are closed (hung requests released), so clients see refused
// connections until Restart.
func (r *Running) Stop() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done == nil {
		return ErrNotRunning
	}
	err := r.Server.Close()
	if serr := <-r.done; serr != nil && err == nil {
		err = serr
	}
	r.done = nil
	return err
}

// Restart brings a stopped sandbox back on the same address, with the same
// received log and configuration. It is a no-op while the sandbox is up.
func (r *Running) Restart() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done != nil {
		return nil
	}
	ln, err := net.Listen("tcp", r.Addr)
	if err != nil {
		return fmt.Errorf("sandbox restart: listen %q: %w", r.Addr, err)
	}
	r.serve(ln)
	return nil
}

// Close stops the sandbox if it is up and removes its temporary files.
func (r *Running) Close() error {
	err := r.Stop()
	if errors.Is(err, ErrNotRunning) {
		err = nil
	}
	r.removeTemp()
	return err
}

func (r *Running) removeTemp() {
	if r.tempDir != "" {
		os.RemoveAll(r.tempDir)
	}
}
