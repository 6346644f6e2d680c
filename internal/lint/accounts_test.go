package lint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/validate"
)

// Every operation's short name is an --operation mode: the Accounts and
// Claims corpus lints clean (warnings only) as its own operation, and the
// same body as the wrong operation does not.
func TestOperationNames(t *testing.T) {
	l := newFake(t, Options{Operations: gen.Operations, Rules: gen.Rules})
	names := l.ModeNames()
	for _, want := range []string{"auto", "order", "order-v3", "status", "account-signup", "account-login", "account-logout",
		"account-update", "account-profile-access", "account-reset-password", "account-authentication-result", "claim"} {
		if !strings.Contains(","+strings.Join(names, ",")+",", ","+want+",") {
			t.Errorf("mode %s missing from %v", want, names)
		}
	}
	if _, err := New(Options{Operations: gen.Operations, Rules: gen.Rules, Mode: "account-sigup"}); err == nil || !strings.Contains(err.Error(), "account-signup") {
		t.Errorf("an unknown mode: got %v, want an error listing the names", err)
	}
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "realworld-accounts", "*"))
	checked := 0
	for _, d := range dirs {
		op, ok := gen.OperationByID(filepath.Base(d))
		if !ok || op.Name == "" {
			continue
		}
		checked++
		t.Run(op.Name, func(t *testing.T) {
			l := newFake(t, Options{Operations: gen.Operations, Rules: gen.Rules, Mode: op.Name})
			res := lintPaths(t, l, d)
			if res.Summary.Payloads == 0 || res.Summary.Errors != 0 {
				t.Fatalf("%s as %s: %+v", d, op.Name, res.Summary)
			}
			for _, f := range res.Files {
				if f.Payloads[0].Operation != op.ID {
					t.Errorf("%s linted as %s, want %s", f.Path, f.Payloads[0].Operation, op.ID)
				}
			}
		})
	}
	if checked < 7 {
		t.Errorf("checked %d corpus folders, want the seven of testdata/realworld-accounts", checked)
	}
	l = newFake(t, Options{Operations: gen.Operations, Rules: gen.Rules, Mode: "claim"})
	if res := lintPaths(t, l, filepath.Join("..", "..", "testdata", "realworld-accounts", "accountLogin")); res.Summary.Errors == 0 {
		t.Error("login bodies linted as claims found no error")
	}
}

// In auto mode a HAR recording's Accounts and Claims requests are linted as
// the operation their URL names; other paths are still skipped.
func TestHARAccountsAndClaims(t *testing.T) {
	body := func(rel string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "realworld-accounts", rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	entries := []any{
		makeHAREntry("POST", "https://site.api.forter-secure.com/v2/accounts/login/auth0%7C62eb", body("accountLogin/sfcc_02_customer-account-login.json"), ""),
		makeHAREntry("POST", "https://site.api.forter-secure.com/v2/accounts/profile-access/123465798", `{"eventTime":"now"}`, ""),
		makeHAREntry("POST", "https://site.api.forter-secure.com/v2/claims", body("claim/docs_03_claims-api.json"), ""),
		makeHAREntry("POST", "https://site.api.forter-secure.com/v2/accounts/bogus/1", `{}`, ""),
		makeHAREntry("GET", "https://site.api.forter-secure.com/v2/claims", "", ""),
	}
	b, _ := json.Marshal(map[string]any{"log": map[string]any{"version": "1.2", "entries": entries}})
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"rec.har": string(b)})
	res := lintPaths(t, newFake(t, Options{Operations: gen.Operations, Rules: gen.Rules}), filepath.Join(dir, "rec.har"))
	type entry struct {
		Index  int
		Op     string
		Errors int
	}
	var got []entry
	for _, p := range res.Files[0].Payloads {
		got = append(got, entry{p.Index, p.Operation, p.Errors()})
	}
	// profile-access: eventTime a string, connectionInformation missing.
	want := []entry{{0, "accountLogin", 0}, {1, "accountProfileAccess", 2}, {2, "claim", 0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

// In auto mode a JSON file's content decides: a claim is recognised, an
// account event (whose event only its URL names) is reported as such instead
// of being linted as a status update for its eventTime.
func TestAutoAccountsAndClaims(t *testing.T) {
	root := filepath.Join("..", "..", "testdata", "realworld-accounts")
	res := lintPaths(t, newFake(t, Options{Operations: gen.Operations, Rules: gen.Rules}), root)
	if res.Summary.Payloads < 14 {
		t.Fatalf("linted %d payloads", res.Summary.Payloads)
	}
	for _, f := range res.Files {
		p := f.Payloads[0]
		if strings.Contains(f.Path, "claim") {
			if p.Operation != "claim" || p.Errors() != 0 {
				t.Errorf("%s: %s with %d errors, want a clean claim", f.Path, p.Operation, p.Errors())
			}
			continue
		}
		if p.Operation != "" || len(p.Violations) != 1 || p.Violations[0].Rule != "operation" || !strings.Contains(p.Violations[0].Message, "--operation account-") {
			t.Errorf("%s: %q %+v, want the one 'operation' error", f.Path, p.Operation, p.Violations)
		}
	}
	// An order that names its customer's accountId is still an order.
	order := `{"orderId":"o1","orderType":"WEB","accountOwner":{"accountId":"a1"}}`
	l := newFake(t, Options{Operations: gen.Operations, Rules: gen.Rules})
	if got := l.detect([]byte(order), ""); got != OpOrderV2 {
		t.Errorf("an order with accountOwner.accountId detected as %q", got)
	}
	if got := l.detect([]byte(`{"accountId":"a1","orderId":"o1","eventTime":1,"updatedStatus":"SENT"}`), ""); got != OpStatusPost {
		t.Errorf("a status update with an accountId detected as %q", got)
	}
}

// Auto mode finds its operations by kind, not by id: a table whose ids are
// all different detects the same operations under the new ids.
func TestDetectByKindNotID(t *testing.T) {
	ops := append([]validate.Operation(nil), gen.Operations...)
	for i := range ops {
		ops[i].ID = "renamed-" + ops[i].ID
	}
	l := newFake(t, Options{Operations: ops, Rules: gen.Rules})
	for _, tt := range []struct{ body, path, want string }{
		{`{"orderId":"1"}`, "", gen.OpOrderV2},
		{`{"orderId":"1","updatedStatus":"SENT"}`, "", gen.OpStatusPost},
		{`{}`, "/v3/orders/x", gen.OpOrderV3},
		{`{"processorChargebackCaseId":"c"}`, "", gen.OpClaim},
	} {
		if got := l.detect([]byte(tt.body), tt.path); got != "renamed-"+tt.want {
			t.Errorf("detect(%s, %q) = %q, want renamed-%s", tt.body, tt.path, got, tt.want)
		}
	}
	if got := l.operationNamed(ModeStatus); got != "renamed-"+gen.OpStatusPost {
		t.Errorf("--operation status = %q", got)
	}
}
