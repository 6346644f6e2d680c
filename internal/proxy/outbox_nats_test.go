package proxy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/outbox/natsjs"
	"github.com/orderguard/orderguard/internal/outbox/natsjs/natstest"
	"github.com/orderguard/orderguard/internal/pool"
	"github.com/orderguard/orderguard/internal/proxy"
	"github.com/orderguard/orderguard/internal/sandbox"
)

// TestJetStreamEnqueueWithinBudget: with the JetStream outbox a client hears
// back within its budget whatever NATS does. The upstream call ends
// --outbox-enqueue-reserve early; the publish gets the rest: acknowledged →
// the open answer; NATS down → the closed answer, still within the budget.
// The bbolt outbox keeps the whole budget for Forter, as before.
func TestJetStreamEnqueueWithinBudget(t *testing.T) {
	const budget, reserve = time.Second, 400 * time.Millisecond
	const slack = 150 * time.Millisecond // the proxy's own work, under -race
	sb := startSandbox(t, sandbox.Config{}, false)
	ns := natstest.Start(t)
	store, err := natsjs.Open(ns.ClientURL(), natsjs.Options{Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	settings := func(c *proxy.Config) {
		c.Budget, c.OutboxEnqueueReserve, c.BreakerFailures = budget, reserve, 0
	}
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", outbox: store, mut: settings})
	body := validOrder(t)
	timed := func(e *env, id, fault string) (answer, time.Duration) {
		t.Helper()
		start := time.Now()
		a := e.do("POST", "/v2/orders/"+id, body, "api-version", "2.3", sandbox.FaultHeader, fault)
		return a, time.Since(start)
	}

	// Forter answers after 700ms: inside the budget, but not inside what
	// the reserve leaves it; and Forter never answers.
	for i, fault := range []string{"slow:700", "hang"} {
		a, took := timed(e, "js-open-"+fault, fault)
		if a.status != 200 || a.header.Get(proxy.HeaderFallback) != "timeout" {
			t.Errorf("Forter %s, NATS up: %d %v %s, want the open fallback", fault, a.status, a.header, a.body)
		}
		if took > budget+slack {
			t.Errorf("Forter %s, NATS up: answered after %s, want within the budget %s", fault, took, budget)
		}
		if st, err := store.Stats(); err != nil || st.Pending != i+1 {
			t.Errorf("after the open answer the stream holds %d (%v), want %d", st.Pending, err, i+1)
		}
	}

	// NATS is gone: the publish cannot be acknowledged.
	ns.Shutdown()
	ns.WaitForShutdown()
	a, took := timed(e, "js-closed", "hang")
	if a.status != 504 || a.header.Get(proxy.HeaderFallback) != "timeout" {
		t.Errorf("Forter hangs, NATS down: %d %v %s, want the closed answer (504)", a.status, a.header, a.body)
	}
	if took > budget+slack {
		t.Errorf("Forter hangs, NATS down: answered after %s, want within the budget %s", took, budget)
	}
	t.Logf("NATS down: the closed answer after %s (budget %s, reserve %s)", took.Round(time.Millisecond), budget, reserve)
	// A status update of an order that may wait: asked of NATS, queued
	// behind it, refused; all within the budget.
	start := time.Now()
	a = e.do("PUT", "/v2/status/js-open-hang", `{"orderId":"js-open-hang","eventTime":1700000100000,"updatedStatus":"COMPLETED"}`, "api-version", "2.3")
	if took := time.Since(start); a.status != 502 || a.header.Get(proxy.HeaderFallback) != "queued-behind-order" || took > budget+slack {
		t.Errorf("status update, NATS down: %d %v %s after %s, want the closed answer (502) within the budget %s", a.status, a.header, a.body, took, budget)
	}

	// bbolt takes no reserve: Forter's 700ms answer goes through.
	eb := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", outbox: tempStore(t), mut: settings})
	if a, took := timed(eb, "bolt-1", "slow:700"); a.status != 200 || a.header.Get(proxy.HeaderFallback) != "" {
		t.Errorf("bbolt outbox, Forter in 700ms of a 1s budget: %d %v after %s, want Forter's answer", a.status, a.header, took)
	}
}

// A reserve that leaves the upstream call nothing is refused at start, for
// the JetStream outbox only.
func TestJetStreamEnqueueReserveCheck(t *testing.T) {
	ns := natstest.Start(t)
	store, err := natsjs.Open(ns.ClientURL(), natsjs.Options{Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	up, err := pool.New(pool.Config{Upstream: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := proxy.Defaults()
	cfg.Budget, cfg.OutboxEnqueueReserve = 200*time.Millisecond, 250*time.Millisecond
	_, err = proxy.New(cfg, proxy.Options{Operations: gen.Operations, Pool: up, Outbox: store})
	if err == nil || !strings.Contains(err.Error(), "--outbox-enqueue-reserve 250ms: want less than --budget 200ms") {
		t.Errorf("proxy.New with a reserve over the budget: %v", err)
	}
	if _, err := proxy.New(cfg, proxy.Options{Operations: gen.Operations, Pool: up, Outbox: tempStore(t)}); err != nil {
		t.Errorf("the same settings with the bbolt outbox: %v, want no error (it takes no reserve)", err)
	}
}
