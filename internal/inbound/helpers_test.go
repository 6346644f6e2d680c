package inbound

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// serve runs a real fasthttp server with lim on ln (a fresh 127.0.0.1 port
// when ln is nil) and returns its address and limiter.
func serve(t *testing.T, ln net.Listener, lim Limits, h fasthttp.RequestHandler) (string, *Limiter) {
	t.Helper()
	if ln == nil {
		var err error
		ln, err = Listen(context.Background(), Config{Addr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
	}
	wrapped, limiter := lim.Wrap(h)
	s := &fasthttp.Server{Handler: wrapped}
	lim.Apply(s)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = s.Shutdown()
		<-done
	})
	return ln.Addr().String(), limiter
}

func ok(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"status":"success"}`)
}

// exchange writes raw to a new connection and reads one response.
func exchange(t *testing.T, network, addr, raw string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return roundTrip(t, c, raw)
}

func roundTrip(t *testing.T, c net.Conn, raw string) (*http.Response, string) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, sb.String()
}

func post(body string, extra ...string) string {
	var b strings.Builder
	b.WriteString("POST /v2/orders/o1 HTTP/1.1\r\nHost: sidecar\r\nContent-Type: application/json\r\n")
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Length: " + itoa(len(body)) + "\r\n\r\n" + body)
	return b.String()
}

func itoa(n int) string { return strconv.Itoa(n) }

// waitClosed reads until the server closes c and returns what it sent. The
// bound only keeps a broken server from hanging the run.
func waitClosed(t *testing.T, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
	var sb strings.Builder
	buf := make([]byte, 1024)
	for {
		n, err := c.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("server kept the connection open; got so far %q", sb.String())
			}
			return sb.String()
		}
	}
}
