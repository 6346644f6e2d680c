package pool_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/internal/pool"
	"github.com/orderguard/orderguard/internal/pool/pooltest"
)

func echo(ctx *fasthttp.RequestCtx) {
	if ctx.IsHead() {
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(ctx.PostBody())
}

func post(t testing.TB, p *pool.Pool, body string) (int, string, error) {
	t.Helper()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI("/v2/orders/1")
	req.SetBodyString(body)
	p.Target(req)
	err := p.Do(req, resp, time.Now().Add(2*time.Second))
	return resp.StatusCode(), string(resp.Body()), err
}

func TestNewRejects(t *testing.T) {
	for _, tc := range []struct{ name, url, want string }{
		{"empty", "", "scheme"},
		{"ftp", "ftp://example.com", "scheme"},
		{"no host", "https://", "no host"},
		{"path", "https://example.com/v2", "scheme and host only"},
		{"userinfo", "https://key@example.com", "scheme and host only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pool.New(pool.Config{Upstream: tc.url})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New(%q) error = %v, want it to mention %q", tc.url, err, tc.want)
			}
		})
	}
	_, err := pool.New(pool.Config{Upstream: "https://127.0.0.1:1", CAFile: "/does/not/exist.pem"})
	if err == nil || !strings.Contains(err.Error(), "upstream CA") {
		t.Fatalf("missing CA file: error = %v", err)
	}
}

func TestWarmOpensConnections(t *testing.T) {
	srv := pooltest.Start(t, echo, false)
	p, err := pool.New(pool.Config{Upstream: srv.URL, WarmConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Ready() {
		t.Fatal("Ready before Start")
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if !p.Ready() {
		t.Fatal("not Ready after a successful warm-up")
	}
	if got := srv.Accepted.Load(); got != 4 {
		t.Fatalf("server accepted %d connections, want 4", got)
	}
	if st := p.Stats(); st.ConnsOpened != 4 || st.ConnsOpen != 4 {
		t.Fatalf("stats = %+v, want 4 opened and open", st)
	}
	// A second warm-up reuses the same connections.
	if err := p.Warm(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := srv.Accepted.Load(); got != 4 {
		t.Fatalf("after re-warm: server accepted %d connections, want 4", got)
	}
}

func TestWarmFailsWithoutUpstream(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	p, err := pool.New(pool.Config{Upstream: "http://" + addr, WarmConns: 2, DialTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Warm(context.Background()); err == nil {
		t.Fatal("Warm succeeded with nothing listening")
	}
	if p.Ready() {
		t.Fatal("Ready with nothing listening")
	}
	if st := p.Stats(); st.DialErrors == 0 {
		t.Fatalf("stats = %+v, want dial errors", st)
	}
}

// TestTLSReuse is the proof of connection reuse: 1,000 sequential
// requests pay no more full handshakes than the warm connections, and after the
// server drops every connection the reconnects resume their sessions.
func TestTLSReuse(t *testing.T) {
	srv := pooltest.Start(t, echo, true)
	const warm = 4
	p, err := pool.New(pool.Config{Upstream: srv.URL, CAFile: srv.CAFile, WarmConns: warm})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	for i := range 1000 {
		code, body, err := post(t, p, `{"n":1}`)
		if err != nil || code != 200 || body != `{"n":1}` {
			t.Fatalf("request %d: %d %q %v", i, code, body, err)
		}
	}
	full := srv.FullHandshakes.Load()
	if full > warm {
		t.Fatalf("server saw %d full handshakes for 1000 requests, want <= %d", full, warm)
	}
	if st := p.Stats(); st.FullHandshakes != full || st.ConnsOpened > warm {
		t.Fatalf("client stats %+v disagree with server's %d full handshakes", st, full)
	}

	srv.Drop()
	for i := range 20 {
		code, _, err := post(t, p, `{"n":2}`)
		if err != nil || code != 200 {
			t.Fatalf("request %d after drop: %d %v", i, code, err)
		}
	}
	if got := srv.FullHandshakes.Load(); got != full {
		t.Fatalf("after drop: %d full handshakes, want still %d (reconnects must resume)", got, full)
	}
	if srv.ResumedHandshakes.Load() == 0 {
		t.Fatal("after drop: no resumed handshake")
	}
	st := p.Stats()
	if st.ResumedHandshakes != srv.ResumedHandshakes.Load() {
		t.Fatalf("client counted %d resumed handshakes, server %d", st.ResumedHandshakes, srv.ResumedHandshakes.Load())
	}
	if st.StaleReplays == 0 {
		t.Fatalf("stats = %+v: the first request after the drop should have been replayed", st)
	}
}

func TestTLSVerifiesCertificate(t *testing.T) {
	srv := pooltest.Start(t, echo, true)
	p, err := pool.New(pool.Config{Upstream: srv.URL, WarmConns: 1}) // no CA: unknown authority
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	err = p.Warm(context.Background())
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Warm against an untrusted certificate: %v", err)
	}
	if srv.FullHandshakes.Load() != 0 {
		t.Fatal("handshake completed with an untrusted certificate")
	}
}

func TestLimits(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 4096)
	srv := pooltest.Start(t, func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/big":
			ctx.SetBody(big)
		case "/slow":
			time.Sleep(300 * time.Millisecond)
		}
	}, false)
	p, err := pool.New(pool.Config{Upstream: srv.URL, MaxResponseBodySize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	do := func(path string, d time.Duration) error {
		req := fasthttp.AcquireRequest()
		resp := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI(path)
		p.Target(req)
		return p.Do(req, resp, time.Now().Add(d))
	}
	if err := do("/big", time.Second); !errors.Is(err, fasthttp.ErrBodyTooLarge) {
		t.Errorf("oversized answer: err = %v, want ErrBodyTooLarge", err)
	}
	if err := do("/slow", 50*time.Millisecond); !errors.Is(err, fasthttp.ErrTimeout) {
		t.Errorf("slow answer: err = %v, want ErrTimeout", err)
	}
	p.Close()
	if err := do("/", time.Second); !errors.Is(err, pool.ErrClosed) {
		t.Errorf("after Close: err = %v, want ErrClosed", err)
	}
}

// TestKeepWarm: idle connections outlive MaxIdleConnDuration because the
// keep-warm loop gives each one a request in time; without it they close.
func TestKeepWarm(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
		wantOpen int64
	}{
		{"kept warm", 50 * time.Millisecond, 3},
		{"not refreshed", time.Hour, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := pooltest.Start(t, echo, false)
			p, err := pool.New(pool.Config{
				Upstream: srv.URL, WarmConns: 3,
				MaxIdleConnDuration: 400 * time.Millisecond, KeepWarmInterval: tc.interval,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if err := p.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			// fasthttp's cleaner closes connections idle past the limit
			// within about twice the limit.
			time.Sleep(1500 * time.Millisecond)
			st := p.Stats()
			if st.ConnsOpen != tc.wantOpen {
				t.Fatalf("after 1.5s idle: %d connections open, want %d (stats %+v)", st.ConnsOpen, tc.wantOpen, st)
			}
			if tc.wantOpen > 0 && (st.ConnsOpened != 3 || srv.Accepted.Load() != 3) {
				t.Fatalf("kept warm by reconnecting, not by reuse: %+v, server accepted %d", st, srv.Accepted.Load())
			}
		})
	}
}
