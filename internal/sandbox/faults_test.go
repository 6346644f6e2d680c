package sandbox

import (
	"context"
	"errors"
	"math"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseFault(t *testing.T) {
	tests := []struct {
		in   string
		want fault
		ok   bool
	}{
		{"hang", fault{kind: faultHang}, true},
		{" reset ", fault{kind: faultReset}, true},
		{"500", fault{kind: fault500}, true},
		{"503", fault{kind: fault503}, true},
		{"slow:250", fault{kind: faultSlow, delay: 250 * time.Millisecond}, true},
		{"slow:0", fault{kind: faultSlow}, true},
		{"slow:", fault{}, false},
		{"slow:-1", fault{}, false},
		{"slow:99999999", fault{}, false},
		{"502", fault{}, false},
		{"", fault{}, false},
	}
	for _, tt := range tests {
		got, err := parseFault([]byte(tt.in))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseFault(%q) = %+v, %v; want %+v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestFaultHeader(t *testing.T) {
	r := start(t, Options{})
	c := client(t, r, true)
	fault := func(v string) map[string]string { return with(stdHeaders(), FaultHeader, v) }

	for _, tt := range []struct {
		fault string
		code  int
		msg   string
	}{
		{"500", 500, "Internal server error"},
		{"503", 503, "Service unavailable"},
		{"bogus", 400, errBadFault.Error()},
		{" ", 200, ""}, // an empty header forces nothing
	} {
		code, got := mustDo(t, c, r, req{path: "/v2/orders/f1", body: validOrder, headers: fault(tt.fault)})
		if tt.code == 200 {
			if code != 200 {
				t.Errorf("fault %q: %d %v, want 200", tt.fault, code, got)
			}
			continue
		}
		if code != tt.code || got["status"] != "failed" || got["message"] != tt.msg {
			t.Errorf("fault %s: %d %v, want %d %q", tt.fault, code, got, tt.code, tt.msg)
		}
	}

	// slow answers normally, no sooner than asked.
	began := time.Now()
	code, got := mustDo(t, c, r, req{path: "/v2/orders/f1", body: orderBody("f1", "approve@forter.com"), headers: fault("slow:60")})
	if elapsed := time.Since(began); code != 200 || got["action"] != "approve" || elapsed < 60*time.Millisecond {
		t.Errorf("slow:60: %d %v after %s", code, got, elapsed)
	}

	// reset: the connection drops with no answer.
	_, _, err := do(t, c, r, req{path: "/v2/orders/f1", body: validOrder, headers: fault("reset")})
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("reset: err %v, want a connection reset", err)
	}

	counts := r.Received().Order(EndpointOrderV2, "f1")
	if counts.Status[StatusReset] != 1 || counts.Received != 6 || counts.OK != 2 {
		t.Errorf("received log for f1: %+v", counts)
	}
}

// A hung request stays unanswered until the client gives up; Stop releases
// the ones still waiting, so a test's cleanup never blocks on them.
func TestHangReleasedByStop(t *testing.T) {
	r := start(t, Options{})
	c := client(t, r, true)

	type result struct {
		code int
		err  error
	}
	results := make(chan result, 3)
	for i := 0; i < 3; i++ {
		go func() {
			code, _, err := do(t, c, r, req{path: "/v2/orders/h1", body: validOrder, headers: with(stdHeaders(), FaultHeader, "hang")})
			results <- result{code, err}
		}()
	}
	// Wait until all three are held, proven by the received log.
	for r.Received().Order(EndpointOrderV2, "h1").Status[StatusHang] < 3 {
		select {
		case res := <-results:
			t.Fatalf("a hung request was answered: %+v", res)
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := r.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for i := 0; i < 3; i++ {
		res := <-results
		if res.err == nil {
			t.Errorf("hung request answered %d after Stop, want a closed connection", res.code)
		}
	}
}

func TestHangClientGivesUp(t *testing.T) {
	r := start(t, Options{})
	c := client(t, r, true)
	c.Timeout = 100 * time.Millisecond
	_, _, err := do(t, c, r, req{path: "/v2/orders/h2", body: validOrder, headers: with(stdHeaders(), FaultHeader, "hang")})
	if err == nil || !strings.Contains(err.Error(), "Timeout") {
		t.Errorf("hang: err %v, want a client timeout", err)
	}
	// The server notices the client left and drops the connection.
	deadline := time.Now().Add(10 * time.Second)
	for {
		g := r.Server.gen.Load()
		g.mu.Lock()
		n := len(g.hung)
		g.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d hung connections still held after the client left", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Random faults at rate 1 always happen; at rate 0 never.
func TestRandomFaults(t *testing.T) {
	t.Run("errors", func(t *testing.T) {
		r := start(t, Options{Config: Config{ErrorRate: 1}})
		c := client(t, r, true)
		seen := map[int]int{}
		for i := 0; i < 40; i++ {
			code, _ := mustDo(t, c, r, req{path: "/v2/orders/e1", body: validOrder})
			seen[code]++
		}
		if seen[500]+seen[503] != 40 || seen[500] == 0 || seen[503] == 0 {
			t.Errorf("error rate 1: statuses %v, want only 500 and 503, both", seen)
		}
	})
	t.Run("resets", func(t *testing.T) {
		r := start(t, Options{Config: Config{ResetRate: 1}})
		c := client(t, r, true)
		for i := 0; i < 5; i++ {
			if _, _, err := do(t, c, r, req{path: "/v2/orders/e2", body: validOrder}); !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("reset rate 1: err %v, want a connection reset", err)
			}
		}
		if got := r.Received().Endpoints[EndpointOrderV2].Status[StatusReset]; got != 5 {
			t.Errorf("resets recorded %d, want 5", got)
		}
	})
	t.Run("hangs", func(t *testing.T) {
		r := start(t, Options{Config: Config{HangRate: 1}})
		c := client(t, r, true)
		c.Timeout = 50 * time.Millisecond
		if _, _, err := do(t, c, r, req{path: "/v2/orders/e3", body: validOrder}); err == nil {
			t.Error("hang rate 1: got an answer")
		}
	})
	t.Run("mixed", func(t *testing.T) {
		srv, err := New(Config{ErrorRate: 0.2, ResetRate: 0.1, HangRate: 0.1, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[faultKind]int{}
		for i := 0; i < 10000; i++ {
			f, _ := srv.drawFault()
			kinds[f.kind]++
		}
		near := func(got, want int) bool { return math.Abs(float64(got-want)) < 0.15*float64(want) }
		if !near(kinds[fault500]+kinds[fault503], 2000) || !near(kinds[faultReset], 1000) || !near(kinds[faultHang], 1000) || !near(kinds[faultNone], 6000) {
			t.Errorf("10000 draws: %v, want about 2000 errors, 1000 resets, 1000 hangs", kinds)
		}
	})
}

func TestLatencySample(t *testing.T) {
	l := Latency{P50: 20 * time.Millisecond, P99: 200 * time.Millisecond}
	near := func(a, b time.Duration) bool { return math.Abs(float64(a-b)) < float64(time.Microsecond) }
	if got := l.sample(0); !near(got, l.P50) {
		t.Errorf("sample at the median: %s, want %s", got, l.P50)
	}
	if got := l.sample(z99); !near(got, l.P99) {
		t.Errorf("sample at z99: %s, want %s", got, l.P99)
	}
	if got := l.sample(1e6); got != 100*l.P99 {
		t.Errorf("far tail: %s, want the cap %s", got, 100*l.P99)
	}
	if got := (Latency{Fixed: 5 * time.Millisecond}).sample(3); got != 5*time.Millisecond {
		t.Errorf("fixed: %s", got)
	}

	// The drawn latencies of a sandbox follow the distribution.
	srv, err := New(Config{Latency: l, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var below50, below99 int
	const n = 20000
	for i := 0; i < n; i++ {
		_, d := srv.drawFault()
		if d <= l.P50 {
			below50++
		}
		if d <= l.P99 {
			below99++
		}
	}
	if below50 < n*46/100 || below50 > n*54/100 || below99 < n*98/100 {
		t.Errorf("of %d draws, %d at or below p50 and %d at or below p99", n, below50, below99)
	}
}

// Latency applies to API answers but not to the control endpoints.
func TestFixedLatency(t *testing.T) {
	r := start(t, Options{Config: Config{Latency: Latency{Fixed: 40 * time.Millisecond}}})
	c := client(t, r, false)
	began := time.Now()
	if code, _ := mustDo(t, c, r, req{path: "/v2/orders/l1", body: validOrder}); code != 200 {
		t.Fatalf("status %d", code)
	}
	if elapsed := time.Since(began); elapsed < 40*time.Millisecond {
		t.Errorf("answered after %s, want at least 40ms", elapsed)
	}
}

// Shutdown answers a request held by slow:<ms> at once instead of making it
// wait out its delay, and drops hung ones.
func TestShutdownCutsDelays(t *testing.T) {
	r := start(t, Options{})
	c := client(t, r, true)
	type result struct {
		code int
		err  error
	}
	slow, hung := make(chan result, 1), make(chan result, 1)
	go func() {
		code, _, err := do(t, c, r, req{path: "/v2/orders/d1", body: validOrder, headers: with(stdHeaders(), FaultHeader, "slow:600000")})
		slow <- result{code, err}
	}()
	go func() {
		code, _, err := do(t, c, r, req{path: "/v2/orders/d2", body: validOrder, headers: with(stdHeaders(), FaultHeader, "hang")})
		hung <- result{code, err}
	}()
	for {
		got := r.Received()
		if got.Order(EndpointOrderV2, "d1").Received == 1 && got.Order(EndpointOrderV2, "d2").Status[StatusHang] == 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Server.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if res := <-slow; res.err != nil || res.code != 200 {
		t.Errorf("slow request after Shutdown: %d %v, want 200", res.code, res.err)
	}
	if res := <-hung; res.err == nil {
		t.Errorf("hung request answered %d", res.code)
	}
}
