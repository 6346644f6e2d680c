package edgetest

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// The descriptor limit the flooded process runs under, and the flood: more
// silent connections than it has descriptors.
const (
	floodNofile = 300
	floodConns  = 320
)

// flood opens n TCP connections to addr and sends nothing on them.
func flood(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("flood: dial %d: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	return conns
}

// closedWithin reads each connection until the server closes it, and reports
// how many were still open after d.
func stillOpenAfter(conns []net.Conn, d time.Duration) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	open := 0
	deadline := time.Now().Add(d)
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(deadline)
			_, err := io.Copy(io.Discard, c)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				mu.Lock()
				open++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return open
}

// answered sends a legitimate request until one is answered 200 (within d).
func answered(t *testing.T, addr string, d time.Duration) {
	t.Helper()
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var last string
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := c.Get("http://" + addr + "/v2/other")
		if err != nil {
			last = err.Error()
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			return
		}
		last = resp.Status
	}
	t.Fatalf("no 200 within %s after the flood; last: %s", d, last)
}

// 17.1: silent connections must not end the process. Under a descriptor
// limit of 300, 320 connections that never send a byte: with the default
// caps (derived from the limit) the ones past them are closed at accept and
// counted; with caps set past the limit, accept fails with EMFILE and is
// retried. Either way the process keeps serving, a silent connection is cut
// off after --read-timeout (not --idle-timeout), and a legitimate request is
// answered once the flood ends.
func TestServeSurvivesAConnectionFlood(t *testing.T) {
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Fatalf("prlimit (util-linux) is needed to run orderguard under a low descriptor limit: %v", err)
	}
	bin := orderguard(t)
	up := startAuthRecorder(t)
	base := []string{"prlimit", "--nofile=300:300", bin, "serve", "--listen=127.0.0.1:0", "--admin-listen=127.0.0.1:0",
		"--upstream=http://" + up.addr, "--outbox=", "--warm-conns=1", "--mode=off",
		"--read-timeout=1s", "--idle-timeout=1m"}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}

	t.Run("default caps", func(t *testing.T) {
		p := startProc(t, env, base...)
		// 300 descriptors less 64 reserved, the upstream pool's 256 taking
		// more than half: half of the 236 left; one peer gets half of those.
		for _, want := range []string{`"descriptor_limit":300`, `"max_open_conns":118`, `"max_conns_per_ip":59`} {
			if !strings.Contains(p.logs.String(), want) {
				t.Errorf("startup log lacks %s", want)
			}
		}
		conns := flood(t, p.listen, floodConns)
		time.Sleep(300 * time.Millisecond)
		if !p.alive() {
			t.Fatal("orderguard exited during the flood")
		}
		// Every connection is closed by the server: past the caps at once,
		// within them after --read-timeout (1s), far sooner than --idle-timeout.
		if n := stillOpenAfter(conns, 8*time.Second); n > 0 {
			t.Errorf("%d silent connections still open 8s after they were opened (--read-timeout 1s)", n)
		}
		for _, c := range conns {
			_ = c.Close()
		}
		if !p.alive() {
			t.Fatal("orderguard exited after the flood")
		}
		answered(t, p.listen, 10*time.Second)
		refused := p.metric(t, `orderguard_inbound_connections_refused_total{reason="max-conns-per-ip"}`) +
			p.metric(t, `orderguard_inbound_connections_refused_total{reason="max-open-conns"}`)
		if refused < floodConns-59 {
			t.Errorf("refused connections counted: %v, want at least %d", refused, floodConns-59)
		}
		if !strings.Contains(p.logs.String(), `"msg":"connection refused","reason":"max-conns-per-ip"`) {
			t.Error("no log line for the refused connections")
		}
	})

	t.Run("caps past the descriptor limit", func(t *testing.T) {
		p := startProc(t, env, append(base, "--max-open-conns=100000", "--max-conns-per-ip=100000")...)
		if !strings.Contains(p.logs.String(), "inbound connection limits exceed the descriptor limit") {
			t.Error("no warning that the caps exceed the descriptor limit")
		}
		conns := flood(t, p.listen, floodConns)
		// The descriptor table fills up; accept fails and is retried.
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(p.logs.String(), "accept failed, retrying"); {
			if time.Now().After(deadline) {
				t.Fatal("no accept error logged with the descriptor table full")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !p.alive() {
			t.Fatal("orderguard exited on an accept error")
		}
		for _, c := range conns {
			_ = c.Close()
		}
		answered(t, p.listen, 15*time.Second)
		if !p.alive() {
			t.Fatal("orderguard exited after the flood")
		}
		if n := p.metric(t, `orderguard_inbound_accept_errors_total`); n < 1 {
			t.Errorf("accept errors counted: %v, want at least 1", n)
		}
		// At most one line a second, however many accepts failed.
		lines := strings.Count(p.logs.String(), "accept failed, retrying")
		if n := p.metric(t, `orderguard_inbound_accept_errors_total`); float64(lines) > n || lines > 30 {
			t.Errorf("%d accept error lines for %v errors", lines, n)
		}
	})
}
