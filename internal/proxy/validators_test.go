package proxy_test

import (
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/sandbox"
	"github.com/orderguard/orderguard/internal/validate"
)

// swapping is a Validators whose table is replaced while a request is in
// flight: table a's request validator swaps in table b, as a reload would.
type swapping struct {
	cur          atomic.Pointer[[]validate.Operation]
	aResp, bResp atomic.Int64
	bReq         atomic.Int64
}

func (v *swapping) Current() []validate.Operation { return *v.cur.Load() }

func newSwapping() *swapping {
	v := &swapping{}
	a := make([]validate.Operation, len(gen.Operations))
	b := make([]validate.Operation, len(gen.Operations))
	for i, op := range gen.Operations {
		req, resp := op.Request, op.Response
		a[i], b[i] = op, op
		a[i].Request = func(body []byte, r *validate.Report) {
			req(body, r)
			v.cur.Store(&b)
		}
		a[i].Response = func(body []byte, r *validate.Report) { v.aResp.Add(1); resp(body, r) }
		b[i].Request = func(body []byte, r *validate.Report) { v.bReq.Add(1); req(body, r) }
		b[i].Response = func(body []byte, r *validate.Report) { v.bResp.Add(1); resp(body, r) }
	}
	v.cur.Store(&a)
	return v
}

// waitChecks waits until n answers have been checked: the response check
// runs on a worker after the client has its answer (respcheck.go).
func (v *swapping) waitChecks(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for v.aResp.Load()+v.bResp.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d answers checked after 5s, want %d", v.aResp.Load()+v.bResp.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestValidatorsInFlight: a request keeps the validators table it started
// with to its end (its answer is checked, later, on the check worker, by the
// same program as its body, though the table was swapped meanwhile), and the
// next request takes the table swapped in.
func TestValidatorsInFlight(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	v := newSwapping()
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", validators: v})
	body, err := os.ReadFile("testdata/corpus/order-workarea_01_get-decision_approve.json")
	if err != nil {
		t.Fatal(err)
	}
	if a := e.do("POST", "/v2/orders/f1", string(body)); a.status != 200 {
		t.Fatalf("first request: %d %s", a.status, a.body)
	}
	v.waitChecks(t, 1)
	if v.aResp.Load() != 1 || v.bResp.Load() != 0 {
		t.Fatalf("the answer of a request whose validators were swapped mid-flight was checked by a=%d b=%d, want the table it started with (a)", v.aResp.Load(), v.bResp.Load())
	}
	if a := e.do("POST", "/v2/orders/f2", string(body)); a.status != 200 {
		t.Fatalf("second request: %d %s", a.status, a.body)
	}
	v.waitChecks(t, 2)
	if v.aResp.Load() != 1 || v.bReq.Load() != 1 || v.bResp.Load() != 1 {
		t.Fatalf("the next request did not take the swapped-in table: request %d, response %d", v.bReq.Load(), v.bResp.Load())
	}
}
