package proxy_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/pool/pooltest"
	"github.com/orderguard/orderguard/internal/validate"
)

// TestResponseCheckOffThePath is issue 16.5: the report-only check of
// Forter's answer must not delay the client. orderV2's response validator is
// replaced by one that blocks until the test lets it go: the client must have
// its answer (unchanged) while the check still waits, and the drift it then
// finds is counted as before. With the check on the request path, the client
// waits for the release that only comes after its answer: the test fails by
// its 3 s client timeout.
func TestResponseCheckOffThePath(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	ops := append([]validate.Operation(nil), gen.Operations...)
	for i := range ops {
		if ops[i].ID != "orderV2" {
			continue
		}
		real := ops[i].Response
		ops[i].Response = func(b []byte, r *validate.Report) {
			entered <- struct{}{}
			<-release
			real(b, r)
		}
	}
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	const drifting = `{"status":"maybe","action":42}`
	up := pooltest.Start(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBodyString(drifting)
	}, false)
	e := startProxy(t, envOpts{upstream: up.URL, ops: ops})
	e.client = &http.Client{Timeout: 3 * time.Second}

	req, _ := http.NewRequest("POST", e.url+"/v2/orders/slow-check", strings.NewReader(validOrder(t)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("the client waited for the response check: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || string(body) != drifting {
		t.Fatalf("answer %d %q (%v), want Forter's unchanged", resp.StatusCode, body, err)
	}
	select {
	case <-entered:
	case <-time.After(3 * time.Second):
		t.Fatal("the response was never checked")
	}
	if n := metric(t, e.p.Registry(), "orderguard_response_drift_total", "operation", "orderV2"); n != 0 {
		t.Fatalf("drift counted (%v) before the check ran", n)
	}
	close(release)
	waitMetric(t, e.p.Registry(), 1, "orderguard_response_drift_total", "operation", "orderV2")
}

// waitMetric polls a metric until it reaches want (checks that run after
// the answer count a moment later).
func waitMetric(t testing.TB, reg *prometheus.Registry, want float64, name string, labels ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := metric(t, reg, name, labels...)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v, want %v", name, labels, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
