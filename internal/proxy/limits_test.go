package proxy_test

import (
	"bytes"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderguard/orderguard/internal/pool/pooltest"
	"github.com/orderguard/orderguard/internal/proxy"
)

// Bodies past the limits of withLimits, and the answer each gets, byte for
// byte (the answer inbound.JSONLimits gave before the scanner checked them).
var (
	deepBody = strings.Repeat(`{"a":`, 9) + `1` + strings.Repeat(`}`, 9)         // the 9th '{' at 40
	longBody = `{"nameOnCard":"` + strings.Repeat("4111111111111111", 13) + `"}` // 208 bytes from 14
	wideBody = `{"cartItems":[` + strings.Repeat(`1,`, 16) + `1]}`               // the 16th ',' at 45

	deepAnswer = `{"status":"failed","message":"Malformed request","errorsCount":1,"errors":[{"message":"objects and arrays nest deeper than 8 (--max-depth)","path":"#","rule":"max-depth","kind":"limit","offset":40}]}`
	longAnswer = `{"status":"failed","message":"Malformed request","errorsCount":1,"errors":[{"message":"a string is longer (bytes) than 200 (--max-string)","path":"#","rule":"max-string","kind":"limit","offset":14}]}`
	wideAnswer = `{"status":"failed","message":"Malformed request","errorsCount":1,"errors":[{"message":"an array has more elements than 16 (--max-array)","path":"#","rule":"max-array","kind":"limit","offset":45}]}`
)

// withLimits sets limits the valid order (6 levels, strings up to 159
// bytes, arrays of one) is within.
func withLimits(mode proxy.Mode) func(*proxy.Config) {
	return func(c *proxy.Config) { c.Mode, c.MaxDepth, c.MaxString, c.MaxArray = mode, 8, 200, 16 }
}

// TestJSONLimits: a body past a limit gets the same 400 on every route and
// in every mode, before routing answers and before validation; Forter never
// sees it; it is counted in the limits' metric only and logged as a
// refusal. A body within the limits is answered as with no limits.
func TestJSONLimits(t *testing.T) {
	up := &capture{}
	srv := pooltest.Start(t, up.handler, false)
	order := validOrder(t)
	routes := []struct {
		name, method, path string
	}{
		{"operation", "POST", "/v2/orders/lim-1"},
		{"outside the spec", "POST", "/v2/other"},
		{"near miss", "POST", "/v2/Orders/lim-1"},
		{"never forwarded", "TRACE", "/v2/other"},
	}
	for _, mode := range []proxy.Mode{proxy.ModeEnforce, proxy.ModeReport, proxy.ModeOff} {
		t.Run(mode.String(), func(t *testing.T) {
			e := startProxy(t, envOpts{upstream: srv.URL, mut: withLimits(mode)})
			plain := startProxy(t, envOpts{upstream: srv.URL, mut: func(c *proxy.Config) { c.Mode = mode }})
			refused := 0
			for _, rt := range routes {
				// Within the limits: what the proxy answers without them.
				got, want := e.do(rt.method, rt.path, order), plain.do(rt.method, rt.path, order)
				if got.status != want.status || got.body != want.body {
					t.Errorf("%s, within the limits: %d %s; without limits %d %s", rt.name, got.status, got.body, want.status, want.body)
				}
				forwarded := up.count()
				for _, c := range []struct{ name, body, answer string }{
					{"max-depth", deepBody, deepAnswer},
					{"max-string", longBody, longAnswer},
					{"max-array", wideBody, wideAnswer},
				} {
					a := e.do(rt.method, rt.path, c.body)
					refused++
					if a.status != 400 || a.body != c.answer || a.header.Get("Content-Type") != "application/json" {
						t.Errorf("%s, %s: %d %q %s\nwant 400 application/json %s", rt.name, c.name, a.status, a.header.Get("Content-Type"), a.body, c.answer)
					}
					if a.header.Get(proxy.HeaderViolations) != "" {
						t.Errorf("%s, %s: the refusal carries %s", rt.name, c.name, proxy.HeaderViolations)
					}
				}
				if n := up.count(); n != forwarded {
					t.Errorf("%s: %d bodies past the limits reached Forter", rt.name, n-forwarded)
				}
			}
			reg := e.p.Registry()
			if n := metric(t, reg, "orderguard_inbound_json_limit_rejections_total"); n != float64(refused) {
				t.Errorf("json limit rejections = %v, want %d", n, refused)
			}
			// The refusals left no other metric: the request metrics are those
			// of the proxy without limits, which got the bodies within them.
			for _, name := range []string{"orderguard_requests_total", "orderguard_violations_total",
				"orderguard_validation_duration_seconds", "orderguard_request_duration_seconds"} {
				if got, want := samples(t, reg, name), samples(t, plain.p.Registry(), name); !maps.Equal(got, want) {
					t.Errorf("%s:\n got %v\nwant %v", name, got, want)
				}
			}
			logs := e.logs.String()
			if !strings.Contains(logs, `"msg":"request refused","reason":"json_limit","status":400`) {
				t.Errorf("no refusal line:\n%s", logs)
			}
			if strings.Contains(logs, "4111111111111111") {
				t.Errorf("the log holds the body:\n%s", logs)
			}
		})
	}
}

// count is how many requests reached the upstream.
func (c *capture) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.bodies)
}

// samples are the non-zero values (sample counts of histograms) of one
// metric family, by their labels.
func samples(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			v := m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
			if v != 0 {
				out[fmt.Sprint(m.GetLabel())] = v
			}
		}
	}
	return out
}

// TestJSONLimitsCompressed: a compressed body is checked decoded, on every
// route and in every mode; one that does not decode is left to the rest of
// the path, which forwards it outside the spec and in mode off.
func TestJSONLimitsCompressed(t *testing.T) {
	up := &capture{}
	srv := pooltest.Start(t, up.handler, false)
	for _, c := range []struct {
		name, path string
		mode       proxy.Mode
		body       []byte
		coding     string
		status     int
		says       string
	}{
		{"deep, gzip, outside the spec", "/v2/other", proxy.ModeEnforce, gzipped(t, []byte(deepBody)), "gzip", 400, deepAnswer},
		{"deep, deflate, operation", "/v2/orders/c1", proxy.ModeEnforce, zlibbed(t, []byte(deepBody)), "deflate", 400, deepAnswer},
		{"deep, gzip, operation, report", "/v2/orders/c1", proxy.ModeReport, gzipped(t, []byte(deepBody)), "gzip", 400, deepAnswer},
		{"deep, gzip, operation, off", "/v2/orders/c1", proxy.ModeOff, gzipped(t, []byte(deepBody)), "gzip", 400, deepAnswer},
		{"shallow, gzip", "/v2/other", proxy.ModeEnforce, gzipped(t, []byte(`{"a":[1,2,3]}`)), "gzip", 200, `"action":"approve"`},
		{"not gzip, outside the spec: forwarded", "/v2/other", proxy.ModeEnforce, []byte(deepBody), "gzip", 200, `"action":"approve"`},
		{"not gzip, off: forwarded", "/v2/orders/c1", proxy.ModeOff, []byte(deepBody), "gzip", 200, `"action":"approve"`},
		{"not gzip, operation: the proxy's 400", "/v2/orders/c1", proxy.ModeEnforce, []byte(deepBody), "gzip", 400, "labelled gzip but not gzip data"},
		{"br, outside the spec: forwarded", "/v2/other", proxy.ModeEnforce, []byte(deepBody), "br", 200, `"action":"approve"`},
		{"br, operation: the proxy's 415", "/v2/orders/c1", proxy.ModeEnforce, []byte(deepBody), "br", 415, "Unsupported Media Type"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := startProxy(t, envOpts{upstream: srv.URL, mut: func(cfg *proxy.Config) { cfg.Mode, cfg.MaxDepth = c.mode, 8 }})
			a := e.post(c.path, c.body, c.coding)
			if a.status != c.status || !strings.Contains(a.body, c.says) {
				t.Fatalf("%d %s; want %d with %s", a.status, a.body, c.status, c.says)
			}
		})
	}
}

// TestJSONLimitsNotJSON: outside the spec a body that is not JSON is
// forwarded untouched unless it breaks a limit before its first syntax
// fault; an empty body is never refused.
func TestJSONLimitsNotJSON(t *testing.T) {
	up := &capture{}
	srv := pooltest.Start(t, up.handler, false)
	e := startProxy(t, envOpts{upstream: srv.URL, mut: withLimits(proxy.ModeEnforce)})
	for _, c := range []struct {
		name, body string
		status     int
	}{
		{"a form", `card=4111111111111111&cvv=737&` + strings.Repeat("[", 20), 200},
		{"stray closers", `]]]}}}[1,2]`, 200},
		{"a fault before the breach", `[1,,` + strings.Repeat("[", 20), 200},
		{"a breach before the fault", strings.Repeat("[", 9) + `x`, 400},
		{"a string past the limit, never closed", `["` + strings.Repeat("s", 201), 400},
		{"empty", ``, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := up.count()
			a := e.do("POST", "/v2/other", c.body)
			if a.status != c.status {
				t.Fatalf("%d %s, want %d", a.status, a.body, c.status)
			}
			bodies, _ := up.got()
			if c.status == 200 && (len(bodies) != before+1 || !bytes.Equal(bodies[len(bodies)-1], []byte(c.body))) {
				t.Fatalf("not forwarded untouched")
			}
			if c.status == 400 && !strings.Contains(a.body, `"kind":"limit"`) {
				t.Fatalf("refused with %s", a.body)
			}
		})
	}
}

// TestJSONLimitsOff: with no limit set, nothing is bounded but the
// validators' own nesting on operations; the metric is there, at 0.
func TestJSONLimitsOff(t *testing.T) {
	up := &capture{}
	srv := pooltest.Start(t, up.handler, false)
	e := startProxy(t, envOpts{upstream: srv.URL})
	huge := strings.Repeat("[", 1000) + `"` + strings.Repeat("x", 1e5) + `"` + strings.Repeat("]", 1000)
	if a := e.do("POST", "/v2/other", huge); a.status != 200 {
		t.Fatalf("limits off, outside the spec: %d %s", a.status, a.body)
	}
	if a := e.do("POST", "/v2/orders/off-1", huge); a.status != 400 || !strings.Contains(a.body, `"rule":"max-depth","kind":"syntax"`) {
		t.Fatalf("limits off, operation: %d %s, want the validators' max-depth", a.status, a.body)
	}
	if n := metric(t, e.p.Registry(), "orderguard_inbound_json_limit_rejections_total"); n != 0 {
		t.Fatalf("rejections %v", n)
	}
	mfs, _ := e.p.Registry().Gather()
	found := false
	for _, mf := range mfs {
		found = found || mf.GetName() == "orderguard_inbound_json_limit_rejections_total"
	}
	if !found {
		t.Fatal("the limits' metric is not registered with the limits off")
	}
}

// TestJSONLimitsPastValidatorDepth: the validators stop at 64 levels; a
// limit broken deeper still gets the limits' answer, in report mode too
// (which would forward the body with its violations otherwise).
func TestJSONLimitsPastValidatorDepth(t *testing.T) {
	up := &capture{}
	srv := pooltest.Start(t, up.handler, false)
	order := validOrder(t)
	deepLong := `{"x":` + strings.Repeat("[", 70) + `"` + strings.Repeat("s", 201) + `"` + strings.Repeat("]", 70) + `,` + order[1:]
	deepShort := strings.Replace(deepLong, strings.Repeat("s", 201), "s", 1)
	for _, c := range []struct {
		name   string
		mode   proxy.Mode
		body   string
		status int
		says   string
	}{
		{"report, a long string 71 levels deep", proxy.ModeReport, deepLong, 400, `"rule":"max-string","kind":"limit","offset":75}`},
		{"enforce, a long string 71 levels deep", proxy.ModeEnforce, deepLong, 400, `"rule":"max-string","kind":"limit","offset":75}`},
		{"enforce, nothing past the limits", proxy.ModeEnforce, deepShort, 400, `"rule":"max-depth","kind":"syntax"`},
		{"report, nothing past the limits", proxy.ModeReport, deepShort, 200, `"action":"approve"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := startProxy(t, envOpts{upstream: srv.URL, mut: func(cfg *proxy.Config) { cfg.Mode, cfg.MaxString = c.mode, 200 }})
			a := e.do("POST", "/v2/orders/deep-1", c.body)
			if a.status != c.status || !strings.Contains(a.body, c.says) {
				t.Fatalf("%d %s; want %d with %s", a.status, a.body, c.status, c.says)
			}
		})
	}
}

// TestJSONLimitsUnknownRoutesReject: with --unknown-routes reject, a body
// past a limit still gets the limits' 400, not the 404.
func TestJSONLimitsUnknownRoutesReject(t *testing.T) {
	up := &capture{}
	srv := pooltest.Start(t, up.handler, false)
	e := startProxy(t, envOpts{upstream: srv.URL, mut: func(c *proxy.Config) {
		withLimits(proxy.ModeEnforce)(c)
		c.RejectUnknown = true
	}})
	if a := e.do("POST", "/v2/other", `{"a":[1,2,3]}`); a.status != 404 {
		t.Fatalf("within the limits: %d %s, want 404", a.status, a.body)
	}
	if a := e.do("POST", "/v2/other", wideBody); a.status != 400 || a.body != wideAnswer {
		t.Fatalf("past --max-array: %d %s, want 400 %s", a.status, a.body, wideAnswer)
	}
	if up.count() != 0 {
		t.Fatal("an unknown route reached Forter")
	}
}
