package proxy

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/orderguard/orderguard/internal/validate"
)

func TestRouteMatch(t *testing.T) {
	r, err := compileRoute("POST", "/v2/orders/{orderId}")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path string
		id           string
		ok           bool
	}{
		{"POST", "/v2/orders/123", "123", true},
		{"POST", "/v2/orders/a-b_c.d", "a-b_c.d", true},
		{"PUT", "/v2/orders/123", "", false},
		{"POST", "/v2/orders/", "", false},
		{"POST", "/v2/orders", "", false},
		{"POST", "/v2/orders/1/2", "", false},
		{"POST", "/v2/orders/1/", "", false},
		{"POST", "/v3/orders/1", "", false},
		{"POST", "v2/orders/1", "", false},
		{"POST", "", "", false},
		{"POST", "/", "", false},
		{"POST", "//v2/orders/1", "", false},
	} {
		id, ok := r.match([]byte(tc.method), []byte(tc.path))
		if ok != tc.ok || string(id) != tc.id {
			t.Errorf("match(%s %q) = %q, %v; want %q, %v", tc.method, tc.path, id, ok, tc.id, tc.ok)
		}
	}
	for _, bad := range []string{"v2/orders", "/v2/orders/x{id}"} {
		if _, err := compileRoute("POST", bad); err == nil {
			t.Errorf("compileRoute(%q) accepted", bad)
		}
	}
}

func TestBreaker(t *testing.T) {
	now := time.Unix(1000, 0)
	b := newBreaker(3, time.Second)
	b.now = func() time.Time { return now }
	step := func(want bool, wantProbe bool) bool {
		t.Helper()
		ok, probe := b.allow()
		if ok != want || probe != wantProbe {
			t.Fatalf("allow = %v, %v; want %v, %v (state %d)", ok, probe, want, wantProbe, b.state.Load())
		}
		return probe
	}
	for range 2 {
		step(true, false)
		b.failure(false)
	}
	step(true, false)
	b.success(false) // a success resets the count
	for range 3 {
		step(true, false)
		b.failure(false)
	}
	if b.state.Load() != circuitOpen || b.opens.Load() != 1 {
		t.Fatalf("state %d opens %d after 3 failures", b.state.Load(), b.opens.Load())
	}
	step(false, false)
	now = now.Add(time.Second)
	p := step(true, true) // the probe
	step(false, false)    // only one probe at a time
	b.failure(p)
	if b.state.Load() != circuitOpen {
		t.Fatal("failed probe did not reopen")
	}
	step(false, false)
	now = now.Add(time.Second)
	p = step(true, true)
	b.success(p)
	if b.state.Load() != circuitClosed {
		t.Fatal("good probe did not close")
	}
	step(true, false)

	off := newBreaker(0, time.Second)
	for range 100 {
		off.failure(false)
	}
	if ok, _ := off.allow(); !ok {
		t.Fatal("breaker with threshold 0 opened")
	}
}

func TestAppendString(t *testing.T) {
	for _, in := range []string{"plain", `quote " and \ back`, "ctl \x00\x1f\n", "utf8 é ✓", "bad \xff\xfe end"} {
		b := appendString(nil, []byte(in))
		var out string
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%q encoded as invalid JSON %s: %v", in, b, err)
		}
	}
}

func TestAppendMalformedIsJSON(t *testing.T) {
	r := &validate.Report{Violations: []validate.Violation{
		{Pointer: "/a~1b/0", Kind: validate.KindSchema, Rule: "required", Message: `missing "x"`, Line: 1, Column: 2},
		{Pointer: "/w", Kind: validate.KindRule, Rule: "web-token", Message: "warn", Line: 3, Column: 4, Severity: validate.SeverityWarning},
	}}
	for _, problem := range []bool{false, true} {
		b := appendMalformed(nil, r, problem, []byte(`/v2/orders/"1"`))
		var v struct {
			ErrorsCount int `json:"errorsCount"`
			Errors      []struct {
				Path string `json:"path"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("problem=%v: %s: %v", problem, b, err)
		}
		if v.ErrorsCount != 1 || len(v.Errors) != 1 || v.Errors[0].Path != "#/a~1b/0" {
			t.Fatalf("problem=%v: %s (warnings must not be listed)", problem, b)
		}
	}
}

func TestRouteMatchLoose(t *testing.T) {
	r, err := compileRoute("POST", "/v2/orders/{orderId}")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path string
		near         bool
	}{
		{"POST", "/v2/orders/1/", true},
		{"POST", "/v2/orders/1//", true},
		{"POST", "/V2/Orders/1", true},
		{"POST", "/v2/ORDERS/1", true},
		{"POST", "//v2/orders/1", true},
		{"POST", "/v2//orders/1", true},
		{"POST", "/v2/orders//1/", true},
		{"POST", "/v2/orders/1", true}, // the exact path is matched first; loose matching admits it too
		{"PUT", "/v2/orders/1/", false},
		{"post", "/v2/orders/1/", false},
		{"POST", "/v2/orders/", false},
		{"POST", "/v2/orders//", false},
		{"POST", "/v2/orders/1/2", false},
		{"POST", "/v3/orders/1/", false},
		{"POST", "/v2/orderz/1", false},
		{"POST", "/v2/./orders/1", false},
		{"POST", "", false},
		{"POST", "/", false},
	} {
		if got := r.matchLoose([]byte(tc.method), []byte(tc.path)); got != tc.near {
			t.Errorf("matchLoose(%s %q) = %v, want %v", tc.method, tc.path, got, tc.near)
		}
	}
}

func TestCompileAllowlist(t *testing.T) {
	good, err := compileAllowlist([]string{"GET /v2/orders/{id}/history", "POST /v2/x"})
	if err != nil || len(good) != 2 {
		t.Fatalf("compileAllowlist: %v %v", good, err)
	}
	if _, ok := good[0].route.match([]byte("GET"), []byte("/v2/orders/o1/history")); !ok {
		t.Error("an allowlisted route does not match its path")
	}
	for _, bad := range []string{"/v2/x", "GET", "GET v2/x", "get /v2/x", "TRACE /v2/x", "CONNECT /x", "OPTIONS *",
		"GET /v2/x?a=1", "GET /v2/a%2Fb", "GET /v2/x{id}"} {
		if _, err := compileAllowlist([]string{bad}); err == nil {
			t.Errorf("compileAllowlist(%q) accepted", bad)
		}
	}
}
