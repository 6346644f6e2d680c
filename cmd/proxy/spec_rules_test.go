package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// spec rules lists duplicate-key beside the business rules, every rule with
// the reason for its default; the defaults block only what a source says
// Forter refuses.
func TestSpecRulesDefaults(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"spec", "rules", "--format", "json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rules []struct{ ID, Severity, Reason string }
	if err := json.Unmarshal(out.Bytes(), &rules); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"duplicate-key": "warning", "web-token": "warning", "payment-one-method": "warning",
		"billing-details": "warning", "paypal-fields": "warning", "no-full-card-number": "warning",
		"connection-information": "error",
	}
	for _, r := range rules {
		if r.Reason == "" {
			t.Errorf("%s: no reason for its default", r.ID)
		}
		if w, ok := want[r.ID]; ok && r.Severity != w {
			t.Errorf("%s: default %s, want %s", r.ID, r.Severity, w)
		}
		delete(want, r.ID)
	}
	if len(want) > 0 {
		t.Errorf("not listed: %v", want)
	}
	out.Reset()
	if code := run([]string{"spec", "rules"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "WHY THIS DEFAULT") {
		t.Errorf("text: exit %d, no reason column:\n%s", code, out.String())
	}
}
