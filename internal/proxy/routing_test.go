package proxy_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/orderguard/orderguard/internal/proxy"
	"github.com/orderguard/orderguard/internal/sandbox"
)

// 16.3: the sandbox, like Forter, routes case-sensitively and a trailing
// slash is another path, so a near miss that reached it would be answered
// 404 without any check. The proxy refuses it itself with a 404 naming the
// operation it resembles, in every mode, and never forwards it; a genuinely
// foreign path keeps --unknown-routes.
func TestNearMissesAreRefused(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	order := validOrder(t)
	near := []string{"/v2/orders/nm1/", "/V2/orders/nm1", "/v2/Orders/nm1", "/V2/ORDERS/nm1/"}
	for _, path := range near {
		req, _ := http.NewRequest("POST", sb.URL+path, strings.NewReader(order))
		req.SetBasicAuth("k", "")
		req.Header.Set("api-version", "2.3")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Fatalf("the sandbox answered %s %d; the decision to refuse near misses rests on its 404", path, resp.StatusCode)
		}
	}
	for _, mode := range []proxy.Mode{proxy.ModeEnforce, proxy.ModeReport, proxy.ModeOff} {
		t.Run(mode.String(), func(t *testing.T) {
			e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", mut: func(c *proxy.Config) { c.Mode = mode }})
			before := sb.Received().Total
			for _, path := range near {
				a := e.do("POST", path, order)
				if a.status != 404 || !strings.Contains(a.body, `"status":"failed"`) || !strings.Contains(a.body, "resembles orderV2 (POST /v2/orders/{orderId})") {
					t.Fatalf("%s: %d %s; want a 404 naming orderV2", path, a.status, a.body)
				}
			}
			if got := sb.Received().Total - before; got != 0 {
				t.Fatalf("%d near misses reached the sandbox", got)
			}
			if n := metric(t, e.p.Registry(), "orderguard_requests_total", "operation", "passthrough", "outcome", "unknown"); n != float64(len(near)) {
				t.Fatalf("refused near misses counted %v, want %d", n, len(near))
			}
			// A foreign path is forwarded (--unknown-routes pass): the sandbox's own 404.
			if a := e.do("POST", "/v2/elsewhere/nm1", order); a.status != 404 || sb.Received().Total-before != 1 {
				t.Fatalf("foreign path: %d %s, want forwarded", a.status, a.body)
			}
		})
	}
}
