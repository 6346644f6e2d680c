package load

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/internal/sandbox"
)

var testReqs = []Request{{Method: "POST", Path: "/v2/orders/a", Body: []byte(`{"orderId":"a"}`)}}

// serve starts a fasthttp server on a random loopback port and returns its base URL.
func serve(t *testing.T, s *fasthttp.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown() })
	return "http://" + ln.Addr().String()
}

func ok(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(`{"status":"success"}`) }

// TestOpenLoopStall is the coordinated-omission test: the target stops answering
// for 300ms. Every request the clock scheduled during the stall must be sent and
// must show the wait in its latency; a closed-loop generator would have sent only
// one request per connection during the stall and recorded just those few as slow.
func TestOpenLoopStall(t *testing.T) {
	const (
		rate  = 200
		dur   = 1500 * time.Millisecond
		stall = 300 * time.Millisecond
		conns = 4
	)
	var once sync.Once
	var pauseFrom, pauseTo time.Time
	var mu sync.Mutex
	url := serve(t, &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		now := time.Now()
		once.Do(func() {
			mu.Lock()
			pauseFrom = now.Add(500 * time.Millisecond)
			pauseTo = pauseFrom.Add(stall)
			mu.Unlock()
		})
		mu.Lock()
		from, to := pauseFrom, pauseTo
		mu.Unlock()
		if !now.Before(from) && now.Before(to) {
			time.Sleep(time.Until(to))
		}
		ok(ctx)
	}})

	res, err := Run(context.Background(), Config{Target: url, Rate: rate, Duration: dur, Connections: conns, Requests: testReqs, Drain: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	want := int64(rate * dur.Seconds())
	if res.Scheduled != want || res.Responses != want {
		t.Fatalf("scheduled %d, responses %d; want %d of each (the rate must be kept); errors %v", res.Scheduled, res.Responses, want, res.Errors)
	}
	if got := time.Duration(res.Latency.Max()); got < stall-20*time.Millisecond {
		t.Errorf("max latency %v, want at least the stall %v", got, stall)
	}
	// Requests due in the first 200ms of the stall waited at least 100ms: 40 of
	// them at 200 req/s. Ask for 25 to leave room for scheduling noise; a closed
	// loop would show about `conns`.
	slow := 25.0
	q := 100 * (1 - slow/float64(want))
	if got := time.Duration(res.Latency.ValueAtQuantile(q)); got < 100*time.Millisecond {
		t.Errorf("latency at p%.2f = %v; want >= 100ms (at least %v requests delayed by the stall)", q, got, slow)
	}
}

// TestOpenLoopSlowTarget: a target that can serve only half the requested rate
// shows latency growing through the run, not a generator that slows down.
func TestOpenLoopSlowTarget(t *testing.T) {
	url := serve(t, &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		time.Sleep(20 * time.Millisecond)
		ok(ctx)
	}})
	// 2 connections × 50 req/s each = 100 req/s of capacity, asked for 200.
	res, err := Run(context.Background(), Config{Target: url, Rate: 200, Duration: time.Second, Connections: 2, Requests: testReqs, Drain: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Scheduled != 200 || res.Responses != 200 {
		t.Fatalf("scheduled %d, responses %d, want 200 of each; errors %v", res.Scheduled, res.Responses, res.Errors)
	}
	if p99 := time.Duration(res.Latency.ValueAtQuantile(99)); p99 < 500*time.Millisecond {
		t.Errorf("p99 = %v, want >= 500ms: the last requests waited about a second for a connection", p99)
	}
	if res.Achieved >= 150 {
		t.Errorf("achieved %.0f req/s from a target that serves 100 req/s", res.Achieved)
	}
}

// TestOpenLoopUnsent: requests never sent before the hard stop are counted and
// their latency (at the stop) is recorded.
func TestOpenLoopUnsent(t *testing.T) {
	release := make(chan struct{})
	url := serve(t, &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		select {
		case <-release:
		case <-time.After(2 * time.Second):
		}
		ok(ctx)
	}})
	defer close(release)
	res, err := Run(context.Background(), Config{Target: url, Rate: 100, Duration: 300 * time.Millisecond, Connections: 1,
		Requests: testReqs, Timeout: 500 * time.Millisecond, Drain: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Scheduled != 30 {
		t.Errorf("scheduled %d, want 30", res.Scheduled)
	}
	if res.Errors[ErrKindUnsent] == 0 || res.Errors[ErrKindTimeout] == 0 {
		t.Errorf("errors %v, want unsent and timeout requests", res.Errors)
	}
	if got, want := res.Latency.TotalCount(), res.Errors[ErrKindUnsent]+res.Errors[ErrKindTimeout]; got != want {
		t.Errorf("recorded %d latencies, want %d (every timeout and unsent request)", got, want)
	}
}

func TestClosedLoopMax(t *testing.T) {
	var n atomic.Int64
	url := serve(t, &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { n.Add(1); ok(ctx) }})
	res, err := Run(context.Background(), Config{Target: url, Rate: 0, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond, Connections: 4, Requests: testReqs})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Closed || res.Responses == 0 || res.Achieved <= 0 {
		t.Fatalf("closed %v, responses %d, achieved %v", res.Closed, res.Responses, res.Achieved)
	}
	if len(res.Errors) != 0 || res.Status[200] != res.Responses {
		t.Errorf("errors %v, status %v", res.Errors, res.Status)
	}
	if res.Sent != n.Load() {
		t.Errorf("sent %d, server saw %d: Sent counts every request, warmup included", res.Sent, n.Load())
	}
	if n.Load() <= res.Responses {
		t.Errorf("server saw %d requests, measured %d: the warmup should have sent some unmeasured", n.Load(), res.Responses)
	}
	if res.Conn.Dials != 4 {
		t.Errorf("dials %d, want one per connection (4)", res.Conn.Dials)
	}
}

func TestRequestsAndHeadersSent(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	url := serve(t, &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		seen[fmt.Sprintf("%s %s %s %s %s", ctx.Method(), ctx.Path(), ctx.PostBody(), ctx.Request.Header.Peek("api-version"), ctx.Request.Header.Peek("X-One"))]++
		mu.Unlock()
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
	}})
	reqs := []Request{
		{Method: "POST", Path: "/v2/orders/1", Body: []byte(`{"a":1}`)},
		{Method: "PUT", Path: "/v2/status/2", Body: []byte(`{"b":2}`), Header: []Header{{"X-One", "yes"}}},
	}
	res, err := Run(context.Background(), Config{Target: url + "/", Rate: 100, Duration: 200 * time.Millisecond, Connections: 1,
		Requests: reqs, Header: []Header{{"api-version", "2.3"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{`POST /v2/orders/1 {"a":1} 2.3 `: 10, `PUT /v2/status/2 {"b":2} 2.3 yes`: 10}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("server saw %v, want %v", seen, want)
	}
	if res.TimerLag.TotalCount() == 0 || res.TimerLag.TotalCount() > 20 {
		t.Errorf("timer lag recorded %d times, want 1..20 (requests the idle generator waited for)", res.TimerLag.TotalCount())
	}
	if runtime.GOOS == "linux" && res.Pacer != PacerTimerfd {
		t.Errorf("pacer %q, want %q on Linux", res.Pacer, PacerTimerfd)
	}
	if res.Status[400] != 20 {
		t.Errorf("status counts %v, want 20 × 400", res.Status)
	}
}

func TestConnectionErrorsCounted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	res, err := Run(context.Background(), Config{Target: "http://" + addr, Rate: 50, Duration: 200 * time.Millisecond, Connections: 2, Requests: testReqs})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors[ErrKindConnection] != 10 || res.Responses != 0 {
		t.Errorf("errors %v, responses %d; want 10 connection errors", res.Errors, res.Responses)
	}
	if res.Latency.TotalCount() != 0 {
		t.Errorf("recorded %d latencies for refused connections, want none", res.Latency.TotalCount())
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no requests", Config{Target: "http://127.0.0.1:1", Rate: 1, Duration: time.Second}},
		{"negative rate", Config{Target: "http://127.0.0.1:1", Rate: -1, Duration: time.Second, Requests: testReqs}},
		{"no duration", Config{Target: "http://127.0.0.1:1", Rate: 1, Requests: testReqs}},
		{"bad scheme", Config{Target: "ftp://127.0.0.1:1", Rate: 1, Duration: time.Second, Requests: testReqs}},
		{"no host", Config{Target: "http://", Rate: 1, Duration: time.Second, Requests: testReqs}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Run(context.Background(), tc.cfg); err == nil {
				t.Errorf("Run(%+v) = nil error", tc.cfg)
			}
		})
	}
}

func TestErrorKind(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fasthttp.ErrTimeout, ErrKindTimeout},
		{fasthttp.ErrDialTimeout, ErrKindTimeout},
		{fmt.Errorf("wrapped: %w", fasthttp.ErrConnectionClosed), ErrKindConnection},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, ErrKindConnection},
		{errors.New("something else"), ErrKindOther},
	} {
		if got := ErrorKind(tc.err); got != tc.want {
			t.Errorf("ErrorKind(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestTLSReuseCounted: the server closes each connection after 10 requests; the
// generator must count the new connections and see the later handshakes resume.
func TestTLSReuseCounted(t *testing.T) {
	cert, pool := selfSigned(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fasthttp.Server{Handler: ok, MaxRequestsPerConn: 10}
	tln := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	go func() { _ = s.Serve(tln) }()
	t.Cleanup(func() { _ = s.Shutdown() })

	res, err := Run(context.Background(), Config{Target: "https://" + ln.Addr().String(), Rate: 200, Duration: 250 * time.Millisecond,
		Connections: 1, Requests: testReqs, TLSConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Responses != 50 {
		t.Fatalf("responses %d, want 50; errors %v", res.Responses, res.Errors)
	}
	c := res.Conn
	if c.Dials < 5 || c.Handshakes != c.Dials || c.Resumed < c.Handshakes-1 || c.Resumed == 0 {
		t.Errorf("conn stats %+v: want >= 5 dials, a handshake each, all but the first resumed", c)
	}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	cert, certPEM, err := sandbox.SelfSigned("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(certPEM) {
		t.Fatal("the generated certificate does not parse")
	}
	return cert, pool
}
