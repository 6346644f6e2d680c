package sandbox

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// recorded maps each request in testdata/recorded to the exchange it was
// part of: method, path, and the answer Forter's sandbox gave ("" when the
// recorded answer was hand-edited and only its decision is known).
var recorded = map[string]struct {
	method, path, answer, action string
}{
	"order-request/workarea_01_get-decision_approve.json":                     {"POST", "/v2/orders/fortertest1234", "order-response/workarea_01_get-decision_approve.json", "approve"},
	"order-request/workarea_02_braintree-approved_approve.json":               {"POST", "/v2/orders/578D07B017", "order-response/workarea_02_braintree-approved_approve.json", "approve"},
	"order-request/workarea_03_braintree-declined_decline.json":               {"POST", "/v2/orders/0C5507DE07", "order-response/workarea_03_braintree-declined_decline.json", "decline"},
	"order-request/workarea_04_braintree-not-reviewed_not-reviewed.json":      {"POST", "/v2/orders/914188F6B5", "order-response/workarea_04_braintree-not-reviewed_not-reviewed.json", "not reviewed"},
	"order-request/workarea_05_update-status_api2-3.json":                     {"POST", "/v2/orders/statusfortertest12345", "order-response/workarea_05_update-status_approve.json", "approve"},
	"order-request/workarea_06_update-status_api2-2.json":                     {"POST", "/v2/orders/statusfortertest12345", "order-response/workarea_05_update-status_approve.json", "approve"},
	"order-request/workarea_07_update-status-2018_api2-2.json":                {"POST", "/v2/orders/statusfortertest12345", "order-response/workarea_05_update-status_approve.json", "approve"},
	"order-request/maisonette_01_pre-auth_full-sample-payload.json":           {"POST", "/v2/orders/M920354089", "", "approve"},
	"status-request/workarea_01_update-status_canceled-by-merchant.json":      {"PUT", "/v2/status/statusfortertest12345", "status-response/workarea_01_update-status_success.json", ""},
	"status-request/workarea_02_update-status-2018_canceled-by-merchant.json": {"PUT", "/v2/status/statusfortertest12345", "status-response/workarea_01_update-status_success.json", ""},
}

// Every recorded request, replayed against the sandbox, gets the answer
// Forter's sandbox gave (plus an empty recommendations array, which the
// recordings predate).
func TestRecordedExchanges(t *testing.T) {
	files, err := filepath.Glob("testdata/recorded/*-request/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded requests: %v", err)
	}
	r := start(t, Options{})
	c := client(t, r, false)
	for _, f := range files {
		name, _ := filepath.Rel("testdata/recorded", f)
		t.Run(name, func(t *testing.T) {
			ex, ok := recorded[filepath.ToSlash(name)]
			if !ok {
				t.Fatalf("no exchange listed for %s in recorded", name)
			}
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			code, got := mustDo(t, c, r, req{method: ex.method, path: ex.path, body: string(body)})
			if code != 200 {
				t.Fatalf("status %d: %v", code, got)
			}
			if recs, ok := got["recommendations"].([]any); ok && len(recs) == 0 {
				delete(got, "recommendations")
			}
			if ex.action != "" && got["action"] != ex.action {
				t.Errorf("action %v, recorded %q", got["action"], ex.action)
			}
			if ex.answer == "" {
				return
			}
			b, err := os.ReadFile(filepath.Join("testdata/recorded", ex.answer))
			if err != nil {
				t.Fatal(err)
			}
			var want map[string]any
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("answer\n got %v\nwant %v (recorded)", got, want)
			}
		})
	}
}
