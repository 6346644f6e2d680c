package inbound

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/internal/secret"
)

func TestCheck(t *testing.T) {
	key := secret.FromValue("inbound secret", secret.New("s3cret"))
	cases := []struct {
		name string
		c    Config
		want error // nil: allowed
	}{
		{"ipv4 loopback", Config{Addr: "127.0.0.1:8080"}, nil},
		{"other 127/8", Config{Addr: "127.3.2.1:8080"}, nil},
		{"ipv6 loopback", Config{Addr: "[::1]:8080"}, nil},
		{"localhost", Config{Addr: "localhost:8080"}, nil},
		{"unix socket", Config{Addr: "unix:/run/og.sock"}, nil},
		{"all interfaces", Config{Addr: "0.0.0.0:8080"}, ErrExposed},
		{"empty host", Config{Addr: ":8080"}, ErrExposed},
		{"ipv6 any", Config{Addr: "[::]:8080"}, ErrExposed},
		{"pod ip", Config{Addr: "10.1.2.3:8080"}, ErrExposed},
		{"pod ip with secret", Config{Addr: "10.1.2.3:8080", Secret: key}, nil},
		{"any with mtls", Config{Addr: "0.0.0.0:8080", ClientCA: "ca.pem", CertFile: "c", KeyFile: "k"}, nil},
		{"any with insecure", Config{Addr: "0.0.0.0:8080", Insecure: true}, nil},
		{"any with unset secret", Config{Addr: "0.0.0.0:8080", Secret: secret.FromValue("x", secret.Value{})}, ErrExposed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckExposure(context.Background(), c.c)
			if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Fatalf("Check = %v, want %v", err, c.want)
			}
		})
	}
	for name, c := range map[string]Config{
		"client ca without cert": {Addr: "127.0.0.1:1", ClientCA: "ca.pem"},
		"cert without key":       {Addr: "127.0.0.1:1", CertFile: "c"},
		"no port":                {Addr: "127.0.0.1"},
		"empty socket path":      {Addr: "unix:"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := CheckExposure(context.Background(), c); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestListenRefusesExposedAddress(t *testing.T) {
	_, err := Listen(context.Background(), Config{Addr: "0.0.0.0:0"})
	if !errors.Is(err, ErrExposed) {
		t.Fatalf("err = %v, want ErrExposed", err)
	}
	if !strings.Contains(err.Error(), "--insecure-listen") {
		t.Errorf("error does not say how to proceed: %v", err)
	}
}

func TestUnixSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "og.sock")

	// A socket left by a crashed run: bound, closed without unlinking.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()

	ln, err := Listen(context.Background(), Config{Addr: "unix:" + path})
	if err != nil {
		t.Fatalf("listen over a stale socket: %v", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != DefaultSocketMode {
		t.Errorf("socket mode %v, want %v", got, DefaultSocketMode)
	}
	serve(t, ln, Limits{}, ok)
	resp, body := exchange(t, "unix", path, post(`{}`))
	if resp.StatusCode != 200 || body != `{"status":"success"}` {
		t.Fatalf("over the socket: %d %q", resp.StatusCode, body)
	}

	_, err = Listen(context.Background(), Config{Addr: "unix:" + path})
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second listener on a live socket: err %v, want EADDRINUSE", err)
	}

	file := filepath.Join(dir, "not-a-socket")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(context.Background(), Config{Addr: "unix:" + file}); err == nil {
		t.Fatal("listened over a regular file")
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Fatal("a regular file at the socket path was touched")
	}

	custom := filepath.Join(dir, "custom.sock")
	ln2, err := Listen(context.Background(), Config{Addr: "unix:" + custom, SocketMode: 0o600})
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	if st, _ := os.Stat(custom); st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", st.Mode().Perm())
	}
}

func TestRequireSecret(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "inbound")
	if err := os.WriteFile(keyFile, []byte("first-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := secret.Load("inbound secret", keyFile, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	sawHeader := false
	next := func(ctx *fasthttp.RequestCtx) {
		sawHeader = sawHeader || len(ctx.Request.Header.Peek(DefaultSecretHeader)) > 0
		ok(ctx)
	}
	check := &SecretCheck{Key: key}
	addr, _ := serve(t, nil, Limits{}, check.Wrap(next))
	cases := []struct {
		name   string
		header []string
		want   int
	}{
		{"none", nil, 401},
		{"empty", []string{DefaultSecretHeader + ": "}, 401},
		{"wrong", []string{DefaultSecretHeader + ": first-secreT"}, 401},
		{"prefix", []string{DefaultSecretHeader + ": first"}, 401},
		{"right", []string{DefaultSecretHeader + ": first-secret"}, 200},
		{"right, other case header name", []string{"x-orderguard-secret: first-secret"}, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := exchange(t, "tcp", addr, post(`{}`, c.header...))
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.want)
			}
			if c.want == 401 {
				forterError(t, body)
				if strings.Contains(body, "first") {
					t.Errorf("401 body echoes the secret: %s", body)
				}
			}
		})
	}
	if sawHeader {
		t.Error("the handler behind RequireSecret saw the secret header (it would be forwarded)")
	}

	// Rotation: the next request after Reload needs the new secret.
	if err := os.WriteFile(keyFile, []byte("second-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := key.Reload(); err != nil {
		t.Fatal(err)
	}
	if resp, _ := exchange(t, "tcp", addr, post(`{}`, DefaultSecretHeader+": first-secret")); resp.StatusCode != 401 {
		t.Errorf("old secret after rotation: %d, want 401", resp.StatusCode)
	}
	if resp, _ := exchange(t, "tcp", addr, post(`{}`, DefaultSecretHeader+": second-secret")); resp.StatusCode != 200 {
		t.Errorf("new secret after rotation: %d, want 200", resp.StatusCode)
	}

	if got := check.Rejected(); got != 5 {
		t.Errorf("rejected %d, want 5", got)
	}

	// No key configured: the handler is next itself.
	h := RequireSecret("", nil, ok)
	var ctx fasthttp.RequestCtx
	h(&ctx)
	if ctx.Response.StatusCode() != 200 {
		t.Errorf("without a key: %d, want 200", ctx.Response.StatusCode())
	}
}

func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCA(t)
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", ca.Raw)
	serverCert, serverKey := issue(t, ca, caKey, "orderguard", x509.ExtKeyUsageServerAuth)
	writePEM(t, filepath.Join(dir, "server.pem"), "CERTIFICATE", serverCert)
	writePEM(t, filepath.Join(dir, "server.key"), "EC PRIVATE KEY", serverKey)
	clientCert, clientKey := issue(t, ca, caKey, "checkout", x509.ExtKeyUsageClientAuth)

	conf := Config{
		Addr:     "127.0.0.1:0",
		ClientCA: filepath.Join(dir, "ca.pem"),
		CertFile: filepath.Join(dir, "server.pem"),
		KeyFile:  filepath.Join(dir, "server.key"),
	}
	ln, err := Listen(context.Background(), conf)
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := serve(t, ln, Limits{}, ok)

	roots := x509.NewCertPool()
	roots.AddCert(ca)
	pair, err := tls.X509KeyPair(pemBytes("CERTIFICATE", clientCert), pemBytes("EC PRIVATE KEY", clientKey))
	if err != nil {
		t.Fatal(err)
	}
	get := func(certs []tls.Certificate) (int, error) {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "orderguard", Certificates: certs},
		}}
		resp, err := c.Post("https://"+addr+"/v2/orders/o1", "application/json", strings.NewReader(`{}`))
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if _, err := get(nil); err == nil {
		t.Fatal("a client without a certificate was served")
	}
	if status, err := get([]tls.Certificate{pair}); err != nil || status != 200 {
		t.Fatalf("client with a certificate: %d, %v", status, err)
	}
	// A certificate from another CA is refused too.
	other, otherKey := newCA(t)
	strayCert, strayKey := issue(t, other, otherKey, "stray", x509.ExtKeyUsageClientAuth)
	stray, _ := tls.X509KeyPair(pemBytes("CERTIFICATE", strayCert), pemBytes("EC PRIVATE KEY", strayKey))
	if _, err := get([]tls.Certificate{stray}); err == nil {
		t.Fatal("a client certificate from another CA was accepted")
	}

	bad := conf
	bad.ClientCA = filepath.Join(dir, "server.key")
	if _, err := Listen(context.Background(), bad); err == nil || strings.Contains(err.Error(), "PRIVATE") {
		t.Fatalf("client CA without certificates: err %v", err)
	}
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca, key
}

func issue(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, name string, usage x509.ExtKeyUsage) (cert, key []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der, kb
}

func pemBytes(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pemBytes(typ, der), fs.FileMode(0o600)); err != nil {
		t.Fatal(err)
	}
}
