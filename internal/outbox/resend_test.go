package outbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// upstream is a real HTTP server on 127.0.0.1 that answers each path with the
// statuses scripted for it (then 200) and logs what arrived, in order.
type upstream struct {
	srv *httptest.Server

	mu      sync.Mutex
	script  map[string][]int // path → statuses still to answer
	arrived []arrival
}

type arrival struct {
	method, path, auth, attempt string
	at                          time.Time
}

func newUpstream(t *testing.T, script map[string][]int) *upstream {
	t.Helper()
	u := &upstream{script: script}
	if u.script == nil {
		u.script = map[string][]int{}
	}
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	u.mu.Lock()
	u.arrived = append(u.arrived, arrival{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("X-Orderguard-Attempt"), time.Now()})
	status := http.StatusOK
	if s := u.script[r.URL.Path]; len(s) > 0 {
		status, u.script[r.URL.Path] = s[0], s[1:]
	}
	u.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	switch {
	case status < 300:
		fmt.Fprintf(w, `{"status":"success","action":"approve","transaction":%q}`, r.URL.Path)
	case status == 400:
		fmt.Fprint(w, `{"status":"failed","message":"Malformed request","errorsCount":1,"errors":[{"message":"missing","path":"#/orderType"}]}`)
	default:
		fmt.Fprint(w, `{"status":"failed","message":"try later"}`)
	}
}

func (u *upstream) paths() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for _, a := range u.arrived {
		out = append(out, a.method+" "+a.path)
	}
	return out
}

func (u *upstream) arrivals() []arrival {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]arrival(nil), u.arrived...)
}

// fastOptions keep the tests short: no rate cap to speak of, millisecond backoff.
func fastOptions() ResendOptions {
	return ResendOptions{Rate: 1000, BackoffMin: 2 * time.Millisecond, BackoffMax: 20 * time.Millisecond}
}

// runResender starts the resender and stops it when the test ends.
func runResender(t *testing.T, s *Store, send Sender, o ResendOptions) *Resender {
	t.Helper()
	r := s.Resender(send, o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

// waitFor polls cond until it holds; the bound is generous, it only stops a
// broken test from hanging.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func stats(t *testing.T, s *Store) Stats {
	t.Helper()
	st, err := s.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st
}

// labelled adds the attempt number as a header, as the proxy's sender may.
func labelled(h HTTPSender) Sender {
	return SenderFunc(func(ctx context.Context, r Request) (int, []byte, error) {
		r.Header["X-Orderguard-Attempt"] = fmt.Sprint(r.Attempt)
		return h.Send(ctx, r)
	})
}

func TestResendDeliversInOrderPerOrderID(t *testing.T) {
	up := newUpstream(t, nil)
	s, _ := openTemp(t, Options{})
	// Interleaved: each order followed by its two status updates.
	for i := range 5 {
		id := fmt.Sprintf("ORD-%d", i)
		for _, op := range []string{"orderV2", "statusPost", "statusPut"} {
			if err := s.Enqueue(order(op, id, `{"orderId":"`+id+`","op":"`+op+`"}`)); err != nil {
				t.Fatal(err)
			}
		}
	}
	runResender(t, s, HTTPSender{BaseURL: up.srv.URL, Header: map[string]string{"Authorization": "Basic injected"}}, fastOptions())
	waitFor(t, "the queue to empty", func() bool { return stats(t, s).Pending == 0 })

	got := up.arrivals()
	if len(got) != 15 {
		t.Fatalf("upstream got %d requests, want 15: %v", len(got), up.paths())
	}
	seen := map[string]string{} // order id → last operation seen
	for _, a := range got {
		if a.auth != "Basic injected" {
			t.Errorf("%s %s arrived with Authorization %q, want the sender's", a.method, a.path, a.auth)
		}
		id := a.path[strings.LastIndex(a.path, "/")+1:]
		step := map[string]string{"POST /v2/orders/": "order", "POST /v2/status/": "statusPost", "PUT /v2/status/": "statusPut"}[a.method+" "+strings.TrimSuffix(a.path, id)]
		want := map[string]string{"": "order", "order": "statusPost", "statusPost": "statusPut"}[seen[id]]
		if step != want {
			t.Errorf("%s: %s %s arrived after %q, want %s next", id, a.method, a.path, seen[id], want)
		}
		seen[id] = step
	}
	st := stats(t, s)
	if st.Delivered != 15 || st.Decisions != 15 || st.Dead != 0 {
		t.Errorf("stats = %+v, want 15 delivered and kept", st)
	}
	ds, _ := s.Decisions(1)
	if len(ds) != 1 || ds[0].Status != 200 || !strings.Contains(string(ds[0].Response), `"action":"approve"`) {
		t.Errorf("latest decision = %+v", ds)
	}
}

func TestResendRetriesThenDelivers(t *testing.T) {
	tests := []struct {
		name   string
		script []int
	}{
		{"503 twice", []int{503, 503}},
		{"429 then 500", []int{429, 500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, map[string][]int{"/v2/orders/R": tt.script})
			s, _ := openTemp(t, Options{})
			s.Enqueue(order("orderV2", "R", `{"orderId":"R"}`))
			s.Enqueue(order("statusPut", "R", `{"orderId":"R"}`))
			runResender(t, s, labelled(HTTPSender{BaseURL: up.srv.URL}), fastOptions())
			waitFor(t, "delivery", func() bool { return stats(t, s).Pending == 0 })

			got := up.arrivals()
			want := []string{"POST /v2/orders/R 1", "POST /v2/orders/R 2", "POST /v2/orders/R 3", "PUT /v2/status/R 1"}
			if len(got) != len(want) {
				t.Fatalf("arrivals %v, want %v", up.paths(), want)
			}
			for i, a := range got {
				if g := a.method + " " + a.path + " " + a.attempt; g != want[i] {
					t.Errorf("arrival %d = %q, want %q", i, g, want[i])
				}
			}
			st := stats(t, s)
			if st.Failures != 2 || st.Attempts != 4 || st.Delivered != 2 {
				t.Errorf("stats = %+v, want 2 failures, 4 attempts, 2 delivered", st)
			}
			ds, _ := s.Decisions(0)
			if len(ds) != 2 || ds[1].Attempts != 3 {
				t.Errorf("decisions %+v, want the order's after 3 attempts", ds)
			}
		})
	}
}

func TestResendTransportErrorsRetried(t *testing.T) {
	// A port nothing listens on, then a server on it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	s, _ := openTemp(t, Options{})
	s.Enqueue(order("orderV3", "T", `{"orderId":"T"}`))
	runResender(t, s, HTTPSender{BaseURL: "http://" + addr}, fastOptions())
	waitFor(t, "two failed attempts", func() bool { return stats(t, s).Failures >= 2 })
	pending, _ := s.List(StatePending, 0)
	if len(pending) != 1 || pending[0].LastError == "" || pending[0].Attempts < 2 {
		t.Fatalf("pending = %+v, want the request with its transport error", pending)
	}

	up := &upstream{script: map[string][]int{}}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(up.serve)}
	go srv.Serve(ln)
	defer srv.Close()
	waitFor(t, "delivery once the upstream is up", func() bool { return stats(t, s).Pending == 0 })
	if got := up.paths(); len(got) != 1 || got[0] != "POST /v3/orders/T" {
		t.Errorf("upstream got %v", got)
	}
}

func TestResendDeadLetters4xx(t *testing.T) {
	up := newUpstream(t, map[string][]int{"/v2/orders/BAD": {400}, "/v2/status/S": {404}})
	s, _ := openTemp(t, Options{})
	bad, _, _ := s.Add(order("orderV2", "BAD", `{"orderId":"BAD"}`))
	badStatus, _, _ := s.Add(order("statusPut", "BAD", `{"orderId":"BAD"}`))
	s.Add(order("orderV2", "GOOD", `{"orderId":"GOOD"}`))
	lone, _, _ := s.Add(order("statusPost", "S", `{"orderId":"S","a":1}`))
	next, _, _ := s.Add(order("statusPut", "S", `{"orderId":"S","a":2}`))
	runResender(t, s, HTTPSender{BaseURL: up.srv.URL}, fastOptions())
	waitFor(t, "the queue to empty", func() bool { return stats(t, s).Pending == 0 })

	for _, p := range up.paths() {
		if p == "PUT /v2/status/BAD" {
			t.Errorf("the status update of the rejected order was sent")
		}
	}
	dead, _ := s.List(StateDead, 0)
	ids := []uint64{}
	for _, e := range dead {
		ids = append(ids, e.ID)
	}
	if !equalIDs(ids, []uint64{bad, badStatus, lone}) {
		t.Fatalf("dead = %v, want %v", ids, []uint64{bad, badStatus, lone})
	}
	if dead[0].LastStatus != 400 || dead[0].DeadReason != "upstream answered 400" || dead[0].Attempts != 1 {
		t.Errorf("dead order = %+v", dead[0])
	}
	if dead[2].LastStatus != 404 {
		t.Errorf("dead status update = %+v", dead[2])
	}
	if ds, _ := s.Decisions(0); len(ds) != 2 || ds[0].ID != next {
		t.Errorf("decisions = %+v; the status update after a dead one (%d) still goes", ds, next)
	}
	// Never retried automatically: a later request goes, the dead ones do not.
	s.Enqueue(order("orderV2", "LATER", `{"orderId":"LATER"}`))
	waitFor(t, "the later order", func() bool { return stats(t, s).Pending == 0 })
	sent := 0
	for _, p := range up.paths() {
		if p == "POST /v2/orders/BAD" {
			sent++
		}
	}
	if sent != 1 {
		t.Errorf("the rejected order was sent %d times, want 1", sent)
	}
	// Retried by hand: the order and its status update go, in order.
	if err := s.Retry(bad); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the retried order", func() bool { return stats(t, s).Pending == 0 && stats(t, s).Dead == 1 })
	got := up.paths()
	if tail := got[len(got)-2:]; tail[0] != "POST /v2/orders/BAD" || tail[1] != "PUT /v2/status/BAD" {
		t.Errorf("after Retry the upstream got %v, want the order then its status", tail)
	}
}

func TestResendMaxAge(t *testing.T) {
	up := newUpstream(t, nil)
	s, _ := openTemp(t, Options{})
	old := order("orderV2", "OLD", `{"orderId":"OLD"}`)
	old.FirstTry = time.Now().Add(-8 * 24 * time.Hour)
	s.Enqueue(old)
	s.Enqueue(order("statusPut", "OLD", `{"orderId":"OLD"}`))
	fresh := order("orderV2", "NEW", `{"orderId":"NEW"}`)
	fresh.FirstTry = time.Now().Add(-6 * 24 * time.Hour)
	s.Enqueue(fresh)
	runResender(t, s, HTTPSender{BaseURL: up.srv.URL}, ResendOptions{Rate: 1000}) // default max age: 7 days
	waitFor(t, "the queue to empty", func() bool { return stats(t, s).Pending == 0 })
	if got := up.paths(); len(got) != 1 || got[0] != "POST /v2/orders/NEW" {
		t.Errorf("upstream got %v, want only the 6-day-old order", got)
	}
	dead, _ := s.List(StateDead, 0)
	if len(dead) != 2 || !strings.Contains(dead[0].DeadReason, "older than the maximum age") || dead[0].Attempts != 0 {
		t.Errorf("dead = %+v, want the old order (never sent) and its status update", dead)
	}
}

func TestResendPausedWhileCircuitOpen(t *testing.T) {
	up := newUpstream(t, nil)
	s, _ := openTemp(t, Options{})
	var open atomic.Bool
	open.Store(true)
	o := fastOptions()
	o.Paused, o.PausePoll = open.Load, 5*time.Millisecond
	runResender(t, s, HTTPSender{BaseURL: up.srv.URL}, o)
	s.Enqueue(order("orderV2", "P", `{"orderId":"P"}`))
	waitFor(t, "the resender to report paused", func() bool { return stats(t, s).Paused })
	s.nudge()
	waitFor(t, "the resender to poll again", func() bool { return stats(t, s).Paused })
	if got := up.paths(); len(got) != 0 {
		t.Fatalf("sent %v while the circuit was open", got)
	}
	open.Store(false)
	waitFor(t, "delivery after the circuit closed", func() bool { return stats(t, s).Pending == 0 })
	if st := stats(t, s); st.Paused || st.Delivered != 1 {
		t.Errorf("stats = %+v", st)
	}
}

// TestResendProbesWhenThePauseNeverLifts: a breaker that probes only on live
// traffic stays open after the traffic stops; the resender probes on its own
// and, once that succeeds, delivers the queue.
func TestResendProbesWhenThePauseNeverLifts(t *testing.T) {
	up := newUpstream(t, nil)
	s, _ := openTemp(t, Options{})
	for i := range 5 {
		s.Enqueue(order("orderV2", fmt.Sprint("PROBE", i), fmt.Sprintf(`{"n":%d}`, i)))
	}
	o := fastOptions()
	o.Paused, o.PausePoll, o.ProbeEvery = func() bool { return true }, 5*time.Millisecond, 50*time.Millisecond
	runResender(t, s, HTTPSender{BaseURL: up.srv.URL}, o)
	waitFor(t, "delivery despite the pause", func() bool { return stats(t, s).Pending == 0 })
	if st := stats(t, s); st.Delivered != 5 || st.Paused {
		t.Errorf("stats = %+v, want 5 delivered and not paused", st)
	}
}

// TestResendProbesSparinglyWhileDown: while paused and the upstream is down,
// at most one probe per ProbeEvery.
func TestResendProbesSparinglyWhileDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s, _ := openTemp(t, Options{})
	for i := range 5 {
		s.Enqueue(order("orderV2", fmt.Sprint("DOWN", i), fmt.Sprintf(`{"n":%d}`, i)))
	}
	o := fastOptions()
	o.Paused, o.PausePoll, o.ProbeEvery = func() bool { return true }, 5*time.Millisecond, 100*time.Millisecond
	start := time.Now()
	runResender(t, s, HTTPSender{BaseURL: "http://" + addr}, o)
	waitFor(t, "three probes", func() bool { return stats(t, s).Attempts >= 3 })
	st := stats(t, s)
	elapsed := time.Since(start)
	// An upper bound on attempts over the time that passed: a slow machine
	// makes fewer, never more.
	if most := uint64(elapsed/o.ProbeEvery) + 1; st.Attempts > most {
		t.Errorf("%d attempts in %v while paused, want at most %d (one per %v)", st.Attempts, elapsed, most, o.ProbeEvery)
	}
	if !st.Paused || st.Pending != 5 {
		t.Errorf("stats = %+v, want paused with 5 pending", st)
	}
}

func TestResendRateCap(t *testing.T) {
	up := newUpstream(t, nil)
	s, _ := openTemp(t, Options{})
	const n, rate = 5, 20.0
	for i := range n {
		s.Enqueue(order("orderV2", fmt.Sprint("RATE", i), fmt.Sprintf(`{"n":%d}`, i)))
	}
	var mu sync.Mutex
	var calls []time.Time
	h := HTTPSender{BaseURL: up.srv.URL}
	send := SenderFunc(func(ctx context.Context, r Request) (int, []byte, error) {
		mu.Lock()
		calls = append(calls, time.Now())
		mu.Unlock()
		return h.Send(ctx, r)
	})
	runResender(t, s, send, ResendOptions{Rate: rate})
	waitFor(t, "delivery", func() bool { return stats(t, s).Pending == 0 })
	mu.Lock()
	defer mu.Unlock()
	// Only a lower bound, on the span of the sends as the sender saw them: a
	// slow machine stretches it, never shrinks it. (Server-side arrival gaps
	// are not a fair measure: a dial can delay one arrival and not the next.)
	interval := time.Duration(float64(time.Second) / rate)
	if span, least := calls[len(calls)-1].Sub(calls[0]), time.Duration(n-1)*interval*9/10; len(calls) != n || span < least {
		t.Errorf("%d sends over %v at %v/s, want %d over at least %v", len(calls), span, rate, n, least)
	}
}

func TestResendStopsWhenStoreCloses(t *testing.T) {
	up := newUpstream(t, map[string][]int{"/v2/orders/Z": {503, 503, 503, 503, 503, 503}})
	s, _ := openTemp(t, Options{})
	s.Enqueue(order("orderV2", "Z", `{"orderId":"Z"}`))
	r := s.Resender(HTTPSender{BaseURL: up.srv.URL}, fastOptions())
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	waitFor(t, "a failure", func() bool { return stats(t, s).Failures > 0 })
	s.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close = %v, want ErrClosed", err)
	}
}

func TestBackoffGrowsWithJitterWithinBounds(t *testing.T) {
	r := &Resender{o: ResendOptions{BackoffMin: time.Second, BackoffMax: time.Minute}.withDefaults()}
	tests := []struct {
		n        int
		min, max time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{4, 4 * time.Second, 8 * time.Second},
		{7, 30 * time.Second, time.Minute},
		{50, 30 * time.Second, time.Minute},
	}
	for _, tt := range tests {
		for range 100 {
			if d := r.backoff(tt.n); d < tt.min || d > tt.max {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tt.n, d, tt.min, tt.max)
			}
		}
	}
}
