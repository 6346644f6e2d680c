package main_test

// Validator micro-benchmarks: the generated validator beside kin-openapi (the
// way a Go team would use it: a router and openapi3filter.ValidateRequest,
// formats on, all errors), the fastjson parse floor, and encoding/json into
// the oapi-codegen type, on one realistic valid order and one invalid order
// with six faults; and the validator beside the parse on the proxy
// benchmark's payload mix, warm and with cold caches.
// Run: go test -run '^$' -bench . -benchmem ./bench/

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/valyala/fastjson"

	"github.com/orderguard/orderguard/bench/load"
	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/validate"
)

func readBody(b testing.TB, name string) []byte {
	b.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func kinRouter(b testing.TB) routers.Router {
	b.Helper()
	openapi3.DefineStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail))
	openapi3.DefineIPv4Format()
	openapi3.DefineIPv6Format()
	doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join("..", "openapi", "forter.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	doc.Servers = nil // route on the path alone
	router, err := legacy.NewRouter(doc)
	if err != nil {
		b.Fatal(err)
	}
	return router
}

func kinValidate(router routers.Router, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, "/v2/orders/ord-1", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("api-version", "2.36")
	route, params, err := router.FindRoute(req)
	if err != nil {
		return err
	}
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{
			MultiError:              true,
			AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.EnableFormatValidation()},
		},
	})
}

func benchValidate(b *testing.B, file string, wantValid bool) {
	body := readBody(b, file)
	op, ok := gen.OperationByID("orderV2")
	if !ok {
		b.Fatal("gen has no orderV2")
	}
	var r validate.Report
	op.Request(body, &r)
	if r.Valid() != wantValid {
		b.Fatalf("generated: valid=%v on %s, want %v: %+v", r.Valid(), file, wantValid, r.Violations)
	}
	router := kinRouter(b)
	if err := kinValidate(router, body); (err == nil) != wantValid {
		b.Fatalf("kin-openapi: %v on %s, want valid=%v", err, file, wantValid)
	}

	b.Run("generated", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			r.Reset()
			op.Request(body, &r)
		}
	})
	b.Run("kin-openapi", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			_ = kinValidate(router, body)
		}
	})
	b.Run("fastjson-parse", func(b *testing.B) {
		var p fastjson.Parser
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			_, _ = p.ParseBytes(body)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var o gen.OrderRequest
			_ = json.Unmarshal(body, &o)
		}
	})
}

// BenchmarkValidateOrder runs on bench/testdata/validate-order-valid.json, a
// 3.2 KB order built from Forter's documentation example (commercetools docs):
// a credit card and a PayPal split payment, two cart items.
func BenchmarkValidateOrder(b *testing.B) { benchValidate(b, "validate-order-valid.json", true) }

// BenchmarkValidateOrderInvalid runs on the same order with six faults: no
// orderType, a lower-case currency, a bad lastFourDigits, an unknown member
// in a closed Money object, an impossible customerIP and an enum miss.
func BenchmarkValidateOrderInvalid(b *testing.B) {
	benchValidate(b, "validate-order-invalid.json", false)
}

// TestBenchBodies keeps the benchmark bodies honest: the valid one is valid
// for both validators, the invalid one has exactly its six faults, and the
// generated validator allocates nothing on the valid one.
func TestBenchBodies(t *testing.T) {
	op, _ := gen.OperationByID("orderV2")
	var r validate.Report
	op.Request(readBody(t, "validate-order-valid.json"), &r)
	if !r.Valid() {
		t.Fatalf("valid order: %+v", r.Violations)
	}
	r.Reset()
	op.Request(readBody(t, "validate-order-invalid.json"), &r)
	want := []string{"/orderType required", "/connectionInformation/customerIP anyOf", "/connectionInformation/customerIP format",
		"/totalAmount/currency pattern", "/cartItems/1/basicItemData/type enum", "/payment/0/amount/amountUsd additionalProperties",
		"/payment/0/creditCard/lastFourDigits pattern"}
	var got []string
	for _, v := range r.Violations {
		got = append(got, v.Pointer+" "+v.Rule)
	}
	if len(got) != len(want) {
		t.Fatalf("invalid order: got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("violation %d: got %q, want %q", i, got[i], want[i])
		}
	}
	body := readBody(t, "validate-order-valid.json")
	if n := testing.AllocsPerRun(50, func() { r.Reset(); op.Request(body, &r) }); n != 0 {
		t.Errorf("generated validator: %v allocs on the valid order, want 0", n)
	}
}

// BenchmarkValidateLoadMix validates the proxy benchmark's payloads
// (bench/testdata/load: 1.4–16.9 KB, mean 3.8 KB) in turn, each against its
// operation: the validator's cost on the traffic `make bench` sends, beside
// the fastjson parse floor on the same bytes.
func BenchmarkValidateLoadMix(b *testing.B) {
	reqs, _, err := load.ReadDir(filepath.Join("testdata", "load"), 1)
	if err != nil {
		b.Fatal(err)
	}
	type payload struct {
		body []byte
		op   validate.Operation
	}
	var mix []payload
	var total int64
	for _, r := range reqs {
		mix = append(mix, payload{r.Body, operationOf(b, r)})
		total += int64(len(r.Body))
	}
	mean := total / int64(len(mix))
	var r validate.Report
	var p fastjson.Parser
	b.Run("generated", func(b *testing.B) {
		benchWarm(b, mean, len(mix), func(i int) { r.Reset(); mix[i].op.Request(mix[i].body, &r) })
	})
	b.Run("fastjson-parse", func(b *testing.B) {
		benchWarm(b, mean, len(mix), func(i int) { _, _ = p.ParseBytes(mix[i].body) })
	})
	// The -cold runs clear the caches between bodies (8 MiB written outside
	// the timer), as in the proxy, where the load generator and the sandbox
	// run between two requests: the closer figures to the cost in a running
	// process (--admin-pprof shows that one).
	b.Run("generated-cold", func(b *testing.B) {
		benchCold(b, mean, len(mix), func(i int) { r.Reset(); mix[i].op.Request(mix[i].body, &r) })
	})
	b.Run("fastjson-parse-cold", func(b *testing.B) {
		benchCold(b, mean, len(mix), func(i int) { _, _ = p.ParseBytes(mix[i].body) })
	})
}

// benchWarm runs body(i) for i over n payloads in turn.
func benchWarm(b *testing.B, bytes int64, n int, body func(i int)) {
	b.ReportAllocs()
	b.SetBytes(bytes)
	i := 0
	for b.Loop() {
		body(i % n)
		i++
	}
}

// benchCold runs body(i) for i over n payloads in turn, writing 8 MiB
// between two calls with the timer stopped.
func benchCold(b *testing.B, bytes int64, n int, body func(i int)) {
	junk := make([]byte, 8<<20)
	b.SetBytes(bytes)
	i := 0
	for b.Loop() {
		b.StopTimer()
		for j := 0; j < len(junk); j += 64 {
			junk[j]++
		}
		b.StartTimer()
		body(i % n)
		i++
	}
}

// operationOf is the operation the proxy would match a load request to.
func operationOf(b *testing.B, r load.Request) validate.Operation {
	for _, op := range gen.Operations {
		prefix, templated := op.Path, false
		if i := strings.IndexByte(op.Path, '{'); i >= 0 {
			prefix, templated = op.Path[:i], true
		}
		// /v2/claims has no path parameter: only the path itself matches.
		if op.Method == r.Method && (templated && strings.HasPrefix(r.Path, prefix) || r.Path == prefix) {
			return op
		}
	}
	b.Fatalf("no operation for %s %s", r.Method, r.Path)
	return validate.Operation{}
}
