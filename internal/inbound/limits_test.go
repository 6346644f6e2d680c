package inbound

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// forterError checks body is Forter's error shape and returns its message.
func forterError(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Status != "failed" || e.Message == "" {
		t.Fatalf("body %q is not Forter's error shape (err %v)", body, err)
	}
	return e.Message
}

func TestSlowClientIsCutOff(t *testing.T) {
	addr, _ := serve(t, nil, Limits{ReadTimeout: 300 * time.Millisecond}, ok)
	cases := map[string]string{
		"header never finishes": "POST /v2/orders/o1 HTTP/1.1\r\nHost: sidecar\r\nX-Slow: ",
		"body never finishes":   "POST /v2/orders/o1 HTTP/1.1\r\nHost: sidecar\r\nContent-Length: 100\r\n\r\n{\"orderId\":",
	}
	for name, partial := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write([]byte(partial)); err != nil {
				t.Fatal(err)
			}
			got := waitClosed(t, c)
			if got != "" && !strings.HasPrefix(got, "HTTP/1.1 408") {
				t.Fatalf("server answered %q, want a 408 or a plain close", got)
			}
		})
	}
}

func TestIdleConnectionIsClosed(t *testing.T) {
	addr, _ := serve(t, nil, Limits{IdleTimeout: 300 * time.Millisecond}, ok)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, _ := roundTrip(t, c, post(`{}`))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	if got := waitClosed(t, c); got != "" {
		t.Fatalf("idle connection got %q before closing", got)
	}
}

func TestMaxHeaderBytes(t *testing.T) {
	addr, _ := serve(t, nil, Limits{MaxHeaderBytes: 4096}, ok)
	resp, _ := exchange(t, "tcp", addr, post(`{}`, "X-Pad: "+strings.Repeat("a", 3000)))
	if resp.StatusCode != 200 {
		t.Fatalf("3000-byte header: status %d, want 200", resp.StatusCode)
	}
	resp, body := exchange(t, "tcp", addr, post(`{}`, "X-Pad: "+strings.Repeat("a", 5000)))
	if resp.StatusCode != fasthttp.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("5000-byte header: status %d, want 431", resp.StatusCode)
	}
	if msg := forterError(t, body); strings.Contains(msg, "aaaa") {
		t.Errorf("message echoes the header: %q", msg)
	}
}

func TestMaxHeaders(t *testing.T) {
	addr, _ := serve(t, nil, Limits{MaxHeaders: 20}, ok)
	headers := func(n int) []string {
		var hs []string
		for i := range n {
			hs = append(hs, fmt.Sprintf("X-H%d: v", i))
		}
		return hs
	}
	// post adds Host, Content-Type and Content-Length.
	resp, _ := exchange(t, "tcp", addr, post(`{}`, headers(17)...))
	if resp.StatusCode != 200 {
		t.Fatalf("20 headers: status %d, want 200", resp.StatusCode)
	}
	resp, body := exchange(t, "tcp", addr, post(`{}`, headers(18)...))
	if resp.StatusCode != fasthttp.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("21 headers: status %d, want 431", resp.StatusCode)
	}
	forterError(t, body)
}

func TestMaxBody(t *testing.T) {
	addr, _ := serve(t, nil, Limits{MaxBodyBytes: 1024}, ok)
	resp, _ := exchange(t, "tcp", addr, post(strings.Repeat(" ", 1024)))
	if resp.StatusCode != 200 {
		t.Fatalf("1024-byte body: status %d, want 200", resp.StatusCode)
	}
	resp, body := exchange(t, "tcp", addr, post(strings.Repeat(" ", 1025)))
	if resp.StatusCode != fasthttp.StatusRequestEntityTooLarge {
		t.Fatalf("1025-byte body: status %d, want 413", resp.StatusCode)
	}
	forterError(t, body)
}

func TestMalformedHTTP(t *testing.T) {
	addr, _ := serve(t, nil, Limits{}, ok)
	resp, body := exchange(t, "tcp", addr, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: nope\r\n\r\n")
	if resp.StatusCode != 400 {
		t.Fatalf("status %d, want 400", resp.StatusCode)
	}
	forterError(t, body)
}

func TestMaxConcurrent(t *testing.T) {
	release := make(chan struct{})
	blocking := func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/block" {
			<-release
		}
		ok(ctx)
	}
	addr, lim := serve(t, nil, Limits{MaxConcurrent: 2}, blocking)
	var wg sync.WaitGroup
	statuses := make(chan int, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var req fasthttp.Request
			var resp fasthttp.Response
			req.SetRequestURI("http://" + addr + "/block")
			if err := fasthttp.DoTimeout(&req, &resp, 15*time.Second); err != nil {
				statuses <- -1
				return
			}
			statuses <- resp.StatusCode()
		}()
	}
	// Wait until both hold a slot; the bound only keeps a bug from hanging.
	for deadline := time.Now().Add(10 * time.Second); lim.InFlight() < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("in flight %d, want 2", lim.InFlight())
		}
		time.Sleep(5 * time.Millisecond)
	}
	resp, body := exchange(t, "tcp", addr, post(`{}`))
	if resp.StatusCode != fasthttp.StatusServiceUnavailable {
		t.Fatalf("third request: status %d, want 503", resp.StatusCode)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	forterError(t, body)
	if lim.Rejected() != 1 {
		t.Errorf("rejected %d, want 1", lim.Rejected())
	}
	close(release)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 {
			t.Errorf("held request: status %d, want 200", s)
		}
	}
	resp, _ = exchange(t, "tcp", addr, post(`{}`))
	if resp.StatusCode != 200 {
		t.Fatalf("after release: status %d, want 200", resp.StatusCode)
	}
	if lim.InFlight() != 0 {
		t.Errorf("in flight %d after all finished", lim.InFlight())
	}
}

func TestDefaults(t *testing.T) {
	l := Limits{}.WithDefaults()
	want := Limits{DefaultReadTimeout, DefaultWriteTimeout, DefaultIdleTimeout, DefaultMaxBodyBytes,
		DefaultMaxHeaderBytes, DefaultMaxHeaders, DefaultMaxConcurrent}
	if l != want {
		t.Fatalf("defaults %+v, want %+v", l, want)
	}
	var s fasthttp.Server
	Limits{MaxHeaderBytes: 16384}.Apply(&s)
	if s.ReadBufferSize != 16384 || s.ReadTimeout != DefaultReadTimeout || s.MaxRequestBodySize != DefaultMaxBodyBytes {
		t.Fatalf("Apply: buffer %d, read timeout %v, body %d", s.ReadBufferSize, s.ReadTimeout, s.MaxRequestBodySize)
	}
}
