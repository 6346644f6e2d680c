package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/validate"
)

// With no Operations configured, the generated validators judge bodies:
// a malformed order gets Forter's 400 with the offending paths.
func TestGeneratedValidators(t *testing.T) {
	r := start(t, Options{})
	c := client(t, r, false)

	mutate := func(edit func(m map[string]any)) string {
		var m map[string]any
		d := json.NewDecoder(strings.NewReader(orderBody("g1", "")))
		d.UseNumber()
		if err := d.Decode(&m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	tests := []struct {
		name  string
		path  string
		body  string
		paths []string
	}{
		{"bad enum", "/v2/orders/g1", mutate(func(m map[string]any) { m["orderType"] = "INVALID_TYPE" }), []string{"#/orderType"}},
		{"missing required", "/v3/orders/g1", mutate(func(m map[string]any) { delete(m, "orderId") }), []string{"#/orderId"}},
		{"wrong type deep", "/v2/orders/g1", mutate(func(m map[string]any) {
			m["totalAmount"] = map[string]any{"amountUSD": 11}
		}), []string{"#/totalAmount/amountUSD"}},
		{"not JSON", "/v2/orders/g1", `{"orderId":`, nil},
		{"trailing bytes", "/v2/orders/g1", orderBody("g1", "") + "x", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, b, err := do(t, c, r, req{path: tt.path, body: tt.body})
			if err != nil {
				t.Fatal(err)
			}
			if code != 400 {
				t.Fatalf("status %d, want 400: %s", code, b)
			}
			var rep validate.Report
			if op, ok := gen.OperationByID("orderV2"); ok {
				op.Error(b, &rep)
				if !rep.Valid() {
					t.Errorf("the 400 body breaks the spec's error schema: %+v", rep.Violations)
				}
			}
			var got struct {
				Status, Message string
				ErrorsCount     int
				Errors          []struct{ Message, Path string }
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if got.Status != "failed" || got.Message != "Malformed request" || got.ErrorsCount != len(got.Errors) || got.ErrorsCount == 0 {
				t.Fatalf("answer %s", b)
			}
			var paths []string
			for _, e := range got.Errors {
				if e.Message == "" || !strings.HasPrefix(e.Path, "#") {
					t.Errorf("error entry %+v", e)
				}
				paths = append(paths, e.Path)
			}
			if tt.paths != nil && !reflect.DeepEqual(paths, tt.paths) {
				t.Errorf("paths %v, want %v", paths, tt.paths)
			}
			// The submitted value is never echoed.
			if bytes.Contains(b, []byte("INVALID_TYPE")) {
				t.Errorf("answer echoes the submitted value: %s", b)
			}
		})
	}
}

// Every answer the sandbox gives passes the spec's own response schemas:
// the proxy checks upstream answers against them.
func TestAnswersMatchSpec(t *testing.T) {
	r := start(t, Options{})
	c := client(t, r, false)
	ops := map[string]validate.Operation{}
	for _, op := range gen.Operations {
		ops[op.ID] = op
	}
	if len(ops) != 12 {
		t.Fatalf("gen.Operations has %d operations, want 12 (orders, status, seven account events, claims)", len(ops))
	}
	check := func(opID string, code int, b []byte) {
		t.Helper()
		var rep validate.Report
		fn := ops[opID].Response
		if code != http.StatusOK {
			fn = ops[opID].Error
		}
		fn(b, &rep)
		if !rep.Valid() {
			t.Errorf("%s %d answer %s breaks the spec: %+v", opID, code, b, rep.Violations)
		}
	}
	emails := []string{""}
	for e := range TestEmails {
		emails = append(emails, e)
	}
	for i, e := range emails {
		id := "spec" + string(rune('a'+i))
		for _, v := range []struct{ op, path string }{{"orderV2", "/v2/orders/"}, {"orderV3", "/v3/orders/"}} {
			code, b, err := do(t, c, r, req{path: v.path + id, body: orderBody(id, e)})
			if err != nil || code != 200 {
				t.Fatalf("%s %s: %d %v", v.op, e, code, err)
			}
			check(v.op, code, b)
		}
	}
	for _, v := range []struct{ op, method string }{{"statusPost", "POST"}, {"statusPut", "PUT"}} {
		code, b, err := do(t, c, r, req{method: v.method, path: "/v2/status/s1", body: statusBody})
		if err != nil || code != 200 {
			t.Fatalf("%s: %d %v", v.op, code, err)
		}
		check(v.op, code, b)
	}
	// Error answers too: 401, 400, 429-like failures share the short shape.
	code, b, _ := do(t, c, r, req{path: "/v2/orders/e1", body: validOrder, headers: with(stdHeaders(), "Authorization", "")})
	check("orderV2", code, b)
	code, b, _ = do(t, c, r, req{path: "/v2/orders/e1", body: `{"orderType":1}`})
	check("orderV2", code, b)
}

// Every account event and the Claims API are judged by their own operation:
// the corpus of testdata/realworld-accounts is answered 200 in the
// operation's response shape, and a body the spec refuses gets Forter's 400.
func TestAccountsAndClaimsAgainstTheSpec(t *testing.T) {
	r := start(t, Options{})
	c := client(t, r, false)
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "realworld-accounts", "*", "*.json"))
	if len(files) < 14 {
		t.Fatalf("found %d account and claim bodies", len(files))
	}
	for _, f := range files {
		id := filepath.Base(filepath.Dir(f))
		op, ok := gen.OperationByID(id)
		if !ok {
			t.Fatalf("no operation %s", id)
		}
		path := strings.Replace(op.Path, "{accountId}", "acc-7", 1)
		t.Run(id+"/"+filepath.Base(f), func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			code, b, err := do(t, c, r, req{path: path, body: string(body)})
			if err != nil || code != 200 {
				t.Fatalf("%s: %d %v %s", path, code, err, b)
			}
			var rep validate.Report
			op.Response(b, &rep)
			if !rep.Valid() {
				t.Fatalf("answer %s breaks the %s response schema: %+v", b, id, rep.Violations)
			}
			// The same body with a member of the wrong type: Forter's 400.
			bad := bytes.Replace(body, []byte(`{`), []byte(`{"eventTime":"soon","orderId":7,`), 1)
			code, b, err = do(t, c, r, req{path: path, body: string(bad)})
			if err != nil || code != 400 {
				t.Fatalf("a broken body: %d %v %s", code, err, b)
			}
			rep.Reset()
			op.Error(b, &rep)
			if !rep.Valid() || !bytes.Contains(b, []byte(`"Malformed request"`)) {
				t.Fatalf("the 400 body %s is not Forter's error shape: %+v", b, rep.Violations)
			}
		})
	}
	// The test IPs decide every event, VERIFICATION_REQUIRED included.
	body := `{"accountId":"acc-8","eventTime":1415287568000,"connectionInformation":{"customerIP":"0.0.0.5","userAgent":"x"}}`
	code, got := mustDo(t, c, r, req{path: "/v2/accounts/authentication-result/acc-8", body: body})
	if code != 200 || got["forterDecision"] != "VERIFICATION_REQUIRED" || got["recommendation"] != "SMS_VERIFICATION" {
		t.Fatalf("0.0.0.5 on authentication-result: %d %v", code, got)
	}
	if n := r.Received().Endpoints[EndpointClaims].OK; n != 1 {
		t.Errorf("received log: %d claims answered 200, want 1", n)
	}
}
