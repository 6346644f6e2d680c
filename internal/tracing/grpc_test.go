package tracing_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"

	"github.com/orderguard/orderguard/internal/tracing"
)

// grpcReceiver is an OTLP/gRPC trace service on 127.0.0.1 that passes the
// span names it gets to a channel.
type grpcReceiver struct {
	collectortrace.UnimplementedTraceServiceServer
	names chan string
}

func (g *grpcReceiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				g.names <- s.Name
			}
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// OTEL_EXPORTER_OTLP_PROTOCOL=grpc sends the spans over gRPC (plaintext for
// an http:// endpoint).
func TestGRPCExport(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	rcv := &grpcReceiver{names: make(chan string, 16)}
	collectortrace.RegisterTraceServiceServer(srv, rcv)
	go srv.Serve(ln)
	defer srv.Stop()
	tr, err := tracing.New(context.Background(), tracing.Settings{Getenv: env(
		tracing.EnvEndpoint, "http://"+ln.Addr().String(), tracing.EnvProtocol, "grpc")})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
	var req fasthttp.Request
	req.Header.SetMethod("PUT")
	tr.Start(&req.Header, "/v2/status/{orderId}", "statusPut", "report", time.Now()).End("forwarded", 202)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case name := <-rcv.names:
		if name != "PUT /v2/status/{orderId}" {
			t.Errorf("span %q over gRPC", name)
		}
	case <-ctx.Done():
		t.Fatal("no span over gRPC")
	}
}
