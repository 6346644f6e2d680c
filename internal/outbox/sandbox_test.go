package outbox

import (
	"fmt"
	"testing"
	"time"

	"github.com/orderguard/orderguard/internal/sandbox"
)

// TestResendToSandboxAfterOutage runs the resender against the emulator of
// Forter's test site (its 10 requests/s limit on) on 127.0.0.1: down while
// requests are queued, then back; every order id arrives, each order before
// its status update, no 429 at the default rate cap, and a body Forter
// rejects is dead-lettered.
func TestResendToSandboxAfterOutage(t *testing.T) {
	cfg := sandbox.DefaultConfig()
	cfg.SkipValidation = true // these tests are about delivery, not the schema
	sb, err := sandbox.Start(sandbox.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if err := sb.Stop(); err != nil {
		t.Fatal(err)
	}

	s, _ := openTemp(t, Options{})
	const n = 6
	for i := range n {
		id := fmt.Sprintf("SBX-%d", i)
		s.Enqueue(order("orderV2", id, `{"orderId":"`+id+`"}`))
		s.Enqueue(order("statusPut", id, `{"orderId":"`+id+`","updatedStatus":"COMPLETED"}`))
	}
	broken := order("orderV3", "SBX-BROKEN", `{"orderId": "SBX-BROKEN", `) // not JSON: the site answers 400
	s.Enqueue(broken)

	o := ResendOptions{BackoffMin: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond} // default rate: 5/s
	runResender(t, s, HTTPSender{BaseURL: sb.URL, Header: map[string]string{"Authorization": "Basic c2l0ZTprZXk="}}, o)
	waitFor(t, "failed attempts while the site is down", func() bool { return stats(t, s).Failures >= 2 })
	if st := stats(t, s); st.Pending != 2*n+1 || st.Delivered != 0 {
		t.Fatalf("during the outage: %+v, want all %d pending", st, 2*n+1)
	}

	if err := sb.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the queue to empty", func() bool { return stats(t, s).Pending == 0 })

	got := sb.Received()
	for i := range n {
		id := fmt.Sprintf("SBX-%d", i)
		if c := got.Order(sandbox.EndpointOrderV2, id); c.OK != 1 {
			t.Errorf("order %s: %+v, want delivered once", id, c)
		}
		if c := got.Order(sandbox.EndpointStatusPut, id); c.OK != 1 {
			t.Errorf("status update %s: %+v, want delivered once", id, c)
		}
	}
	// Order per order id: each status update arrived after its order (the
	// received log keeps first-seen order).
	pos := map[string]int{}
	for i, oc := range got.Orders {
		pos[oc.Endpoint+" "+oc.ID] = i
	}
	for i := range n {
		id := fmt.Sprintf("SBX-%d", i)
		if pos[sandbox.EndpointStatusPut+" "+id] < pos[sandbox.EndpointOrderV2+" "+id] {
			t.Errorf("%s: the status update reached the site before the order", id)
		}
	}
	for ep, c := range got.Endpoints {
		if c.Status["429"] != 0 {
			t.Errorf("%s: %d answers 429 at the default rate cap", ep, c.Status["429"])
		}
	}
	st := stats(t, s)
	if st.Delivered != 2*n || st.Dead != 1 {
		t.Errorf("stats = %+v, want %d delivered, 1 dead", st, 2*n)
	}
	dead, _ := s.List(StateDead, 0)
	if len(dead) != 1 || dead[0].OrderID != "SBX-BROKEN" || dead[0].LastStatus != 400 {
		t.Errorf("dead = %+v, want the broken order with its 400", dead)
	}
	ds, _ := s.Decisions(0)
	if len(ds) != 2*n || len(ds[0].Response) == 0 {
		t.Errorf("decisions: %d kept, latest %+v", len(ds), ds[0])
	}
}
