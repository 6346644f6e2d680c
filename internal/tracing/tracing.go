// Package tracing is orderguard's OpenTelemetry tracing: the setup from
// --otlp-endpoint and the standard OTEL_* variables, and the spans of the
// request path, which internal/proxy opens through a handful of calls.
//
// Off (no endpoint anywhere) the Tracer is nil and every method is a nil
// check: no context, no span, no header read or written. On, a request gets a
// server span continuing the caller's W3C traceparent, a child span for its
// validation, a client span per upstream attempt (whose context is the
// traceparent Forter receives) and a span for the outbox enqueue; a resend
// from the outbox is a new trace linked to that enqueue span.
//
// Attributes are names and numbers only: operation ids, modes, outcomes,
// status codes, counts and rule ids. Never a header value, a body, a path
// (it holds the order id) or a credential.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Settings say where spans go. Endpoint is --otlp-endpoint; Getenv nil means
// os.Getenv (the OTEL_* variables; the SDK and its exporters also read
// OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION, _INSECURE, _CERTIFICATE,
// OTEL_BSP_* and OTEL_TRACES_SAMPLER(_ARG) from the process environment).
type Settings struct {
	Endpoint       string
	ServiceVersion string // service.version of the resource
	Getenv         func(string) string
}

// Tracer makes orderguard's spans. Nil is tracing off.
type Tracer struct {
	tp   *sdktrace.TracerProvider
	t    trace.Tracer
	prop propagation.TraceContext
	desc string
}

// Where tracing is switched on, in order of precedence.
const (
	EnvEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	EnvProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	EnvTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	EnvSDKDisabled    = "OTEL_SDK_DISABLED"
)

// New returns the Tracer the settings ask for, or nil (and no error) when no
// endpoint is set or OTEL_SDK_DISABLED=true. The endpoint is --otlp-endpoint,
// else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is), else
// OTEL_EXPORTER_OTLP_ENDPOINT; for http/protobuf a base URL without a path
// gets /v1/traces. The protocol is OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else
// OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf; grpc is the other one.
func New(ctx context.Context, s Settings) (*Tracer, error) {
	getenv := s.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if strings.EqualFold(strings.TrimSpace(getenv(EnvSDKDisabled)), "true") {
		return nil, nil
	}
	endpoint, from := s.Endpoint, "--otlp-endpoint"
	if endpoint == "" {
		endpoint, from = getenv(EnvTracesEndpoint), EnvTracesEndpoint
	}
	if endpoint == "" {
		endpoint, from = getenv(EnvEndpoint), EnvEndpoint
	}
	if endpoint == "" {
		return nil, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s %q: want an http:// or https:// URL", from, endpoint)
	}
	protocol := getenv(EnvTracesProtocol)
	if protocol == "" {
		protocol = getenv(EnvProtocol)
	}
	var exp sdktrace.SpanExporter
	switch protocol {
	case "", "http/protobuf":
		protocol = "http/protobuf"
		if from != EnvTracesEndpoint && (u.Path == "" || u.Path == "/") {
			u.Path = "/v1/traces"
		}
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(u.String()))
	case "grpc":
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(u.String()))
	default:
		return nil, fmt.Errorf("OTLP protocol %q: want http/protobuf or grpc", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	version := s.ServiceVersion
	if version == "" {
		version = "unknown"
	}
	// Later options win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	// override the defaults.
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "orderguard"), attribute.String("service.version", version)),
		resource.WithTelemetrySDK(), resource.WithFromEnv())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	// No WithSampler: the SDK reads OTEL_TRACES_SAMPLER and _ARG itself
	// (parentbased_always_on when unset).
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	u.User = nil
	return &Tracer{tp: tp, t: tp.Tracer("github.com/orderguard/orderguard"),
		desc: protocol + " " + u.Redacted() + " (from " + from + ")"}, nil
}

// String says where spans go, for the startup log line ("off" when nil).
func (t *Tracer) String() string {
	if t == nil {
		return "off"
	}
	return t.desc
}

// Flush exports the spans ended so far.
func (t *Tracer) Flush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.ForceFlush(ctx)
}

// Shutdown flushes and stops the exporter.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.Shutdown(ctx)
}
