package validate

import (
	"encoding/json"
	"testing"
)

func TestViolationString(t *testing.T) {
	v := Violation{Pointer: "/payment/0/creditCard/bin", Kind: KindSchema, Rule: "pattern", Message: "must match the pattern ^[0-9]{6,8}$", Line: 3, Column: 17}
	if got, want := v.String(), "3:17 /payment/0/creditCard/bin pattern: must match the pattern ^[0-9]{6,8}$ (schema, error)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestAppendForterErrors(t *testing.T) {
	r := Report{Violations: []Violation{
		{Pointer: "/orderType", Kind: KindSchema, Rule: "required", Message: `missing required member "orderType"`},
		{Pointer: "/totalAmount/amountUSD", Kind: KindRule, Rule: "payment-total", Message: "sum\n", Severity: SeverityWarning},
		{Pointer: "/a\x01", Kind: KindSyntax, Rule: "syntax", Message: "bad \xff byte"},
	}}
	b := AppendForterErrors(nil, &r)
	var got struct {
		Status      string `json:"status"`
		Message     string `json:"message"`
		ErrorsCount int    `json:"errorsCount"`
		Errors      []struct{ Message, Path string }
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	if got.Status != "failed" || got.Message != "Malformed request" || got.ErrorsCount != 2 || len(got.Errors) != 2 {
		t.Fatalf("got %+v", got)
	}
	if got.Errors[0].Path != "#/orderType" || got.Errors[0].Message != `missing required member "orderType"` || got.Errors[1].Path != "#/a\x01" {
		t.Errorf("got %+v", got.Errors)
	}
}
