package suite

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/internal/sandbox"
)

// TestRemoteMode loads a local HTTPS server the way a user would load Forter's
// test site: credentials, the persistence-disabling header, the rate cap, and
// connection reuse counted (the server drops each connection after 5 requests).
func TestRemoteMode(t *testing.T) {
	certPEM, cert := testCert(t)
	dir := t.TempDir()
	caFile, keyFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "key")
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, []byte("test-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var got []string
	s := &fasthttp.Server{MaxRequestsPerConn: 5, Handler: func(ctx *fasthttp.RequestCtx) {
		h := &ctx.Request.Header
		mu.Lock()
		got = append(got, string(h.Peek("Authorization"))+"|"+string(h.Peek("x-forter-siteid"))+"|"+
			string(h.Peek("x-forter-disable-persistence"))+"|"+string(h.Peek("api-version")))
		mu.Unlock()
		ctx.SetBodyString(`{"status":"success","action":"approve"}`)
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	defer s.Shutdown()

	o := Options{
		URL: "https://" + ln.Addr().String(), APIKeyFile: keyFile, SiteID: "site1", CAFile: caFile, MaxRate: 40,
		Rates: []float64{1000, 0}, Duration: 500 * time.Millisecond, Connections: 4, Payloads: "../../testdata/load",
	}
	rep, err := Run(context.Background(), o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 1 || rep.Runs[0].Rate != 40 || rep.Settings.RateCap != 40 {
		t.Fatalf("runs %+v: want one run at the 40 req/s cap (1000 and max both capped)", rep.Runs)
	}
	run := rep.Runs[0]
	if run.Responses != 20 || run.Status["200"] != 20 {
		t.Errorf("responses %d, status %v; want 20 × 200", run.Responses, run.Status)
	}
	want := "Basic dGVzdC1rZXk6|site1|true|2.3" // base64("test-key:")
	mu.Lock()
	defer mu.Unlock()
	for _, g := range got {
		if g != want {
			t.Fatalf("request headers %q, want %q", g, want)
		}
	}
	if c := run.Conn; c.Dials < 4 || c.Handshakes != c.Dials || c.Resumed == 0 {
		t.Errorf("connection stats %+v: want >= 4 new connections, a handshake each, resumed sessions", c)
	}
}

func testCert(t *testing.T) ([]byte, tls.Certificate) {
	t.Helper()
	cert, certPEM, err := sandbox.SelfSigned("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, cert
}
