// Package otlptest is a real OTLP/HTTP trace receiver for tests: a server on
// 127.0.0.1 that decodes the protobuf export requests the SDK's exporter
// sends (go.opentelemetry.io/proto/otlp) and keeps the spans, so that tests
// check what a collector would get, not what an in-memory exporter holds.
package otlptest

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"

	"github.com/orderguard/orderguard/internal/tracing"
)

// Span is one exported span, flattened for assertions. IDs are hex.
type Span struct {
	TraceID, SpanID, ParentID string
	Name                      string
	Kind                      string // SPAN_KIND_SERVER, ...
	Attrs                     map[string]string
	Resource                  map[string]string
	Links                     []Link
	StatusCode                string // STATUS_CODE_UNSET, _OK, _ERROR
	StatusMessage             string
	Start, End                time.Time
}

// Link is a span link.
type Link struct{ TraceID, SpanID string }

// Receiver is the server. URL is its base (http://127.0.0.1:port).
type Receiver struct {
	URL  string
	srv  *http.Server
	mu   sync.Mutex
	sent []Span
	raw  [][]byte // every request body, for leak scans
}

// maxBody bounds one export request.
const maxBody = 16 << 20

// Start listens on 127.0.0.1 and serves /v1/traces until Close.
func Start() (*Receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Receiver{URL: "http://" + ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", r.export)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

// Close stops the server.
func (r *Receiver) Close() error { return r.srv.Close() }

func (r *Receiver) export(w http.ResponseWriter, req *http.Request) {
	var body io.Reader = http.MaxBytesReader(w, req.Body, maxBody)
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = io.LimitReader(zr, maxBody)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		http.Error(w, "content-type "+ct+": want application/x-protobuf", http.StatusUnsupportedMediaType)
		return
	}
	var ex collectortrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(data, &ex); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var got []Span
	for _, rs := range ex.ResourceSpans {
		res := attrs(rs.GetResource().GetAttributes())
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				sp := Span{
					TraceID: hex.EncodeToString(s.TraceId), SpanID: hex.EncodeToString(s.SpanId),
					ParentID: hex.EncodeToString(s.ParentSpanId), Name: s.Name, Kind: s.Kind.String(),
					Attrs: attrs(s.Attributes), Resource: res,
					StatusCode: s.GetStatus().GetCode().String(), StatusMessage: s.GetStatus().GetMessage(),
					Start: time.Unix(0, int64(s.StartTimeUnixNano)), End: time.Unix(0, int64(s.EndTimeUnixNano)),
				}
				for _, l := range s.Links {
					sp.Links = append(sp.Links, Link{hex.EncodeToString(l.TraceId), hex.EncodeToString(l.SpanId)})
				}
				got = append(got, sp)
			}
		}
	}
	r.mu.Lock()
	r.sent = append(r.sent, got...)
	r.raw = append(r.raw, data)
	r.mu.Unlock()
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

// attrs flattens attributes to strings: arrays as their values joined by ",".
func attrs(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = value(kv.Value)
	}
	return m
}

func value(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return fmt.Sprint(x.IntValue)
	case *commonpb.AnyValue_BoolValue:
		return fmt.Sprint(x.BoolValue)
	case *commonpb.AnyValue_DoubleValue:
		return fmt.Sprint(x.DoubleValue)
	case *commonpb.AnyValue_ArrayValue:
		var parts []string
		for _, e := range x.ArrayValue.Values {
			parts = append(parts, value(e))
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}

// Spans returns what arrived so far, sorted by start time.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	out := append([]Span(nil), r.sent...)
	r.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// Raw returns every export request body as received (protobuf bytes), for
// scanning for leaked values.
func (r *Receiver) Raw() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.raw...)
}

// Wait returns the spans once at least n arrived, or what arrived by the
// timeout.
func (r *Receiver) Wait(n int, timeout time.Duration) []Span {
	deadline := time.Now().Add(timeout)
	for {
		s := r.Spans()
		if len(s) >= n || time.Now().After(deadline) {
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// StartTracer starts a Receiver and a tracing.Tracer exporting to it, both
// stopped when the test ends. The OTEL_* variables of the process (set with
// t.Setenv) still apply to the SDK (the sampler, the resource); the endpoint
// and protocol are the receiver's.
func StartTracer(tb testing.TB) (*Receiver, *tracing.Tracer) {
	tb.Helper()
	r, err := Start()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	tr, err := tracing.New(context.Background(), tracing.Settings{Endpoint: r.URL, ServiceVersion: "v0.0.0-test",
		Getenv: func(string) string { return "" }})
	if err != nil {
		tb.Fatal(err)
	}
	// Before the receiver closes (cleanups run last-in first-out).
	tb.Cleanup(func() { tr.Shutdown(context.Background()) })
	return r, tr
}
