package sandbox

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
)

// A Go client that trusts the written certificate (and nothing else) gets
// decisions over HTTPS; one that does not trust it is refused.
func TestTLSWithWrittenCert(t *testing.T) {
	r := start(t, Options{TLS: true})
	if !strings.HasPrefix(r.URL, "https://127.0.0.1:") {
		t.Fatalf("URL %q", r.URL)
	}
	pem, err := os.ReadFile(r.CertFile)
	if err != nil {
		t.Fatalf("read written certificate: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no PEM certificate", r.CertFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	code, got := mustDo(t, c, r, req{path: "/v2/orders/t1", body: orderBody("t1", "decline@forter.com")})
	if code != 200 || got["action"] != "decline" {
		t.Errorf("over TLS: %d %v", code, got)
	}
	// localhost is in the certificate too.
	resp, err := c.Get(strings.Replace(r.URL, "127.0.0.1", "localhost", 1) + "/_sandbox/health")
	if err != nil {
		t.Errorf("https://localhost: %v", err)
	} else {
		resp.Body.Close()
	}

	untrusted := &http.Client{Transport: &http.Transport{}}
	_, _, err = do(t, untrusted, r, req{path: "/v2/orders/t1", body: validOrder})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("client without the certificate: err %v, want an unknown authority", err)
	}

	// A reset under TLS is a TCP reset, not a polite close_notify.
	_, _, err = do(t, client(t, r, true), r, req{path: "/v2/orders/t1", body: validOrder, headers: with(stdHeaders(), FaultHeader, "reset")})
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("reset over TLS: err %v, want a connection reset", err)
	}
}

func TestSelfSignedHosts(t *testing.T) {
	cert, _, err := SelfSigned("orders.test", "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("orders.test"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("10.0.0.1"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err == nil {
		t.Error("certificate for orders.test is valid for 127.0.0.1")
	}
}

// Down, then up on the same address: what the outbox tests need.
func TestStopRestart(t *testing.T) {
	r := start(t, Options{})
	c := client(t, r, false)
	if code, _ := mustDo(t, c, r, req{path: "/v2/orders/s1", body: validOrder}); code != 200 {
		t.Fatalf("before stop: %d", code)
	}
	addr := r.Addr
	if err := r.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if r.Up() {
		t.Error("Up after Stop")
	}
	if err := r.Stop(); !errors.Is(err, ErrNotRunning) {
		t.Errorf("second Stop: %v, want ErrNotRunning", err)
	}
	// A fresh connection is refused (a pooled one may first see EOF).
	_, _, err := do(t, client(t, r, true), r, req{path: "/v2/orders/s1", body: validOrder})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("while down: err %v, want connection refused", err)
	}
	if err := r.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if r.Addr != addr {
		t.Errorf("address changed: %s, then %s", addr, r.Addr)
	}
	// New connections: the pooled one was closed by Stop (a client that
	// reuses it sees EOF, as with a real restart).
	if code, _ := mustDo(t, client(t, r, true), r, req{path: "/v2/orders/s1", body: validOrder}); code != 200 {
		t.Fatalf("after restart: %d", code)
	}
	// Hangs work again after a restart (a fresh generation), and the
	// received log survived it.
	if got := r.Received().Order(EndpointOrderV2, "s1"); got.Received != 2 || got.OK != 2 {
		t.Errorf("received across restart: %+v, want 2 received, 2 ok", got)
	}
	if r.Server.gen.Load().isClosed() {
		t.Error("generation still closed after Restart")
	}
}
