package edgetest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// blockingUpstream answers 200 at once, except /block, which waits until
// release is closed.
func blockingUpstream(t *testing.T) (addr string, entered chan struct{}, release chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered = make(chan struct{}, 16)
	release = make(chan struct{})
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/block" {
			entered <- struct{}{}
			<-release
		}
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"status":"success"}`)
	}}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown() })
	return ln.Addr().String(), entered, release
}

// rawExchange sends raw on a new connection to the socket and reads one answer.
func rawExchange(t *testing.T, sock, raw string) (int, string) {
	t.Helper()
	return exchangeOn(t, "unix", sock, raw)
}

// exchangeOn sends raw on a new connection to addr and reads one answer.
func exchangeOn(t *testing.T, network, addr, raw string) (int, string) {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	go func() { _, _ = io.WriteString(c, raw) }()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}

func rawPost(path, body string, headers ...string) string {
	return "POST " + path + " HTTP/1.1\r\nHost: og\r\nContent-Type: application/json\r\n" +
		strings.Join(append(headers, ""), "\r\n") +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body
}

// Every input limit, set by its flag on a real orderguard process.
func TestServeLimitFlags(t *testing.T) {
	bin := orderguard(t)
	up, entered, release := blockingUpstream(t)
	sock := filepath.Join(t.TempDir(), "og.sock")
	var logs syncBuffer
	cmd := exec.Command(bin, "serve", "--listen=unix:"+sock, "--admin-listen=", "--outbox=",
		"--upstream=http://"+up, "--warm-conns=1", "--budget=30s", "--mode=off",
		"--max-headers=12", "--max-header-bytes=2KiB", "--max-body=4KiB",
		"--max-depth=3", "--max-string=100", "--max-array=5",
		"--read-timeout=300ms", "--idle-timeout=300ms", "--max-concurrent=2")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var releaseOnce sync.Once
	defer func() {
		releaseOnce.Do(func() { close(release) })
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("orderguard output:\n%s", logs.Bytes())
		}
	}()
	for deadline := time.Now().Add(20 * time.Second); ; {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no socket")
		}
		time.Sleep(20 * time.Millisecond)
	}

	headers := func(n int) []string {
		var hs []string
		for i := range n {
			hs = append(hs, fmt.Sprintf("X-H%d: v", i))
		}
		return hs
	}
	cases := []struct {
		name string
		raw  string
		want int
		in   string // in the answer
	}{
		{"within every limit", rawPost("/v2/other", `{"a":[1,2,3,4,5],"b":{"c":"`+strings.Repeat("s", 100)+`"}}`, headers(9)...), 200, ""},
		{"--max-headers", rawPost("/v2/other", `{}`, headers(10)...), 431, "too many header fields"},
		{"--max-header-bytes", rawPost("/v2/other", `{}`, "X-Pad: "+strings.Repeat("p", 2100)), 431, "header fields too large"},
		{"--max-body", rawPost("/v2/other", `"`+strings.Repeat(" ", 4096)+`"`), 413, "too large"},
		{"--max-depth", rawPost("/v2/other", `{"a":{"b":{"c":{}}}}`), 400, `"rule":"max-depth"`},
		{"--max-string", rawPost("/v2/other", `{"a":"`+strings.Repeat("s", 101)+`"}`), 400, `"rule":"max-string"`},
		{"--max-array", rawPost("/v2/other", `[1,2,3,4,5,6]`), 400, `"rule":"max-array"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := rawExchange(t, sock, c.raw)
			if status != c.want || !strings.Contains(body, c.in) {
				t.Fatalf("status %d body %s; want %d with %q", status, body, c.want, c.in)
			}
		})
	}

	t.Run("--read-timeout", func(t *testing.T) {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = io.WriteString(c, "POST /v2/other HTTP/1.1\r\nHost: og\r\nContent-Length: 10\r\n\r\n{")
		if got := readUntilClosed(t, c); got != "" && !strings.HasPrefix(got, "HTTP/1.1 408") {
			t.Fatalf("slow client got %q", got)
		}
	})
	t.Run("--idle-timeout", func(t *testing.T) {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		_, _ = io.WriteString(c, rawPost("/v2/other", `{}`))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if got := readUntilClosedFrom(t, br, c); got != "" {
			t.Fatalf("idle connection got %q", got)
		}
	})
	t.Run("--max-concurrent", func(t *testing.T) {
		results := make(chan int, 2)
		for range 2 {
			go func() {
				status, _ := rawExchange(t, sock, rawPost("/block", `{}`))
				results <- status
			}()
		}
		for range 2 {
			select {
			case <-entered:
			case <-time.After(20 * time.Second):
				t.Fatal("held requests never reached the upstream")
			}
		}
		status, body := rawExchange(t, sock, rawPost("/v2/other", `{}`))
		if status != 503 || !strings.Contains(body, "too many concurrent requests") {
			t.Fatalf("third request: %d %s, want 503", status, body)
		}
		releaseOnce.Do(func() { close(release) })
		for range 2 {
			if s := <-results; s != 200 {
				t.Errorf("held request: %d, want 200", s)
			}
		}
	})
	// Each refusal above left a line saying why (the log is written in batches).
	reasons := []string{"too_many_headers", "header_too_large", "body_too_large", "json_limit", "read_timeout", "overloaded"}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var missing []string
		for _, r := range reasons {
			if !strings.Contains(logs.String(), `"msg":"request refused","reason":"`+r+`"`) {
				missing = append(missing, r)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no refusal log line for %v", missing)
		}
	}
}

// readUntilClosed reads until the server closes c; the bound keeps a server
// that never closes from hanging the run, and fails the test.
func readUntilClosed(t *testing.T, c net.Conn) string {
	return readUntilClosedFrom(t, c, c)
}

func readUntilClosedFrom(t *testing.T, r io.Reader, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	var sb strings.Builder
	buf := make([]byte, 512)
	for {
		n, err := r.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("connection still open; got %q", sb.String())
			}
			return sb.String()
		}
	}
}
