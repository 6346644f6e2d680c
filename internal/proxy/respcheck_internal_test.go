package proxy

import (
	"io"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/pool"
)

func checksProxy(t testing.TB) (*Proxy, *opState) {
	t.Helper()
	up, err := pool.New(pool.Config{Upstream: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(up.Close)
	p, err := New(Defaults(), Options{Operations: gen.Operations, Pool: up, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.checks.stopWorkers)
	for _, st := range p.ops {
		if st.op.ID == "orderV2" {
			return p, st
		}
	}
	t.Fatal("no orderV2")
	return nil, nil
}

func counterValue(t testing.TB, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func answer(body string) *fasthttp.Response {
	var resp fasthttp.Response
	resp.SetStatusCode(200)
	resp.Header.SetContentType("application/json")
	resp.SetBodyString(body)
	return &resp
}

// TestResponseChecksDropWhenFull: with every worker busy and the queue full,
// the answer goes on unchecked and the dropped check is counted; the handler
// never waits for room.
func TestResponseChecksDropWhenFull(t *testing.T) {
	p, st := checksProxy(t)
	p.checks.start.Do(func() {}) // no workers: nothing drains the queue
	resp := answer(`{"status":"maybe"}`)
	for range checkQueue {
		p.queueResponseCheck(resp, st, st.op, []byte("o1"))
	}
	if got := counterValue(t, p.m.checksDropped); got != 0 {
		t.Fatalf("dropped %v checks with room in the queue", got)
	}
	p.queueResponseCheck(resp, st, st.op, []byte("o1"))
	if got := counterValue(t, p.m.checksDropped); got != 1 {
		t.Fatalf("dropped = %v with the queue full, want 1", got)
	}
	if got := counterValue(t, st.drift); got != 0 {
		t.Fatalf("drift = %v: nothing was checked", got)
	}
}

// BenchmarkResponseCheckOnPath is what the response check costs the request
// path: "inline" is the check as the handler ran it before issue 16.5 (the
// validator and the drift count, before the answer could be written),
// "queued" is what the handler does now (copy the answer into a pooled job
// and queue it; a worker checks it after the answer is written). For a
// small decision the two are within a few hundred nanoseconds of each other
// (measured: inline 130-250 ns, queued about 100 ns on a shared machine);
// the change is for answers that take long to check (large or pathological
// ones, up to --max-response-body), which no longer delay the client
// (TestResponseCheckOffThePath).
func BenchmarkResponseCheckOnPath(b *testing.B) {
	for _, a := range []struct{ name, body string }{
		{"v2-decision", `{"status":"success","transaction":"fortertest1234","action":"approve","message":" | Link in portal: https://portal.forter.com/dashboard/fortertest1234","reasonCode":"Test"}`},
		{"v2-drift", `{"status":"maybe","action":42}`},
	} {
		resp := answer(a.body)
		b.Run(a.name+"/inline", func(b *testing.B) {
			p, st := checksProxy(b)
			j := &checkJob{st: st, f: st.op.Response, status: 200, orderID: []byte("fortertest1234"), body: resp.Body()}
			b.ReportAllocs()
			for b.Loop() {
				p.checkResponse(j)
			}
		})
		b.Run(a.name+"/queued", func(b *testing.B) {
			p, st := checksProxy(b)
			// The handler's side alone: the worker is not started, and the
			// loop takes each job off the queue itself (as the worker's
			// drain would, off the request path).
			p.checks.start.Do(func() {})
			b.ReportAllocs()
			for b.Loop() {
				p.queueResponseCheck(resp, st, st.op, []byte("fortertest1234"))
				p.checks.put(<-p.checks.jobs)
			}
		})
	}
}
