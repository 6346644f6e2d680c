package edgetest

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/inbound"
	"github.com/orderguard/orderguard/internal/pool"
	"github.com/orderguard/orderguard/internal/proxy"
	"github.com/orderguard/orderguard/internal/sandbox"
	"github.com/orderguard/orderguard/internal/secret"
)

// memEdge is a proxy and a sandbox connected by in-memory listeners, built
// once per fuzzing process.
type memEdge struct {
	ln *fasthttputil.InmemoryListener
}

var (
	memOnce sync.Once
	mem     *memEdge
	memErr  error
)

func startMemEdge() (*memEdge, error) {
	memOnce.Do(func() {
		sb, err := sandbox.New(sandbox.Config{})
		if err != nil {
			memErr = err
			return
		}
		upLn := fasthttputil.NewInmemoryListener()
		go func() { _ = sb.Serve(upLn) }()

		cfg := proxy.Defaults()
		cfg.Budget = 200 * time.Millisecond // an injected hang costs one budget
		cfg.RetryMinRemaining = 0
		cfg.APIVersion = "2.36"
		cfg.MaxBody = 64 << 10
		// The JSON shape limits of the Kubernetes example: the proxy checks
		// them in the validation pass and in a walk of their own.
		cfg.MaxDepth, cfg.MaxString, cfg.MaxArray = 32, 16<<10, 1000
		pc := pool.DefaultConfig()
		pc.Upstream, pc.WarmConns, pc.MaxConns = "http://sandbox.invalid", 0, 64
		pc.Dial = func(string, time.Duration) (net.Conn, error) { return upLn.Dial() }
		up, err := pool.New(pc)
		if err != nil {
			memErr = err
			return
		}
		log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
		p, err := proxy.New(cfg, proxy.Options{
			Operations: gen.Operations, Pool: up, Logger: log,
			APIKey: secret.FromValue("api key", secret.New("fuzz-key")),
		})
		if err != nil {
			memErr = err
			return
		}
		ln := fasthttputil.NewInmemoryListener()
		go func() {
			_ = p.Serve(context.Background(), proxy.ServeOptions{
				Listener: ln,
				// A short read timeout: a fuzzed Content-Length larger than the body
				// makes the server wait for bytes that never come.
				Edge: &inbound.Edge{
					Limits: inbound.Limits{ReadTimeout: 250 * time.Millisecond, MaxHeaderBytes: 8 << 10, MaxHeaders: 64},
					Logger: log,
				},
			})
		}()
		mem = &memEdge{ln: ln}
	})
	return mem, memErr
}

// rawRequest builds one HTTP/1.1 request from fuzzed parts. Nothing is
// cleaned: a CR or LF in the method, path or a header makes a malformed
// request, which must get a well-formed answer too.
func rawRequest(method, path, headers string, body []byte) []byte {
	var b strings.Builder
	b.WriteString(method + " " + path + " HTTP/1.1\r\nHost: orderguard\r\n")
	for _, h := range strings.Split(headers, "\n") {
		if h != "" {
			b.WriteString(h + "\r\n")
		}
	}
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	return append([]byte(b.String()), body...)
}

func FuzzHandler(f *testing.F) {
	files, _ := filepath.Glob("testdata/realworld/*/*.json")
	for i, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		route := []string{"/v2/orders/f1", "/v3/orders/f2", "/v2/status/f3"}[i%3]
		f.Add("POST", route, "Content-Type: application/json", body)
	}
	for _, s := range []struct{ method, path, headers, body string }{
		{"PUT", "/v2/status/x", "Accept: application/problem+json", `{"orderId":1}`},
		{"GET", "/", "", ""},
		{"HEAD", "/v2/orders/x", "", ""},
		{"OPTIONS", "*", "", ""},
		{"CONNECT", "sandbox:443", "", ""},
		{"DELETE", "/v2/orders/%zz", "", ""},
		{"POST", "/v2/orders/x?a=1&a=2", "Transfer-Encoding: chunked", "0\r\n\r\n"},
		{"POST", "/v2/orders/x", "Expect: 100-continue", `{}`},
		{"POST", "/v2/orders/x", "Connection: close\nX-Sandbox-Fault: 503", `{}`},
		{"POST", "/v2/orders/x", "X-Sandbox-Fault: reset", `{}`},
		{"POST", "/v2/orders/x", "X-Sandbox-Fault: bogus", `{}`},
		{"POST", "/v2/orders/x", "Content-Encoding: gzip", "\x1f\x8b\x08\x00"},
		{"POST", "/v2/orders/x", "Content-Length: 5", `{"a":`},
		{"POST", "//v2//orders//x/", "", `[]`},
		{"POST", "/v2/orders/" + strings.Repeat("x", 5000), "", `{}`},
		{"post", "/v2/orders/x", "authorization: Basic Zm9vOmJhcg==", `{"orderId":"x"}`},
		{"POST", "/v2/orders/x", "Upgrade: websocket\nConnection: Upgrade", ``},
		{"PO ST", "/v2/orders/x", "Bad Header", `{}`},
		{"POST", "/v2/orders/x\r\nX-Injected: 1", "", `{}`},
		{"POST", "/v2/orders/x", strings.Repeat("X-H: v\n", 80), `{}`},
		{"POST", "/v2/orders/x", "", strings.Repeat(`{"a":`, 40)},
		{"POST", "/v2/other", "", `[` + strings.Repeat(`1,`, 1001) + `1]`},
		{"TRACE", "/v2/other", "", `["` + strings.Repeat("s", 17<<10)},
	} {
		f.Add(s.method, s.path, s.headers, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method, path, headers string, body []byte) {
		e, err := startMemEdge()
		if err != nil {
			t.Fatal(err)
		}
		c, err := e.ln.Dial()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		raw := rawRequest(method, path, headers, body)
		// Write concurrently: the server may answer (413, 431, 400) and
		// close before reading a large request to the end.
		go func() { _, _ = c.Write(raw) }()
		checkAnswer(t, bufio.NewReader(c), method, raw)
	})
}

// checkAnswer reads one answer and fails unless it is well-formed HTTP/1.1:
// a status line with a known code, headers, and a body that matches its
// framing. Interim 1xx answers are skipped.
func checkAnswer(t *testing.T, r *bufio.Reader, method string, raw []byte) {
	t.Helper()
	for {
		resp, err := http.ReadResponse(r, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("request %q: no well-formed answer: %v", clip(raw), err)
		}
		if resp.StatusCode < 100 || resp.StatusCode > 599 {
			t.Fatalf("request %q: status %d", clip(raw), resp.StatusCode)
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 {
			continue
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			t.Fatalf("request %q: status %d, body does not match its framing: %v", clip(raw), resp.StatusCode, err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != 1 {
			t.Fatalf("request %q: answered %s", clip(raw), resp.Proto)
		}
		return
	}
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// The fuzz target's machinery must itself be sound: a plain valid request
// gets the sandbox's decision through the proxy.
func TestMemEdgeAnswers(t *testing.T) {
	e, err := startMemEdge()
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body, err := os.ReadFile("testdata/realworld/order-request/workarea_01_get-decision_approve.json")
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(rawRequest("POST", "/v2/orders/mem1", "Content-Type: application/json", body)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != fasthttp.StatusOK || !strings.Contains(string(b), `"action"`) {
		t.Fatalf("status %d, body %s: want the sandbox's decision", resp.StatusCode, b)
	}
}
