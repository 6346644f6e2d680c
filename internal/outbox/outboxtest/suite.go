// Package outboxtest is the outbox contract suite: one set of tests that every
// outbox.Backend passes (the bbolt Store and the JetStream store run it
// unchanged), against a real upstream on 127.0.0.1.
package outboxtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/outbox"
)

// Open returns a fresh, empty backend; the suite closes it.
type Open func(t *testing.T) outbox.Backend

// Run runs the contract suite against the backends open returns.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(*testing.T, outbox.Backend)
	}{
		{"enqueue_get", enqueueGet},
		{"duplicate_kept_once", duplicateKeptOnce},
		{"invalid_refused", invalidRefused},
		{"list_oldest_first_without_bodies", listOldestFirst},
		{"has_pending_per_order", hasPendingPerOrder},
		{"drop", drop},
		{"export_has_bodies", exportHasBodies},
		{"resend_delivers_in_order", resendDeliversInOrder},
		{"dead_letter_takes_order_line_and_retry_brings_it_back", deadLetterAndRetry},
		{"retry_makes_a_pending_entry_due_now", retryPending},
		{"admin_api", adminAPI},
		{"open_circuit_still_probes", openCircuitStillProbes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := open(t)
			t.Cleanup(func() { _ = b.Close() })
			tc.fn(t, b)
		})
	}
}

func req(op, orderID, body string) outbox.Request {
	method, path := "POST", "/v2/orders/"+orderID
	switch op {
	case gen.OpOrderV3:
		path = "/v3/orders/" + orderID
	case gen.OpStatusPost:
		path = "/v2/status/" + orderID
	case gen.OpStatusPut:
		method, path = "PUT", "/v2/status/"+orderID
	}
	return outbox.Request{Operation: op, OrderID: orderID, Method: method, Path: path,
		Header: map[string]string{"api-version": "2.0", "Authorization": "Basic c2VjcmV0"}, Body: []byte(body)}
}

func mustAdd(t *testing.T, b outbox.Backend, r outbox.Request) uint64 {
	t.Helper()
	id, dup, err := b.Add(r)
	if err != nil || dup {
		t.Fatalf("Add(%s %s) = %d, %v, %v; want a new entry", r.Operation, r.OrderID, id, dup, err)
	}
	return id
}

func enqueueGet(t *testing.T, b outbox.Backend) {
	id := mustAdd(t, b, req(gen.OpOrderV2, "G-1", `{"orderId":"G-1"}`))
	e, err := b.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if e.State != outbox.StatePending || e.OrderID != "G-1" || string(e.Body) != `{"orderId":"G-1"}` || e.BodySize != 17 {
		t.Errorf("Get = %+v", e)
	}
	if _, ok := e.Header["Authorization"]; ok {
		t.Error("the Authorization header was kept")
	}
	if e.Header["api-version"] != "2.0" {
		t.Errorf("headers %v, want api-version kept", e.Header)
	}
	if _, err := b.Get(id + 1000); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("Get(unknown) = %v, want ErrNotFound", err)
	}
	st, err := b.Stats()
	if err != nil || st.Pending != 1 || st.Enqueued < 1 || st.Oldest.IsZero() {
		t.Errorf("Stats = %+v, %v", st, err)
	}
	if err := b.Ready(); err != nil {
		t.Errorf("Ready = %v", err)
	}
}

func duplicateKeptOnce(t *testing.T, b outbox.Backend) {
	r := req(gen.OpOrderV2, "D-1", `{"orderId":"D-1"}`)
	id := mustAdd(t, b, r)
	id2, dup, err := b.Add(r)
	if err != nil || !dup || id2 != id {
		t.Errorf("second Add = %d, %v, %v; want %d, duplicate", id2, dup, err, id)
	}
	other := mustAdd(t, b, req(gen.OpOrderV2, "D-1", `{"orderId":"D-1","x":1}`))
	if other == id {
		t.Error("a different body got the same id")
	}
	list, _ := b.List(outbox.StatePending, 0)
	if len(list) != 2 {
		t.Errorf("pending %d, want 2", len(list))
	}
}

func invalidRefused(t *testing.T, b outbox.Backend) {
	for _, r := range []outbox.Request{{}, {Operation: gen.OpOrderV2, Method: "POST", Path: "no-slash"}} {
		if err := b.Enqueue(r); !errors.Is(err, outbox.ErrInvalid) {
			t.Errorf("Enqueue(%+v) = %v, want ErrInvalid", r, err)
		}
	}
}

func listOldestFirst(t *testing.T, b outbox.Backend) {
	var ids []uint64
	for _, o := range []string{"L-1", "L-2", "L-3"} {
		ids = append(ids, mustAdd(t, b, req(gen.OpOrderV2, o, `{"orderId":"`+o+`"}`)))
	}
	list, err := b.List(outbox.StatePending, 2)
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %v, %v", list, err)
	}
	for i, e := range list {
		if e.ID != ids[i] || e.Body != nil {
			t.Errorf("list[%d] = id %d body %q, want id %d without body", i, e.ID, e.Body, ids[i])
		}
	}
}

func hasPendingPerOrder(t *testing.T, b outbox.Backend) {
	if b.HasPending("H-1") {
		t.Error("HasPending before any enqueue")
	}
	id := mustAdd(t, b, req(gen.OpOrderV2, "H-1", `{}`))
	if !b.HasPending("H-1") || b.HasPending("H-2") {
		t.Error("HasPending does not follow the order id")
	}
	if err := b.Drop(id); err != nil {
		t.Fatal(err)
	}
	if b.HasPending("H-1") {
		t.Error("HasPending after the drop")
	}
}

func drop(t *testing.T, b outbox.Backend) {
	id := mustAdd(t, b, req(gen.OpOrderV2, "X-1", `{}`))
	if err := b.Drop(id); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(id); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("Get after Drop = %v", err)
	}
	if err := b.Drop(id); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("second Drop = %v, want ErrNotFound", err)
	}
}

func exportHasBodies(t *testing.T, b outbox.Backend) {
	mustAdd(t, b, req(gen.OpOrderV2, "E-1", `{"orderId":"E-1"}`))
	mustAdd(t, b, outbox.Request{Operation: gen.OpOrderV2, OrderID: "E-2", Method: "POST", Path: "/v2/orders/E-2", Body: []byte{0x1f, 0x8b, 0}})
	var buf bytes.Buffer
	if err := b.Export(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{`"body":{"orderId":"E-1"}`, `"body_base64":"H4sA"`} {
		if !strings.Contains(out, want) {
			t.Errorf("export lacks %s:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("export has %d lines, want 2", n)
	}
}

// upstream is a real HTTP server that records what it received and answers
// with the status the test sets per order id (default 200).
type upstream struct {
	srv *httptest.Server

	mu       sync.Mutex
	received []string // "operation-ish path" in arrival order
	status   map[string]int
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{status: map[string]int{}}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.received = append(u.received, r.Method+" "+r.URL.Path)
		code := u.status[r.URL.Path]
		u.mu.Unlock()
		if code == 0 {
			code = 200
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"status":"success","action":"approve"}`))
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) got() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.received...)
}

func run(t *testing.T, b outbox.Backend, u *upstream) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	r := b.NewResender(outbox.HTTPSender{BaseURL: u.srv.URL}, outbox.ResendOptions{
		Rate: 200, BackoffMin: 40 * time.Millisecond, BackoffMax: 200 * time.Millisecond, Logf: t.Logf,
	})
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("the resender did not stop within 5s")
		}
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 15s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func resendDeliversInOrder(t *testing.T, b outbox.Backend) {
	u := newUpstream(t)
	// The order fails twice first, so its status update, enqueued later,
	// has every chance to overtake it if the backend does not keep the line.
	failing := 0
	u.mu.Lock()
	u.status["/v2/orders/R-1"] = 503
	u.mu.Unlock()
	mustAdd(t, b, req(gen.OpOrderV2, "R-1", `{"orderId":"R-1"}`))
	mustAdd(t, b, req(gen.OpStatusPost, "R-1", `{"orderId":"R-1","updatedStatus":"PROCESSING"}`))
	mustAdd(t, b, req(gen.OpOrderV2, "R-2", `{"orderId":"R-2"}`))
	stop := run(t, b, u)
	defer stop()
	eventually(t, "R-1 tried twice", func() bool {
		n := 0
		for _, g := range u.got() {
			if g == "POST /v2/orders/R-1" {
				n++
			}
		}
		failing = n
		return n >= 2
	})
	u.mu.Lock()
	delete(u.status, "/v2/orders/R-1")
	u.mu.Unlock()
	eventually(t, "all delivered", func() bool { st, _ := b.Stats(); return st.Pending == 0 })
	got := u.got()
	order, status := -1, -1
	for i, g := range got {
		switch g {
		case "POST /v2/orders/R-1":
			order = i
		case "POST /v2/status/R-1":
			if status < 0 {
				status = i
			}
		}
	}
	if status < order {
		t.Errorf("the status update went out before its order's delivery: %v", got)
	}
	if failing < 2 {
		t.Errorf("R-1 tried %d times before it was let through", failing)
	}
	ds, err := b.Decisions(0)
	if err != nil || len(ds) != 3 || ds[0].Status != 200 {
		t.Errorf("Decisions = %+v, %v; want 3 with status 200", ds, err)
	}
}

func deadLetterAndRetry(t *testing.T, b outbox.Backend) {
	u := newUpstream(t)
	u.mu.Lock()
	u.status["/v2/orders/B-1"] = 400
	u.mu.Unlock()
	mustAdd(t, b, req(gen.OpOrderV2, "B-1", `{"orderId":"B-1"}`))
	mustAdd(t, b, req(gen.OpStatusPost, "B-1", `{"orderId":"B-1","updatedStatus":"PROCESSING"}`))
	stop := run(t, b, u)
	eventually(t, "both dead", func() bool { st, _ := b.Stats(); return st.Dead == 2 && st.Pending == 0 })
	stop()
	dead, err := b.List(outbox.StateDead, 0)
	if err != nil || len(dead) != 2 {
		t.Fatalf("dead = %v, %v", dead, err)
	}
	if dead[0].LastStatus != 400 || dead[0].DeadReason != "upstream answered 400" || !json.Valid(dead[0].LastResponse) {
		t.Errorf("dead order = %+v", dead[0])
	}
	if dead[1].BlockedBy != dead[0].ID {
		t.Errorf("the status update is not marked as blocked by its order: %+v", dead[1])
	}
	for _, g := range u.got() {
		if strings.Contains(g, "/status/") {
			t.Errorf("a status update of a dead order was sent: %v", u.got())
		}
	}
	u.mu.Lock()
	delete(u.status, "/v2/orders/B-1")
	u.mu.Unlock()
	// How many it counts differs (bbolt counts the status update that came
	// back with its order again); that both come back is the contract.
	if n, err := b.RetryAllDead(); err != nil || n < 1 {
		t.Errorf("RetryAllDead = %d, %v; want at least the order", n, err)
	}
	stop = run(t, b, u)
	defer stop()
	eventually(t, "retried and delivered", func() bool { st, _ := b.Stats(); return st.Dead == 0 && st.Pending == 0 })
	got := u.got()
	if got[len(got)-1] != "POST /v2/status/B-1" {
		t.Errorf("the status update was not delivered last: %v", got)
	}
}

// A failed entry waits for its backoff (at least 20s here); List shows the
// attempt and its status; Retry makes it due now, so it is delivered long
// before the backoff would have let it, and still before its order's later
// request.
func retryPending(t *testing.T, b outbox.Backend) {
	u := newUpstream(t)
	u.mu.Lock()
	u.status["/v2/orders/Q-1"] = 503
	u.mu.Unlock()
	id := mustAdd(t, b, req("orderV2", "Q-1", `{"orderId":"Q-1"}`))
	mustAdd(t, b, req("statusPost", "Q-1", `{"orderId":"Q-1","updatedStatus":"PROCESSING"}`))
	ctx, cancel := context.WithCancel(context.Background())
	r := b.NewResender(outbox.HTTPSender{BaseURL: u.srv.URL}, outbox.ResendOptions{
		Rate: 200, BackoffMin: 40 * time.Second, BackoffMax: time.Minute, Logf: t.Logf,
	})
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	eventually(t, "the first attempt recorded", func() bool {
		e, err := b.Get(id)
		return err == nil && e.Attempts == 1
	})
	list, err := b.List(outbox.StatePending, 0)
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %v, %v", list, err)
	}
	if e := list[0]; e.ID != id || e.Attempts != 1 || e.LastStatus != 503 || time.Until(e.NextTry) < 10*time.Second {
		t.Errorf("the failed entry in List: id %d attempts %d last status %d next try in %s; want %d, 1, 503, the backoff",
			e.ID, e.Attempts, e.LastStatus, time.Until(e.NextTry).Round(time.Second), id)
	}
	u.mu.Lock()
	delete(u.status, "/v2/orders/Q-1")
	u.mu.Unlock()
	retried := time.Now()
	if err := b.Retry(id); err != nil {
		t.Fatalf("Retry(pending %d) = %v", id, err)
	}
	eventually(t, "delivered after the retry", func() bool { st, _ := b.Stats(); return st.Pending == 0 })
	if d := time.Since(retried); d > 10*time.Second {
		t.Errorf("delivered %s after the retry, want it due at once", d)
	}
	got := u.got()
	want := []string{"POST /v2/orders/Q-1", "POST /v2/orders/Q-1", "POST /v2/status/Q-1"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("upstream got %v, want %v", got, want)
	}
	if err := b.Retry(id + 1000); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("Retry(unknown) = %v, want ErrNotFound", err)
	}
}

func adminAPI(t *testing.T, b outbox.Backend) {
	mustAdd(t, b, req(gen.OpOrderV2, "A-1", `{"orderId":"A-1"}`))
	srv := httptest.NewServer(outbox.NewAdmin(b))
	defer srv.Close()
	for path, want := range map[string]string{
		"/outbox/stats":              `"pending": 1`,
		"/outbox/list?state=pending": `"order_id": "A-1"`,
		"/outbox/export":             `"body":{"orderId":"A-1"}`,
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(buf.String(), want) {
			t.Errorf("GET %s = %d %s, want %s", path, resp.StatusCode, buf.String(), want)
		}
	}
}

// The proxy's circuit stays open (no live traffic closes it): the resender
// still sends one request every ProbeEvery, and goes on once it is answered.
func openCircuitStillProbes(t *testing.T, b outbox.Backend) {
	u := newUpstream(t)
	mustAdd(t, b, req(gen.OpOrderV2, "P-1", `{"orderId":"P-1"}`))
	mustAdd(t, b, req(gen.OpOrderV2, "P-2", `{"orderId":"P-2"}`))
	ctx, cancel := context.WithCancel(context.Background())
	r := b.NewResender(outbox.HTTPSender{BaseURL: u.srv.URL}, outbox.ResendOptions{
		Rate: 200, Paused: func() bool { return true }, PausePoll: 20 * time.Millisecond, ProbeEvery: 300 * time.Millisecond,
	})
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	start := time.Now()
	eventually(t, "delivered despite the open circuit", func() bool { st, _ := b.Stats(); return st.Pending == 0 })
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("delivered after %s, before the first probe was due", d)
	}
}
