package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orderguard/orderguard/internal/tracing/otlptest"
)

// The "done when": with a collector named by
// OTEL_EXPORTER_OTLP_ENDPOINT, one checkout request through `orderguard
// serve` to the (embedded) sandbox is one trace under the caller's trace id,
// with the server, validation and upstream spans.
func TestServeTraces(t *testing.T) {
	rcv, err := otlptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	dir := t.TempDir()
	sp := startServe(t, dir, "--listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --outbox "+filepath.Join(dir, "outbox.db"),
		"OTEL_EXPORTER_OTLP_ENDPOINT="+rcv.URL, "OTEL_SERVICE_NAME=checkout-orderguard", "OTEL_BSP_SCHEDULE_DELAY=50")
	serving := sp.serving(t)
	order, err := os.ReadFile("../../internal/proxy/testdata/corpus/order-workarea_01_get-decision_approve.json")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", "http://"+serving.Listen+"/v2/orders/traced1", strings.NewReader(string(order)))
	req.Header.Set("api-version", "2.3")
	req.Header.Set("traceparent", "00-11112222333344445555666677778888-1111222233334444-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("order: %d", resp.StatusCode)
	}
	spans := rcv.Wait(3, 10*time.Second)
	names := map[string]otlptest.Span{}
	for _, s := range spans {
		if s.TraceID != "11112222333344445555666677778888" {
			t.Errorf("span %q in trace %s, not the caller's", s.Name, s.TraceID)
		}
		if s.Resource["service.name"] != "checkout-orderguard" || s.Resource["service.version"] != build().Version {
			t.Errorf("span %q: resource %v", s.Name, s.Resource)
		}
		names[s.Name] = s
	}
	server, validate, upstream := names["POST /v2/orders/{orderId}"], names["validate"], names["POST"]
	if server.ParentID != "1111222233334444" || validate.ParentID != server.SpanID || upstream.ParentID != server.SpanID ||
		upstream.Attrs["http.response.status_code"] != "200" {
		t.Fatalf("spans %+v", spans)
	}
	if err := sp.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range sp.lines {
	}
	if err := <-sp.exited; err != nil {
		t.Fatalf("serve after SIGTERM: %v", err)
	}
	sp.exited <- nil
}
