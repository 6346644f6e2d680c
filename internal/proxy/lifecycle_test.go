package proxy_test

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderguard/orderguard/internal/pool"
	"github.com/orderguard/orderguard/internal/proxy"
	"github.com/orderguard/orderguard/internal/sandbox"
)

// TestTLSReuseThroughProxy is the reuse proof end to end: checkout →
// proxy → sandbox over TLS. 1,000 sequential orders cost no more full
// handshakes than --warm-conns; after the sandbox drops every connection
// (a restart), the proxy reconnects with resumed sessions and no order fails.
func TestTLSReuseThroughProxy(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, true)
	const warm = 4
	e := startProxy(t, envOpts{upstream: sb.URL, tls: sb.ClientTLS(), apiKey: "k",
		pool: func(c *pool.Config) { c.WarmConns = warm },
		mut:  func(c *proxy.Config) { c.CheckResponses = false }})
	body := validOrder(t)
	n := 1000
	if testing.Short() {
		n = 200
	}
	for i := range n {
		a := e.do("POST", "/v2/orders/tls-"+strconv.Itoa(i), body)
		if a.status != 200 || a.header.Get(proxy.HeaderFallback) != "" {
			t.Fatalf("request %d: %d %s", i, a.status, a.body)
		}
	}
	st := e.pool.Stats()
	if st.FullHandshakes > warm || st.FullHandshakes == 0 {
		t.Fatalf("%d requests: %d full TLS handshakes, want 1..%d (stats %+v)", n, st.FullHandshakes, warm, st)
	}
	if got := sb.Received().Endpoints[sandbox.EndpointOrderV2].OK; got != uint64(n) {
		t.Fatalf("sandbox answered %d orders OK, want %d", got, n)
	}
	full := st.FullHandshakes

	if err := sb.Stop(); err != nil { // closes every connection
		t.Fatal(err)
	}
	if err := sb.Restart(); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		a := e.do("POST", "/v2/orders/after-"+strconv.Itoa(i), body)
		if a.status != 200 || a.header.Get(proxy.HeaderFallback) != "" {
			t.Fatalf("request %d after the restart: %d %v %s", i, a.status, a.header, a.body)
		}
	}
	st = e.pool.Stats()
	if st.FullHandshakes != full {
		t.Fatalf("after the restart: %d full handshakes, want still %d (stats %+v)", st.FullHandshakes, full, st)
	}
	if st.ResumedHandshakes == 0 {
		t.Fatalf("after the restart: no resumed session (stats %+v)", st)
	}
	metrics := e.get(e.admin + "/metrics").body
	if !strings.Contains(metrics, `orderguard_upstream_tls_handshakes_total{resumed="true"} `+strconv.FormatInt(st.ResumedHandshakes, 10)) {
		t.Fatalf("/metrics does not show the resumed handshakes")
	}
}

// TestGracefulShutdown: requests in flight when shutdown starts finish with
// Forter's answer; the listener takes nothing new; Serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k"})
	body := validOrder(t)
	addr := strings.TrimPrefix(e.url, "http://")

	const inFlight = 4
	var wg sync.WaitGroup
	answers := make([]answer, inFlight)
	for i := range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = e.do("POST", "/v2/orders/sd-"+strconv.Itoa(i), body, sandboxFault, "slow:400")
		}()
	}
	// Wait until the sandbox holds all of them, then shut down.
	deadline := time.Now().Add(5 * time.Second)
	for sb.Received().Endpoints[sandbox.EndpointOrderV2].Received < inFlight {
		if time.Now().After(deadline) {
			t.Fatal("requests did not reach the sandbox")
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.cancel()
	var err error
	select {
	case err = <-e.done:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	e.done <- err // for the cleanup
	if err != nil {
		t.Fatalf("Serve = %v, want nil", err)
	}
	wg.Wait()
	for i, a := range answers {
		if a.status != 200 || a.header.Get(proxy.HeaderFallback) != "" || !strings.Contains(a.body, `"transaction":"sd-`) {
			t.Errorf("request %d in flight at shutdown: %d %v %s", i, a.status, a.header, a.body)
		}
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("the listener still accepts connections after shutdown")
	}
}
