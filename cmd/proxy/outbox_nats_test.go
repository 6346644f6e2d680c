package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/orderguard/orderguard/internal/outbox"
	"github.com/orderguard/orderguard/internal/outbox/natsjs"
	"github.com/orderguard/orderguard/internal/outbox/natsjs/natstest"
)

// `orderguard outbox --file nats://…` works on the fleet's streams as on a
// file: stats, list, export, drop, retry; and it refuses a stream serve never made.
func TestOutboxCLIJetStream(t *testing.T) {
	ns := natstest.Start(t)
	s, err := natsjs.Open(ns.ClientURL(), natsjs.Options{Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	for _, id := range []string{"NCLI-1", "NCLI-2"} {
		n, _, err := s.Add(outbox.Request{Operation: "orderV2", OrderID: id, Method: "POST", Path: "/v2/orders/" + id, Body: []byte(`{"orderId":"` + id + `"}`)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, n)
	}
	s.Close()

	url := ns.ClientURL()
	if code, out, errs := runCLI(t, "stats", "--file", url); code != 0 || !strings.Contains(out, "2") {
		t.Errorf("stats: %d %s %s", code, out, errs)
	}
	var listed []outbox.Entry
	if code, out, errs := runCLI(t, "list", "--file", url, "--json"); code != 0 || json.Unmarshal([]byte(out), &listed) != nil || len(listed) != 2 || listed[0].OrderID != "NCLI-1" {
		t.Errorf("list: %d %s %s", code, out, errs)
	}
	if code, out, _ := runCLI(t, "export", "--file", url); code != 0 || !strings.Contains(out, `"body":{"orderId":"NCLI-2"}`) {
		t.Errorf("export: %d %s", code, out)
	}
	if code, _, errs := runCLI(t, "drop", "--file", url, strconv.FormatUint(ids[0], 10)); code != 0 {
		t.Errorf("drop: %d %s", code, errs)
	}
	if code, out, _ := runCLI(t, "list", "--file", url, "--json"); code != 0 || strings.Contains(out, "NCLI-1") {
		t.Errorf("after drop: %s", out)
	}
	// A pending entry retried: due now, as with a file.
	if code, out, errs := runCLI(t, "retry", "--file", url, strconv.FormatUint(ids[1], 10)); code != 0 || !strings.Contains(out, "due now") {
		t.Errorf("retry of a pending entry: %d %s %s", code, out, errs)
	}
	t.Setenv("ORDERGUARD_OUTBOX_STREAM", "NO_SUCH_STREAM")
	if code, _, errs := runCLI(t, "stats", "--file", url); code == 0 || !strings.Contains(errs, "NO_SUCH_STREAM") {
		t.Errorf("a stream serve never made: %d %s", code, errs)
	}
}
