package outbox_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orderguard/orderguard/internal/outbox/natsjs/natstest"
)

// TestE2EFleet: two `orderguard serve` processes share one JetStream outbox
// (a real nats-server in this test process). During a Forter outage pod A
// keeps orders and pod B their status updates (queued behind the orders pod
// A kept); pod A is SIGKILLed for good. Forter comes back: pod B delivers
// every order once and each status update after its order. Then NATS goes
// away: pod B answers --fallback closed and /readyz fails.
func TestE2EFleet(t *testing.T) {
	orderguardBin(t)
	ns := natstest.Start(t)
	sandboxAddr := freeAddr(t) // Forter is down
	fleet := []string{"--outbox-replicas", "1"}
	podA, urlA, _ := startProxy(t, "http://"+sandboxAddr, ns.ClientURL(), fleet...)
	_, urlB, adminB := startProxy(t, "http://"+sandboxAddr, ns.ClientURL(), fleet...)

	const n = 10
	for i := range n {
		if _, err := sendOrder(urlA, fmt.Sprintf("FLEET-%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if err := sendStatus(urlB, fmt.Sprintf("FLEET-%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if st := outboxStats(t, adminB); st.Pending != 2*n {
		t.Fatalf("pod B sees %d pending fleet-wide, want %d", st.Pending, 2*n)
	}
	podA.kill()

	_, sandboxURL := startSandbox(t, sandboxAddr)
	eventually(t, "pod B drains the fleet's outbox", 60*time.Second, func() bool { return outboxStats(t, adminB).Pending == 0 })
	got, pos := sandboxReceived(t, sandboxURL)
	for i := range n {
		id := fmt.Sprintf("FLEET-%02d", i)
		if got[id] != 1 {
			t.Errorf("order %s reached the sandbox %d times, want once", id, got[id])
		}
		o, okO := pos["orderV2 "+id]
		u, okU := pos["statusPut "+id]
		if !okO || !okU || u < o {
			t.Errorf("%s: order at %d (%v), status update at %d (%v): want the order first", id, o, okO, u, okU)
		}
	}

	// NATS gone mid-run: no promise the outbox cannot keep.
	ns.Shutdown()
	ns.WaitForShutdown()
	eventually(t, "/readyz fails with NATS down", 20*time.Second, func() bool {
		resp, err := client.Get(adminB + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	if ok, err := sendOrder(strings.TrimSuffix(urlB, "/"), "FLEET-DOWN"); ok || err == nil || !strings.Contains(err.Error(), "want the open fallback") {
		t.Errorf("an order with NATS down: fallback %v, %v; want the closed answer", ok, err)
	}
}

// NATS unreachable at start: serve refuses to start, saying where it looked.
func TestE2EFleetNATSDownAtStart(t *testing.T) {
	p := start(t, "proxy", []string{"ORDERGUARD_API_KEY=k"}, "serve", "--upstream", "http://"+freeAddr(t),
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--outbox", "nats://"+freeAddr(t), "--outbox-replicas", "1")
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("serve with NATS unreachable is still running")
	}
	if code := p.cmd.ProcessState.ExitCode(); code == 0 || !strings.Contains(p.output(), "connect to NATS nats://127.0.0.1:") {
		t.Errorf("exit %d, output:\n%s\nwant a failure naming the NATS URL", code, p.output())
	}
}
