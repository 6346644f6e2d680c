package inbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// UnixPrefix marks a Unix socket address: --listen unix:/run/orderguard.sock.
const UnixPrefix = "unix:"

// DefaultSocketMode lets the owner and group (the checkout container sharing
// the volume) connect, and nobody else.
const DefaultSocketMode fs.FileMode = 0o660

// ErrExposed is returned by CheckExposure for a non-loopback address without inbound
// authentication or --insecure-listen.
var ErrExposed = errors.New("inbound: refusing to listen on a non-loopback address without inbound authentication (configure --inbound-secret-file, or --client-ca with --tls-cert/--tls-key, or pass --insecure-listen)")

// Authenticated reports whether the configuration authenticates clients.
func (c Config) Authenticated() bool {
	return c.Secret.IsSet() || c.ClientCA != ""
}

// IsUnix reports whether Addr names a Unix socket.
func (c Config) IsUnix() bool { return strings.HasPrefix(c.Addr, UnixPrefix) }

// CheckExposure applies the exposure policy: a Unix socket or a loopback address is
// always allowed; anything else needs authentication or Insecure. A host
// name is resolved and every address must be loopback.
func CheckExposure(ctx context.Context, c Config) error {
	if c.ClientCA != "" && (c.CertFile == "" || c.KeyFile == "") {
		return errors.New("inbound: --client-ca needs --tls-cert and --tls-key (the proxy's own certificate)")
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return errors.New("inbound: --tls-cert and --tls-key go together")
	}
	if c.IsUnix() {
		if strings.TrimPrefix(c.Addr, UnixPrefix) == "" {
			return fmt.Errorf("inbound: listen address %q: empty socket path", c.Addr)
		}
		return nil
	}
	loop, err := IsLoopback(ctx, c.Addr)
	if err != nil {
		return err
	}
	if loop || c.Authenticated() || c.Insecure {
		return nil
	}
	return fmt.Errorf("listen %q: %w", c.Addr, ErrExposed)
}

// IsLoopback reports whether every address host:port can mean is a loopback
// address. An empty host, 0.0.0.0 and :: mean every interface: not loopback.
func IsLoopback(ctx context.Context, addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("inbound: listen address %q: %w", addr, err)
	}
	if host == "" {
		return false, nil
	}
	if strings.EqualFold(host, "localhost") {
		return true, nil
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback(), nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return false, fmt.Errorf("inbound: resolve listen host %q: %w", host, err)
	}
	for _, ip := range ips {
		if !ip.IP.IsLoopback() {
			return false, nil
		}
	}
	return len(ips) > 0, nil
}

// Listen checks c and opens its listener: TCP, TLS over TCP (with client
// certificates required when ClientCA is set), or a Unix socket.
func Listen(ctx context.Context, c Config) (net.Listener, error) {
	if err := CheckExposure(ctx, c); err != nil {
		return nil, err
	}
	var tlsConf *tls.Config
	if c.CertFile != "" {
		var err error
		if tlsConf, err = TLSConfig(c); err != nil {
			return nil, err
		}
	}
	var ln net.Listener
	var err error
	if c.IsUnix() {
		ln, err = listenUnix(strings.TrimPrefix(c.Addr, UnixPrefix), c.SocketMode)
	} else {
		var lc net.ListenConfig
		ln, err = lc.Listen(ctx, "tcp", c.Addr)
		if err != nil {
			err = fmt.Errorf("listen %q: %w", c.Addr, err)
		}
	}
	if err != nil {
		return nil, err
	}
	if c.Guard != nil {
		ln = c.Guard.Listener(ln) // under TLS: a refused connection costs no handshake
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	return ln, nil
}

// TLSConfig builds the server side TLS configuration: TLS 1.2 or later, the
// proxy's certificate, and with ClientCA a required, verified client
// certificate.
func TLSConfig(c Config) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		// The error names the files, never the key material.
		return nil, fmt.Errorf("inbound: load --tls-cert/--tls-key: %w", err)
	}
	conf := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
	}
	if c.ClientCA != "" {
		pem, err := os.ReadFile(c.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("inbound: read --client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("inbound: --client-ca %q holds no PEM certificate", c.ClientCA)
		}
		conf.ClientCAs = pool
		conf.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return conf, nil
}

// listenUnix removes a stale socket left by a crashed run, refuses to touch
// anything else at path, listens, and sets the socket's mode.
func listenUnix(path string, mode fs.FileMode) (net.Listener, error) {
	if mode == 0 {
		mode = DefaultSocketMode
	}
	if st, err := os.Lstat(path); err == nil {
		if st.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("listen unix %q: a file that is not a socket is in the way", path)
		}
		// A socket someone still answers on is in use; one that refuses
		// connections is left over and safe to remove.
		conn, derr := net.DialTimeout("unix", path, time.Second)
		if derr == nil {
			conn.Close()
			return nil, fmt.Errorf("listen unix %q: %w", path, syscall.EADDRINUSE)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket %q: %w", path, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("listen unix %q: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen unix %q: %w", path, err)
	}
	// The socket is created with the umask applied; set the mode explicitly.
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod socket %q: %w", path, err)
	}
	return ln, nil
}
