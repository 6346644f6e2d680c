package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orderguard/orderguard/internal/outbox/natsjs"
	"github.com/orderguard/orderguard/internal/outbox/natsjs/natstest"
	"github.com/orderguard/orderguard/internal/sandbox"
)

// TestFleetSIGKILL: two `orderguard serve` processes share one JetStream
// outbox. Forter is slow and failing: pod A answers orders "not reviewed",
// pod B queues their status updates behind them, and pod A's resender (the
// lease holder) is SIGKILLed for good while it holds fetched, un-acknowledged
// deliveries and has one send in flight. Forter comes back: pod B delivers
// every order once at the sandbox, each status update after its order, within
// --outbox-ack-wait plus the lease's TTL (far less than the 30s default).
func TestFleetSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes, a JetStream server and two sandboxes: not in -short mode")
	}
	const n = 10
	ns := natstest.Start(t)
	// Phase 1: every answer takes 2s and is a 503, so a resend is in flight
	// for 2s and the rest of the resender's batch waits, un-acknowledged,
	// behind it. Nothing reaches "Forter" in this phase.
	failing, err := sandbox.Start(sandbox.Options{Config: sandbox.Config{
		SkipValidation: true, ErrorRate: 1, Latency: sandbox.Latency{Fixed: 2 * time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	defer failing.Close()

	args := "--upstream " + failing.URL + " --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0" +
		" --outbox " + ns.ClientURL() + " --outbox-replicas 1 --outbox-rate 8 --outbox-ack-wait 3s" +
		" --mode report --budget 500ms --breaker-failures 0 --log-format json"
	podA := startServe(t, t.TempDir(), args, "ORDERGUARD_API_KEY=fleet-test-key")
	a := podA.serving(t)
	go drain(podA)
	js := jsClient(t, ns.ClientURL())
	waitUntil(t, "pod A holds the resend lease", 10*time.Second, func() bool {
		return leaseHolderPID(js) == podA.cmd.Process.Pid
	})
	podB := startServe(t, t.TempDir(), args, "ORDERGUARD_API_KEY=fleet-test-key")
	b := podB.serving(t)
	go drain(podB)

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- fleetOrder("http://"+a.Listen, fmt.Sprintf("KILL-%02d", i)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if err := fleetStatus("http://"+b.Listen, fmt.Sprintf("KILL-%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// Pod A's resender has a send in flight (the sandbox saw more than the
	// n live attempts) and holds more of its batch un-acknowledged.
	waitUntil(t, "pod A resending with deliveries held", 10*time.Second, func() bool {
		return failing.Received().Endpoints[sandbox.EndpointOrderV2].Received > n && ackPending(js) >= 2
	})
	if pid := leaseHolderPID(js); pid != podA.cmd.Process.Pid {
		t.Fatalf("the lease is held by pid %d, want pod A (%d)", pid, podA.cmd.Process.Pid)
	}
	held := ackPending(js)
	if err := podA.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	podA.exited <- <-podA.exited // for startServe's cleanup
	killed := time.Now()

	// Phase 2: Forter is back, healthy, on the same address; its received
	// log counts only what arrives from now on.
	addr := failing.Addr
	if err := failing.Stop(); err != nil {
		t.Fatal(err)
	}
	healthy, err := sandbox.Start(sandbox.Options{Addr: addr, Config: sandbox.Config{SkipValidation: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer healthy.Close()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pod B's outbox log:\n%s", outboxLines(podB.raw.String()))
			t.Logf("the healthy sandbox received: %+v", healthy.Received())
		}
	})
	// AckWait 3s, lease TTL 5s, 2n sends at 8/s and the naks that keep each
	// status update behind its order: about 12s. The default AckWait (30s)
	// would not make it.
	waitUntil(t, "pod B delivers the fleet's outbox", 25*time.Second, func() bool {
		return sandboxReceived(t, healthy.URL).Endpoints[sandbox.EndpointStatusPut].OK >= n && outboxPending(t, "http://"+b.Admin) == 0
	})
	t.Logf("pod A held %d deliveries at SIGKILL; pod B delivered all %d requests %.1fs later",
		held, 2*n, time.Since(killed).Seconds())

	rcv := sandboxReceived(t, healthy.URL)
	pos := map[string]int{}
	for i, o := range rcv.Orders {
		pos[o.Endpoint+" "+o.ID] = i
	}
	for i := range n {
		id := fmt.Sprintf("KILL-%02d", i)
		if c := rcv.Order(sandbox.EndpointOrderV2, id); c.Received != 1 || c.OK != 1 {
			t.Errorf("order %s reached the sandbox %d times (%d answered 2xx), want once", id, c.Received, c.OK)
		}
		if c := rcv.Order(sandbox.EndpointStatusPut, id); c.Received != 1 {
			t.Errorf("status update %s reached the sandbox %d times, want once", id, c.Received)
		}
		o, okO := pos[sandbox.EndpointOrderV2+" "+id]
		u, okU := pos[sandbox.EndpointStatusPut+" "+id]
		if !okO || !okU || u < o {
			t.Errorf("%s: order at %d (%v), status update at %d (%v): want the order first", id, o, okO, u, okU)
		}
	}
}

// outboxLines are the outbox's log lines (the request lines left out).
func outboxLines(log string) string {
	var b strings.Builder
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "outbox") {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// sandboxReceived is GET /_sandbox/received, as any client reads it.
func sandboxReceived(t *testing.T, base string) sandbox.Received {
	t.Helper()
	r, err := sandbox.FetchReceived(nil, base)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// drain reads a process's log lines so that its stderr never blocks.
func drain(sp *serveProcess) {
	for range sp.lines {
	}
}

func jsClient(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// leaseHolderPID is the pid in the resend lease (host/pid/nanos), 0 if none.
func leaseHolderPID(js jetstream.JetStream) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, natsjs.DefaultStream+"_LEASE")
	if err != nil {
		return 0
	}
	e, err := kv.Get(ctx, "resender")
	if err != nil {
		return 0
	}
	parts := strings.Split(string(e.Value()), "/")
	if len(parts) != 3 {
		return 0
	}
	pid, _ := strconv.Atoi(parts[1])
	return pid
}

// ackPending is the fleet consumer's count of delivered, un-acknowledged messages.
func ackPending(js jetstream.JetStream) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := js.Consumer(ctx, natsjs.DefaultStream, natsjs.DefaultStream+"_RESENDER")
	if err != nil {
		return 0
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0
	}
	return info.NumAckPending
}

func outboxPending(t *testing.T, admin string) int {
	t.Helper()
	resp, err := http.Get(admin + "/outbox/stats")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var st struct {
		Pending int `json:"pending"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st); err != nil || resp.StatusCode != 200 {
		return -1
	}
	return st.Pending
}

// fleetOrder posts an order and wants the open fallback: "not reviewed".
func fleetOrder(base, id string) error {
	body := fmt.Sprintf(`{"orderId":%q,"orderType":"WEB","checkoutTime":1700000000,"totalAmount":{"amountUSD":"12.50"}}`, id)
	code, hdr, b, err := fleetDo("POST", base+"/v2/orders/"+id, body)
	if err != nil {
		return err
	}
	if code != 200 || hdr == "" || !strings.Contains(b, "not reviewed") {
		return fmt.Errorf("order %s: %d %q (fallback %q), want the open fallback", id, code, b, hdr)
	}
	return nil
}

// fleetStatus puts a status update and wants it queued (202, fallback header).
func fleetStatus(base, id string) error {
	body := fmt.Sprintf(`{"orderId":%q,"eventTime":1700000100000,"updatedStatus":"COMPLETED"}`, id)
	code, hdr, b, err := fleetDo("PUT", base+"/v2/status/"+id, body)
	if err != nil {
		return err
	}
	if code != 202 || hdr == "" {
		return fmt.Errorf("status %s: %d %q (fallback %q), want it queued (202)", id, code, b, hdr)
	}
	return nil
}

func fleetDo(method, url, body string) (int, string, string, error) {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("api-version", "2.36")
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header.Get("X-Orderguard-Fallback"), string(b), nil
}

func waitUntil(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
