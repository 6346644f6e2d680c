// Package pooltest starts real fasthttp upstreams on 127.0.0.1 for tests:
// plain or TLS (with a throwaway CA written to a file, as --upstream-ca
// expects), counting the server side's full and resumed handshakes and able to
// drop every open connection at once, as a restarting server would.
//
// It is for tests only and must never be imported by production code.
package pooltest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// Server is a running upstream.
type Server struct {
	URL    string // http://127.0.0.1:port or https://127.0.0.1:port
	CAFile string // PEM of the CA that signed the server's certificate (TLS only)
	Roots  *x509.CertPool

	// FullHandshakes and ResumedHandshakes count the server side's view.
	FullHandshakes    atomic.Int64
	ResumedHandshakes atomic.Int64
	Accepted          atomic.Int64

	srv   *fasthttp.Server
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// Start serves h on 127.0.0.1 (TLS when tlsOn) until the test ends.
func Start(t testing.TB, h fasthttp.RequestHandler, tlsOn bool) *Server {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &Server{conns: map[net.Conn]struct{}{}}
	var ln net.Listener = &trackingListener{Listener: raw, s: s}
	s.URL = "http://" + raw.Addr().String()
	if tlsOn {
		cert, roots, caPEM := makeCert(t)
		s.Roots = roots
		s.CAFile = filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(s.CAFile, caPEM, 0o600); err != nil {
			t.Fatalf("write CA: %v", err)
		}
		cfg := &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
		}
		ln = &handshakeListener{Listener: tls.NewListener(ln, cfg), s: s}
		s.URL = "https://" + raw.Addr().String()
	}
	s.ln = ln
	s.srv = &fasthttp.Server{Handler: h, NoDefaultServerHeader: true}
	go s.srv.Serve(ln) //nolint:errcheck // ends with Shutdown
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		go func() { _ = s.srv.ShutdownWithContext(ctx) }()
		time.Sleep(10 * time.Millisecond) // let Shutdown close the listener first
		s.Drop()
	})
	return s
}

// Drop closes every open connection from the server's side.
func (s *Server) Drop() {
	s.mu.Lock()
	conns := make([]net.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close() // removes itself from s.conns
	}
}

// Open is the number of connections the server holds.
func (s *Server) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

type trackingListener struct {
	net.Listener
	s *Server
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.s.Accepted.Add(1)
	tc := &trackedConn{Conn: c, s: l.s}
	l.s.mu.Lock()
	l.s.conns[tc] = struct{}{}
	l.s.mu.Unlock()
	return tc, nil
}

// handshakeListener completes each handshake in Accept, so that only
// handshakes the client accepted are counted.
type handshakeListener struct {
	net.Listener
	s *Server
}

func (l *handshakeListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tc := c.(*tls.Conn)
		_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
		if err := tc.Handshake(); err != nil {
			tc.Close()
			continue
		}
		_ = tc.SetDeadline(time.Time{})
		if tc.ConnectionState().DidResume {
			l.s.ResumedHandshakes.Add(1)
		} else {
			l.s.FullHandshakes.Add(1)
		}
		return tc, nil
	}
}

type trackedConn struct {
	net.Conn
	s *Server
}

func (c *trackedConn) Close() error {
	c.s.mu.Lock()
	delete(c.s.conns, c)
	c.s.mu.Unlock()
	return c.Conn.Close()
}

// makeCert makes a CA and a certificate for 127.0.0.1 and localhost signed by it.
func makeCert(t testing.TB) (tls.Certificate, *x509.CertPool, []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "orderguard test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(caCert)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, roots, caPEM
}
