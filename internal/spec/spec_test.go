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
	if want := "accountAuthenticationResult,accountLogin,accountLogout,accountProfileAccess,accountResetPassword,accountSignup,accountUpdate,claim,orderV2,orderV3,statusPost,statusPut"; got != want {
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

// TestRealworldAccountBodiesMatchTheSpec checks the Accounts and Claims
// corpus: each folder of testdata/realworld-accounts is named after the
// operation whose request bodies it holds.
func TestRealworldAccountBodiesMatchTheSpec(t *testing.T) {
	doc, err := Load(repoFile(t, "openapi/forter.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := os.ReadDir(repoFile(t, "testdata/realworld-accounts"))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		schema, err := Schema(doc, d.Name(), Request)
		if err != nil {
			t.Fatalf("folder %s: %v", d.Name(), err)
		}
		files, _ := filepath.Glob(filepath.Join(repoFile(t, "testdata/realworld-accounts"), d.Name(), "*.json"))
		for _, f := range files {
			total++
			t.Run(d.Name()+"/"+filepath.Base(f), func(t *testing.T) {
				body, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if err := CheckJSON(schema, body, false); err != nil {
					t.Errorf("an integration sends this body, the spec rejects it:\n%s", strings.Join(ErrorLines(err), "\n"))
				}
			})
		}
	}
	if total < 14 {
		t.Errorf("checked %d account and claim bodies; the corpus has 14", total)
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

// TestSpecRejectsBrokenAccountBodies is the same guard for the Accounts and
// Claims operations: each mutation of a corpus body breaks the schema.
func TestSpecRejectsBrokenAccountBodies(t *testing.T) {
	doc, err := Load(repoFile(t, "openapi/forter.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, op, file, from, to string }{
		{"unknown loginStatus", "accountLogin", "accountLogin/sfcc_02_customer-account-login.json", `"loginStatus": "SUCCESS"`, `"loginStatus": "OK"`},
		{"unknown loginMethodType", "accountLogin", "accountLogin/sfcc_02_customer-account-login.json", `"loginMethodType": "PASSWORD"`, `"loginMethodType": "PIN"`},
		{"eventTime as a string", "accountLogin", "accountLogin/sfcc_02_customer-account-login.json", `"eventTime": 1568998550949`, `"eventTime": "1568998550949"`},
		{"no connectionInformation", "accountSignup", "accountSignup/auth0_04_post-login-signup.json", `"connectionInformation"`, `"connection"`},
		{"empty accountId", "accountSignup", "accountSignup/auth0_04_post-login-signup.json", `"accountId": "auth0|62eb11d417a992ea40acec3e"`, `"accountId": ""`},
		{"unknown accessRequestType", "accountProfileAccess", "accountProfileAccess/docs_01_profile-access-update-password.json", `"accessRequestType": "UPDATE_PASSWORD"`, `"accessRequestType": "UPDATE_NAME"`},
		{"unknown passwordUpdateTrigger", "accountProfileAccess", "accountProfileAccess/docs_01_profile-access-update-password.json", `"USER_FORGOT_PASSWORD"`, `"FORGOT"`},
		{"claim date not YYYY-MM-DD", "claim", "claim/docs_03_claims-api.json", `"issueDate": "2016-01-20"`, `"issueDate": "20/01/2016"`},
		{"claim amount as a number", "claim", "claim/docs_03_claims-api.json", `"amountUSD": "99.95"`, `"amountUSD": 99.95`},
		{"claim currency lower case", "claim", "claim/docs_03_claims-api.json", `"currency": "CAD"`, `"currency": "cad"`},
		{"claim without orderId", "claim", "claim/docs_03_claims-api.json", `"orderId": "4306795",`, ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			schema, err := Schema(doc, tc.op, Request)
			if err != nil {
				t.Fatal(err)
			}
			base, err := os.ReadFile(filepath.Join(repoFile(t, "testdata/realworld-accounts"), tc.file))
			if err != nil {
				t.Fatal(err)
			}
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
