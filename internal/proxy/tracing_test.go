package proxy_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderguard/orderguard/internal/proxy"
	"github.com/orderguard/orderguard/internal/tracing/otlptest"
)

// traceUpstream stands in for Forter on 127.0.0.1: it records the
// traceparent of every POST and PUT; an order id starting with "retry" is
// answered 503 the first time, "slow" after the budget.
type traceUpstream struct {
	mu      sync.Mutex
	parents []string
	seen    map[string]int
}

func startTraceUpstream(t *testing.T) (*traceUpstream, string) {
	u := &traceUpstream{seen: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet { // the pool's warm-up
			w.WriteHeader(http.StatusOK)
			return
		}
		id := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		u.mu.Lock()
		u.parents = append(u.parents, r.Header.Get("traceparent"))
		u.seen[id]++
		n := u.seen[id]
		u.mu.Unlock()
		switch {
		case strings.HasPrefix(id, "retry") && n == 1:
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		case strings.HasPrefix(id, "slow"):
			time.Sleep(400 * time.Millisecond)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"success","transaction":"` + id + `","action":"approve"}`))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return u, "http://" + ln.Addr().String()
}

func (u *traceUpstream) got() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.parents...)
}

const checkoutParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// One checkout request through the proxy: its spans continue the caller's
// trace, a retry is a second client span, Forter gets each attempt's own
// traceparent; a fallback's enqueue span is what the outbox record keeps,
// and the resend of that record is a new trace linked to it.
func TestTraces(t *testing.T) {
	rcv, tr := otlptest.StartTracer(t)
	up, upURL := startTraceUpstream(t)
	e := startProxy(t, envOpts{upstream: upURL, apiKey: "k", tracer: tr, mut: func(c *proxy.Config) {
		c.Mode = proxy.ModeEnforce
		c.Budget = 250 * time.Millisecond
		c.RetryMinRemaining = 0
		c.BreakerFailures = 0
	}})
	order, err := os.ReadFile("testdata/corpus/order-workarea_01_get-decision_approve.json")
	if err != nil {
		t.Fatal(err)
	}

	if a := e.do("POST", "/v2/orders/retry1", string(order), "traceparent", checkoutParent, "api-version", "2.3"); a.status != 200 {
		t.Fatalf("retried order: %d %s", a.status, a.body)
	}
	if a := e.do("POST", "/v2/orders/slow1", string(order), "api-version", "2.3"); a.status != 200 || a.header.Get(proxy.HeaderFallback) != "timeout" {
		t.Fatalf("slow order: %d %v %s, want the open fallback", a.status, a.header, a.body)
	}
	kept := e.outbox.got()
	if len(kept) != 1 || kept[0].Traceparent == "" {
		t.Fatalf("outbox got %+v, want one request with a traceparent", kept)
	}
	// The resender's way to Forter, as serve wires it.
	r := kept[0]
	r.Path, r.Attempt = "/v2/orders/resent1", 1
	if status, _, err := e.p.Sender().Send(context.Background(), r); err != nil || status != 200 {
		t.Fatalf("resend: %d %v", status, err)
	}
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := rcv.Wait(9, 5*time.Second)

	const callerTrace, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	var server, slowServer otlptest.Span
	for _, s := range spans {
		if s.Kind == "SPAN_KIND_SERVER" && s.TraceID == callerTrace {
			server = s
		} else if s.Kind == "SPAN_KIND_SERVER" {
			slowServer = s
		}
	}
	if server.ParentID != callerSpan || server.Name != "POST /v2/orders/{orderId}" || server.Attrs["orderguard.operation"] != "orderV2" ||
		server.Attrs["orderguard.outcome"] != "forwarded" || server.Attrs["orderguard.mode"] != "enforce" || server.Attrs["http.response.status_code"] != "200" {
		t.Fatalf("server span of the retried order: %+v\nall: %+v", server, spans)
	}
	children := map[string][]otlptest.Span{}
	for _, s := range spans {
		if s.ParentID == server.SpanID {
			children[s.Name] = append(children[s.Name], s)
		}
	}
	if v := children["validate"]; len(v) != 1 || v[0].Attrs["orderguard.validation.errors"] != "0" {
		t.Errorf("validate span: %+v", v)
	}
	attempts := children["POST"]
	if len(attempts) != 2 || attempts[0].Attrs["http.response.status_code"] != "503" || attempts[1].Attrs["http.response.status_code"] != "200" {
		t.Fatalf("client spans: %+v, want a 503 then a 200", attempts)
	}
	parents := up.got()
	if len(parents) < 4 {
		t.Fatalf("upstream saw %d requests, want 4", len(parents))
	}
	for i := range 2 {
		if want := "00-" + callerTrace + "-" + attempts[i].SpanID + "-01"; parents[i] != want {
			t.Errorf("attempt %d reached Forter with traceparent %q, want its client span's %q", i+1, parents[i], want)
		}
	}

	// The fallback: a server span of its own trace (no caller traceparent),
	// an enqueue child whose context the outbox record holds.
	if slowServer.Attrs["orderguard.outcome"] != "fallback" {
		t.Errorf("slow order's server span: %+v", slowServer)
	}
	var enqueue, resend otlptest.Span
	for _, s := range spans {
		switch s.Name {
		case "outbox enqueue":
			enqueue = s
		case "outbox resend orderV2":
			resend = s
		}
	}
	if enqueue.ParentID != slowServer.SpanID || enqueue.Attrs["orderguard.fallback.reason"] != "timeout" ||
		kept[0].Traceparent != "00-"+enqueue.TraceID+"-"+enqueue.SpanID+"-01" {
		t.Errorf("enqueue span %+v, record traceparent %q", enqueue, kept[0].Traceparent)
	}
	if resend.TraceID == enqueue.TraceID || len(resend.Links) != 1 || resend.Links[0] != (otlptest.Link{TraceID: enqueue.TraceID, SpanID: enqueue.SpanID}) {
		t.Errorf("resend span %+v, want a new trace linked to the enqueue span", resend)
	}
	if last := parents[len(parents)-1]; last != "00-"+resend.TraceID+"-"+resend.SpanID+"-01" {
		t.Errorf("resend reached Forter with traceparent %q, want the resend span's", last)
	}
}
