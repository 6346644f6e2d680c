package proxy_test

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/orderguard/orderguard/internal/outbox"
	"github.com/orderguard/orderguard/internal/proxy"
	"github.com/orderguard/orderguard/internal/sandbox"
)

// TestOutboxHandoff is the seam with internal/outbox end to end: orders
// answered by the open fallback while the sandbox is down are in the outbox
// file before the client hears back, and the proxy's Sender (its warm pool
// and credentials) delivers every one once the sandbox is back.
func TestOutboxHandoff(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	store := tempStore(t)
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", outbox: store, mut: func(c *proxy.Config) {
		c.BreakerFailures = 2
		c.BreakerCooldown = 200 * time.Millisecond
	}})
	if err := sb.Stop(); err != nil {
		t.Fatal(err)
	}
	body := validOrder(t)
	const n = 4
	for i := range n {
		a := e.do("POST", "/v2/orders/ob-"+strconv.Itoa(i), body)
		if a.status != 200 || a.header.Get(proxy.HeaderFallback) == "" {
			t.Fatalf("order %d with the sandbox down: %d %v", i, a.status, a.header)
		}
		st, err := store.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st.Pending != i+1 {
			t.Fatalf("after %d fallbacks the outbox holds %d", i+1, st.Pending)
		}
	}
	if !e.p.Paused() {
		t.Fatal("circuit not open after the outage: the resender would not pause")
	}
	if err := sb.Restart(); err != nil {
		t.Fatal(err)
	}
	startResender(t, store, e, outbox.ResendOptions{Paused: e.p.Paused, PausePoll: 20 * time.Millisecond})
	// The circuit stays open until a live request probes it: send one.
	time.Sleep(250 * time.Millisecond)
	if a := e.do("POST", "/v2/orders/probe", body); a.status != 200 || a.header.Get(proxy.HeaderFallback) != "" {
		t.Fatalf("probe after the outage: %d %v", a.status, a.header)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := store.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st.Pending == 0 && st.Delivered == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox not drained: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	rec := sb.Received()
	for i := range n {
		if c := rec.Order(sandbox.EndpointOrderV2, "ob-"+strconv.Itoa(i)); c.OK != 1 {
			t.Errorf("order ob-%d reached the sandbox %+v, want once OK", i, c)
		}
	}
}

// TestStatusQueuesBehindItsOrder: a status update whose order still waits in
// the outbox is queued behind it rather than sent live, so Forter never hears
// of an update before the order; an update for an order not in the outbox
// goes live.
func TestStatusQueuesBehindItsOrder(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	store, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", outbox: store, mut: func(c *proxy.Config) {
		c.BreakerFailures = 100 // keep the circuit closed: this test is about ordering alone
	}})
	if err := sb.Stop(); err != nil {
		t.Fatal(err)
	}
	if a := e.do("POST", "/v2/orders/q-1", validOrder(t)); a.header.Get(proxy.HeaderFallback) == "" {
		t.Fatalf("order with the sandbox down: %d %v", a.status, a.header)
	}
	if err := sb.Restart(); err != nil {
		t.Fatal(err)
	}
	status := `{"orderId":"q-1","eventTime":1574090977000,"updatedStatus":"PROCESSING"}`
	a := e.do("POST", "/v2/status/q-1", status, "api-version", "2.3")
	if a.status != 202 || a.header.Get(proxy.HeaderFallback) != "queued-behind-order" {
		t.Fatalf("status of a queued order: %d %q, want 202 queued-behind-order", a.status, a.header.Get(proxy.HeaderFallback))
	}
	if c := sb.Received().Order(sandbox.EndpointStatusPost, "q-1"); c.Received != 0 {
		t.Errorf("the status update overtook its order: the sandbox got it %+v", c)
	}
	st, err := store.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending != 2 {
		t.Errorf("outbox holds %d, want the order and its update", st.Pending)
	}
	other := `{"orderId":"q-2","eventTime":1574090977000,"updatedStatus":"PROCESSING"}`
	if a := e.do("POST", "/v2/status/q-2", other, "api-version", "2.3"); a.status != 200 || a.header.Get(proxy.HeaderFallback) != "" {
		t.Errorf("status of an order not in the outbox: %d %v, want 200 live", a.status, a.header)
	}
	if got := metric(t, e.p.Registry(), "orderguard_fallbacks_total", "operation", "statusPost", "reason", "queued-behind-order"); got != 1 {
		t.Errorf("queued-behind-order fallbacks counted %v, want 1", got)
	}
}
