package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoFile finds a path relative to the repository root.
func repoFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return p
}

func TestSpecIsValid(t *testing.T) {
	doc, err := Load(repoFile(t, "openapi/forter.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(doc); err != nil {
		t.Fatalf("spec does not validate:\n%s", strings.Join(ErrorLines(err), "\n"))
	}
	got := strings.Join(OperationIDs(doc), ",")
	if want := "orderV2,orderV3,statusPost,statusPut"; got != want {
		t.Errorf("operations: got %s, want %s", got, want)
	}
}

// realworldOperations maps each realworld folder to the operation and body it
// holds (see testdata/realworld/README.md). The order bodies were all sent to
// /v2/orders; the v3 request body is the same schema, checked with orderV3 too.
var realworldOperations = []struct {
	dir  string
	op   string
	body Body
}{
	{"order-request", "orderV2", Request},
	{"order-request", "orderV3", Request},
	{"order-response", "orderV2", Response},
	{"status-request", "statusPost", Request},
	{"status-request", "statusPut", Request},
	{"status-response", "statusPut", Response},
	{"error-response", "orderV2", Error},
}

func TestRealworldBodiesMatchTheSpec(t *testing.T) {
	doc, err := Load(repoFile(t, "openapi/forter.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, rw := range realworldOperations {
		schema, err := Schema(doc, rw.op, rw.body)
		if err != nil {
			t.Fatal(err)
		}
		files, err := filepath.Glob(filepath.Join(repoFile(t, "testdata/realworld"), rw.dir, "*.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no bodies (%v)", rw.dir, err)
		}
		for _, f := range files {
			total++
			t.Run(rw.op+"/"+filepath.Base(f), func(t *testing.T) {
				body, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if err := CheckJSON(schema, body, rw.body != Request); err != nil {
					t.Errorf("Forter accepted or sent this body, the spec rejects it:\n%s", strings.Join(ErrorLines(err), "\n"))
				}
			})
		}
	}
	if total < 20 {
		t.Errorf("checked %d bodies; the corpus has more", total)
	}
}

// The same schema must reject what it should: a guard against a spec so open
// that the compatibility test above proves nothing.
func TestSpecRejectsBrokenBodies(t *testing.T) {
	doc, err := Load(repoFile(t, "openapi/forter.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	schema, err := Schema(doc, "orderV2", Request)
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile(filepath.Join(repoFile(t, "testdata/realworld"), "order-request", "workarea_01_get-decision_approve.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, from, to string }{
		{"unknown orderType", `"orderType": "WEB"`, `"orderType": "INVALID_TYPE"`},
		{"amount as a number", `"amountUSD": "11.00"`, `"amountUSD": 11.00`},
		{"misspelt money field", `"amountUSD": "11.00"`, `"amountUsd": "11.00"`},
		{"lower-case currency", `"amountUSD": "11.00"`, `"amountUSD": "11.00", "currency": "usd"`},
		{"three-digit last four", `"lastFourDigits": "1111"`, `"lastFourDigits": "111"`},
		{"month 13", `"expirationMonth": "01"`, `"expirationMonth": "13"`},
		{"not an IP", `"customerIP": "127.0.0.1"`, `"customerIP": "localhost"`},
		{"not an email", `"email": "approve@forter.com"`, `"email": "approve"`},
		{"timeSentToForter as a string", `"timeSentToForter": 1547750772000`, `"timeSentToForter": "1547750772000"`},
		{"no orderId", `"orderId": "fortertest1234",`, ``},
		{"empty cart", `"cartItems": [`, `"cartItems": [], "x": [`},
	}
	if err := CheckJSON(schema, base, false); err != nil {
		t.Fatalf("base body must be valid: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.Replace(string(base), tc.from, tc.to, 1)
			if body == string(base) {
				t.Fatalf("mutation %q not applied", tc.from)
			}
			if err := CheckJSON(schema, []byte(body), false); err == nil {
				t.Errorf("the spec accepts a body with %s", tc.name)
			}
		})
	}
}
