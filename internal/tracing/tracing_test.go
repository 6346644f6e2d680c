package tracing_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/internal/tracing"
	"github.com/orderguard/orderguard/internal/tracing/otlptest"
	"github.com/orderguard/orderguard/internal/validate"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// Which endpoint and protocol win, and what switches tracing off.
func TestNewSettings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		s       tracing.Settings
		want    string // Tracer.String(); "off" for nil
		wantErr string
	}{
		{"nothing set: off", tracing.Settings{Getenv: env()}, "off", ""},
		{"flag", tracing.Settings{Endpoint: "http://127.0.0.1:4318", Getenv: env()}, "http/protobuf http://127.0.0.1:4318/v1/traces (from --otlp-endpoint)", ""},
		{"flag beats both variables", tracing.Settings{Endpoint: "http://127.0.0.1:1", Getenv: env(tracing.EnvTracesEndpoint, "http://127.0.0.1:2/x", tracing.EnvEndpoint, "http://127.0.0.1:3")},
			"http/protobuf http://127.0.0.1:1/v1/traces (from --otlp-endpoint)", ""},
		{"traces variable beats the generic one, path kept", tracing.Settings{Getenv: env(tracing.EnvTracesEndpoint, "http://127.0.0.1:2/custom", tracing.EnvEndpoint, "http://127.0.0.1:3")},
			"http/protobuf http://127.0.0.1:2/custom (from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)", ""},
		{"generic variable gets /v1/traces", tracing.Settings{Getenv: env(tracing.EnvEndpoint, "http://127.0.0.1:3")},
			"http/protobuf http://127.0.0.1:3/v1/traces (from OTEL_EXPORTER_OTLP_ENDPOINT)", ""},
		{"grpc", tracing.Settings{Getenv: env(tracing.EnvEndpoint, "http://127.0.0.1:4317", tracing.EnvProtocol, "grpc")},
			"grpc http://127.0.0.1:4317 (from OTEL_EXPORTER_OTLP_ENDPOINT)", ""},
		{"traces protocol beats the generic one", tracing.Settings{Getenv: env(tracing.EnvEndpoint, "http://127.0.0.1:4317", tracing.EnvProtocol, "http/protobuf", tracing.EnvTracesProtocol, "grpc")},
			"grpc http://127.0.0.1:4317 (from OTEL_EXPORTER_OTLP_ENDPOINT)", ""},
		{"credentials in the URL are not printed", tracing.Settings{Endpoint: "https://user:pw@127.0.0.1:4318", Getenv: env()},
			"http/protobuf https://127.0.0.1:4318/v1/traces (from --otlp-endpoint)", ""},
		{"SDK disabled", tracing.Settings{Endpoint: "http://127.0.0.1:4318", Getenv: env(tracing.EnvSDKDisabled, "true")}, "off", ""},
		{"http/json is not supported", tracing.Settings{Endpoint: "http://127.0.0.1:4318", Getenv: env(tracing.EnvProtocol, "http/json")}, "", `OTLP protocol "http/json": want http/protobuf or grpc`},
		{"not a URL", tracing.Settings{Endpoint: "127.0.0.1:4318", Getenv: env()}, "", `--otlp-endpoint "127.0.0.1:4318": want an http:// or https:// URL`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := tracing.New(context.Background(), tc.s)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Shutdown(context.Background())
			if got := tr.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

// Tracing off: every call is a no-op, and nothing touches the headers.
func TestOff(t *testing.T) {
	var tr *tracing.Tracer
	var req fasthttp.Request
	req.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	r := tr.Start(&req.Header, "/x", "op", "enforce", time.Now())
	r.Validation(time.Now(), &validate.Report{})
	r.Attempt(&req, 0).End(200, nil)
	e, tp := r.Enqueue("timeout")
	e.End(nil)
	tr.Resend(&req, "op", 1, tp).End(200, nil)
	r.End("forwarded", 200)
	if tp != "" || string(req.Header.Peek("traceparent")) != "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" {
		t.Errorf("tracing off changed something: enqueue traceparent %q, header %q", tp, req.Header.Peek("traceparent"))
	}
	if err := tr.Flush(context.Background()); err != nil {
		t.Error(err)
	}
}

const callerParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

// One request's spans, exported over OTLP/HTTP to a real receiver.
func TestSpansExported(t *testing.T) {
	t.Setenv("OTEL_SERVICE_NAME", "checkout-sidecar")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")
	rcv, tr := otlptest.StartTracer(t)

	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.Header.Set("traceparent", callerParent)
	req.Header.Set("tracestate", "vendor=x")
	start := time.Now()
	r := tr.Start(&req.Header, "/v2/orders/{orderId}", "orderV2", "enforce", start)
	rep := &validate.Report{}
	rep.Violations = append(rep.Violations, validate.Violation{Rule: "required", Pointer: "/a"}, validate.Violation{Rule: "required", Pointer: "/b"},
		validate.Violation{Rule: "web-token", Severity: validate.SeverityWarning})
	r.Validation(start, rep)
	a := r.Attempt(&req, 0)
	first := string(req.Header.Peek("traceparent"))
	a.End(503, nil)
	a = r.Attempt(&req, 1)
	second := string(req.Header.Peek("traceparent"))
	a.End(0, fasthttp.ErrTimeout)
	e, kept := r.Enqueue("timeout")
	e.End(errors.New("disk full"))
	r.End("fallback", 200)
	var resend fasthttp.Request
	resend.Header.SetMethod("POST")
	tr.Resend(&resend, "orderV2", 1, kept).End(200, nil)
	resent := string(resend.Header.Peek("traceparent"))
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := rcv.Wait(6, 5*time.Second)
	if len(spans) != 6 {
		t.Fatalf("%d spans exported, want 6: %+v", len(spans), spans)
	}
	byName := map[string][]otlptest.Span{}
	for _, s := range spans {
		byName[s.Name] = append(byName[s.Name], s)
		if s.Resource["service.name"] != "checkout-sidecar" || s.Resource["service.version"] != "v0.0.0-test" || s.Resource["deployment.environment.name"] != "test" {
			t.Errorf("span %s: resource %v", s.Name, s.Resource)
		}
	}
	srv := byName["POST /v2/orders/{orderId}"]
	if len(srv) != 1 {
		t.Fatalf("server spans %+v", byName)
	}
	s := srv[0]
	if s.TraceID != "0af7651916cd43dd8448eb211c80319c" || s.ParentID != "b7ad6b7169203331" || s.Kind != "SPAN_KIND_SERVER" {
		t.Errorf("server span does not continue the caller's traceparent: %+v", s)
	}
	for k, v := range map[string]string{"orderguard.operation": "orderV2", "orderguard.mode": "enforce", "orderguard.outcome": "fallback",
		"http.response.status_code": "200", "http.route": "/v2/orders/{orderId}", "http.request.method": "POST"} {
		if s.Attrs[k] != v {
			t.Errorf("server span %s = %q, want %q", k, s.Attrs[k], v)
		}
	}
	child := func(name string, n int) []otlptest.Span {
		got := byName[name]
		if len(got) != n {
			t.Fatalf("%d %q spans, want %d", len(got), name, n)
		}
		for _, c := range got {
			if c.TraceID != s.TraceID || c.ParentID != s.SpanID {
				t.Errorf("%s is not a child of the server span: %+v", name, c)
			}
		}
		return got
	}
	v := child("validate", 1)[0]
	if v.Attrs["orderguard.validation.errors"] != "2" || v.Attrs["orderguard.validation.warnings"] != "1" || v.Attrs["orderguard.validation.rules"] != "required,web-token" {
		t.Errorf("validate span attributes %v", v.Attrs)
	}
	attempts := child("POST", 2)
	if attempts[0].Kind != "SPAN_KIND_CLIENT" || attempts[0].Attrs["orderguard.attempt"] != "1" || attempts[1].Attrs["orderguard.attempt"] != "2" ||
		attempts[0].Attrs["error.type"] != "503" || attempts[1].Attrs["error.type"] != "timeout" || attempts[1].StatusCode != "STATUS_CODE_ERROR" {
		t.Errorf("attempt spans %+v", attempts)
	}
	for i, tp := range []string{first, second} {
		if want := "00-" + s.TraceID + "-" + attempts[i].SpanID + "-01"; tp != want {
			t.Errorf("attempt %d forwarded traceparent %q, want its client span's %q", i+1, tp, want)
		}
	}
	if got := string(req.Header.Peek("tracestate")); got != "vendor=x" {
		t.Errorf("tracestate forwarded %q, want the caller's", got)
	}
	enq := child("outbox enqueue", 1)[0]
	if enq.Attrs["orderguard.fallback.reason"] != "timeout" || enq.StatusCode != "STATUS_CODE_ERROR" {
		t.Errorf("enqueue span %+v", enq)
	}
	if kept != "00-"+s.TraceID+"-"+enq.SpanID+"-01" {
		t.Errorf("kept traceparent %q is not the enqueue span's", kept)
	}
	rs := byName["outbox resend orderV2"]
	if len(rs) != 1 || rs[0].TraceID == s.TraceID || rs[0].ParentID != "" || len(rs[0].Links) != 1 ||
		rs[0].Links[0] != (otlptest.Link{TraceID: s.TraceID, SpanID: enq.SpanID}) || rs[0].Kind != "SPAN_KIND_CLIENT" {
		t.Fatalf("resend span: %+v, want a new root linked to the enqueue span %s", rs, enq.SpanID)
	}
	if resent != "00-"+rs[0].TraceID+"-"+rs[0].SpanID+"-01" {
		t.Errorf("resend carried traceparent %q", resent)
	}
}

// OTEL_TRACES_SAMPLER=traceidratio with _ARG 0: nothing is exported, and
// the traceparent forwarded says not sampled.
func TestSamplerFromEnv(t *testing.T) {
	t.Setenv("OTEL_TRACES_SAMPLER", "traceidratio")
	t.Setenv("OTEL_TRACES_SAMPLER_ARG", "0")
	rcv, tr := otlptest.StartTracer(t)
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	r := tr.Start(&req.Header, "/v2/orders/{orderId}", "orderV2", "enforce", time.Now())
	r.Attempt(&req, 0).End(200, nil)
	r.End("forwarded", 200)
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if tp := string(req.Header.Peek("traceparent")); !strings.HasSuffix(tp, "-00") || len(tp) != 55 {
		t.Errorf("forwarded traceparent %q, want a valid one flagged not sampled", tp)
	}
	if s := rcv.Wait(1, 300*time.Millisecond); len(s) != 0 {
		t.Errorf("sampler ratio 0 exported %d spans", len(s))
	}
}
